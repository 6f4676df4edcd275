# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml on the session's Docker-in-Docker host (conftest.Target; site.yml rewrites the Docker daemon's
configuration, so never on this machine): restarts are repaired, bad input changes nothing, names come from one
place, teardown removes what site.yml made. (Each mode wiring, re-running with changed=0, check mode and switching
between the single-host modes are the Molecule scenarios default, portmap, link and pipework, on one shared host.)"""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from conftest import TARGET  # pylint: disable=import-error

SETENV = "/etc/encompass-netlab/tomcat/setenv.sh"
CONTAINERS = ("ElasticSearch", "MongoDB", "Tomcat")
STACK_IMAGES = ("encompass/elastic_search:latest", "encompass/mongodb:latest", "encompass/tomcat7:latest")
MODES = "link, multihost, pipework, portmap"


def inspect(name):
    proc = TARGET.sh("docker", "inspect", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def read(path):
    proc = TARGET.sh("cat", path, check=False)
    return proc.stdout if proc.returncode == 0 else None


def snapshot():
    """What a failed run must leave as it was: container ids and start times, Tomcat's configuration."""
    state = {name: (info["Id"], info["State"]["StartedAt"]) if info else None for name, info in ((n, inspect(n)) for n in CONTAINERS)}
    setenv = read(SETENV)
    state["setenv"] = hashlib.sha256(setenv.encode()).hexdigest() if setenv is not None else None
    state["daemon.json"] = read("/etc/docker/daemon.json")
    return state


def verified(result):
    return any(t["task"]["name"].endswith("Every endpoint is reachable") and not h.get("failed")
               for t in result.tasks for h in t["hosts"].values())


def site(mode, **kwargs):
    return TARGET.playbook("site.yml", extra_vars=dict({"net_mode": mode}, **kwargs.pop("extra", {})), **kwargs)


@pytest.fixture(scope="module", autouse=True)
def wired(target):
    """The stack wired in pipework mode (the state every test starts from and leaves), then taken down."""
    saved = subprocess.run(["docker", "save", *STACK_IMAGES], capture_output=True, check=True).stdout
    subprocess.run(["docker", "exec", "-i", target.name, "docker", "load", "-q"], input=saved, capture_output=True, check=True)
    assert target.playbook("teardown.yml").rc == 0
    first = site("pipework")
    assert first.rc == 0 and verified(first), first.stdout[-4000:]
    opts = read(SETENV)
    assert "-Des.node.hosts=172.17.200.11 " in opts and "-Ddb.encompass.hosts=172.17.200.10:27017" in opts
    assert read("/etc/encompass-netlab/net_mode").strip() == "pipework"
    yield
    assert target.playbook("teardown.yml").rc == 0


def test_restart_is_repaired_by_the_next_run():
    TARGET.sh("docker", "restart", "-t", "1", *CONTAINERS)
    repaired = site("pipework")
    assert repaired.rc == 0 and verified(repaired), repaired.stdout[-4000:]
    assert repaired.changed > 0  # the static addresses died with the old namespaces
    assert site("pipework").changed == 0


def test_names_come_from_one_place():
    """Renamed containers: every phase, verify and teardown follow the stack's names."""
    names = {"stack_mongodb_container": "db-main", "stack_elasticsearch_container": "search", "stack_tomcat_container": "app"}
    try:
        assert TARGET.playbook("teardown.yml").rc == 0
        result = site("link", extra=names)
        assert result.rc == 0 and verified(result), result.stdout[-4000:]
        assert all(inspect(name) is not None for name in names.values()) and all(inspect(n) is None for n in CONTAINERS)
        assert inspect("app")["HostConfig"]["Links"] == ["/db-main:/app/db", "/search:/app/es"]
        assert TARGET.playbook("teardown.yml", extra_vars=names).rc == 0
        assert all(inspect(name) is None for name in names.values())
    finally:
        TARGET.playbook("teardown.yml", extra_vars=names)


def test_teardown_removes_what_site_made():
    assert site("pipework").rc == 0
    images = sorted(TARGET.sh("docker", "images", "-q").stdout.split())
    assert TARGET.playbook("teardown.yml").rc == 0
    assert all(inspect(name) is None for name in CONTAINERS)
    assert read(SETENV) is None and read("/etc/encompass-netlab/net_mode") is None
    links = json.loads(TARGET.sh("ip", "-j", "link").stdout)
    assert not [l for l in links if "veth_attach" in (l.get("ifalias") or "")]
    assert sorted(TARGET.sh("docker", "images", "-q").stdout.split()) == images
    again = TARGET.playbook("teardown.yml")
    assert again.rc == 0 and again.changed == 0
