# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the collection's modules and playbooks for real on this machine and read their results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLAYBOOKS = ROOT / "playbooks"


# The files that take longest start first (with --no-loadscope-reorder xdist's loadfile hands out files in
# collection order, one running and one queued per worker): the run lasts about as long as its longest file, not that
# file plus whatever a worker took before it. The fourth file is the one queued behind the longest: a short one.
LONGEST_FIRST = ("test_first_contact.py", "test_cold_demo.py", "test_net_ovn.py", "test_daemon_process.py",
                 "test_net_multihost_grow.py", "test_net_multihost.py", "test_host_role.py", "test_faults.py", "test_site.py",
                 "test_services.py")


def pytest_collection_modifyitems(items):
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)).name, len(rank)))


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(PLAYBOOKS / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    env.update(extra)
    return env


class Result:
    def __init__(self, proc, stats=None, tasks=None):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.stats = stats or {}
        self.tasks = tasks or []

    @property
    def changed(self):
        return sum(host.get("changed", 0) for host in self.stats.values())

    @property
    def failed(self):
        return sum(host.get("failures", 0) + host.get("unreachable", 0) for host in self.stats.values())

    def first_failure(self):
        for task in self.tasks:
            for host in task["hosts"].values():
                if host.get("failed"):
                    return host
        return None

    def changed_tasks(self):
        # Task names without the "role : " prefix.
        return [t["task"]["name"].split(" : ", 1)[-1] for t in self.tasks if any(h.get("changed") for h in t["hosts"].values())]


def run_playbook(playbook, *args, check=False, diff=False, extra_vars=None):
    """Run a playbook from playbooks/ with the json callback; return its parsed result."""
    argv = [str(BIN / "ansible-playbook"), str(playbook)]
    if check:
        argv.append("--check")
    if diff:
        argv.append("--diff")
    # Each worker's topology reports go to a folder of its own (site.yml writes one at its end).
    extra_vars = dict({"verify_report_dir": str(ROOT / "tests" / "output" / ("topology-%d" % os.getpid()))}, **(extra_vars or {}))
    argv += ["-e", json.dumps(extra_vars)]
    argv += list(args)
    proc = subprocess.run(argv, cwd=PLAYBOOKS, env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
                          capture_output=True, text=True, check=False)
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Result(proc)
    tasks = [task for play in data.get("plays", []) for task in play.get("tasks", [])]
    return Result(proc, data.get("stats", {}), tasks)


def read_report(folder):
    """The topology report in folder: its JSON, and the SVG's edges as [(title, class, label text)]."""
    svg_ns = "{http://www.w3.org/2000/svg}"
    data = json.loads((Path(folder) / "topology.json").read_text(encoding="utf-8"))
    edges = [(g.find(svg_ns + "title").text, g.get("class"), " ".join(t.text or "" for t in g.iter(svg_ns + "text")))
             for g in ET.parse(Path(folder) / "topology.svg").getroot().iter(svg_ns + "g") if "edge" in (g.get("class") or "").split()]
    return data, edges


def run_module(module, args, check=False, diff=False, inventory=None, host="localhost", environment=None, task_vars=None):
    """Run one module on localhost (or on host of inventory) through ansible-playbook; return its result."""
    task = {"name": "module under test", module: args, "register": "out", "ignore_errors": True}
    if environment:
        task["environment"] = environment
    if task_vars:
        task["vars"] = task_vars
    play = [{"hosts": host, "gather_facts": False, "tasks": [task]}]
    path = ROOT / "tests" / "output" / ("module_under_test_%d.yml" % os.getpid())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(play), encoding="utf-8")
    result = run_playbook(path, *(["-i", str(inventory)] if inventory else []), check=check, diff=diff)
    assert result.tasks, "ansible-playbook produced no result: %s %s" % (result.stdout[-2000:], result.stderr[-2000:])
    return result.tasks[0]["hosts"][host]


@pytest.fixture(scope="session")
def module():
    return run_module


@pytest.fixture(scope="session")
def playbook():
    return run_playbook


class Target:
    """The Docker-in-Docker host that module and playbook tests run on, so that what they rewrite (the Docker
    daemon's configuration, iptables rules, bridges, OVS rows, network namespaces) is never this machine's own.
    Bound once per session by the `target` fixture; tests run commands with sh() and modules with module()."""

    def __init__(self):
        self.name = None
        self.inventory = None
        self.lab = None

    def sh(self, *argv, check=True, stdin=None):
        """Run argv inside the host (docker exec), text in and out."""
        return subprocess.run(["docker", "exec", *(["-i"] if stdin is not None else []), self.name, *argv],
                              capture_output=True, text=True, check=check, input=stdin)

    def playbook(self, playbook, *args, **kwargs):
        return run_playbook(playbook, "-i", str(self.inventory), *args, **kwargs)

    def module(self, module, args, check=False, diff=False, task_vars=None):
        return run_module(module, args, check=check, diff=diff, inventory=self.inventory, host=self.name, task_vars=task_vars)


TARGET = Target()


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    """One Docker-in-Docker host for the session: a Docker host (playbooks/host.yml) with the base image loaded."""
    from dind_lab import Lab  # pylint: disable=import-outside-toplevel,import-error

    lab = Lab(1).up()
    try:
        TARGET.lab, TARGET.name = lab, list(lab.hosts)[0]
        TARGET.inventory = lab.inventory(tmp_path_factory.mktemp("target") / "inventory.json")
        prepared = TARGET.playbook("host.yml")
        assert prepared.rc == 0, prepared.stdout[-3000:]
        lab.load_image()
        yield TARGET
    finally:
        lab.down()
