# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The mode contract (docs/modes.md) as the files say it: every mode role's argument spec has one entry point per
phase file and no other, every mode plans, no phase file is empty, and the playbooks run a mode's phase only where
the mode has it (a missing phase is skipped, not an error after the containers run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.encompass.netlab.plugins.lookup.net_modes import PHASES, mode_phases, net_modes

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "roles"
PLAYBOOKS = ROOT / "playbooks"
MODES = net_modes(str(ROLES))


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_collection_has_its_modes():
    assert MODES == ["link", "multihost", "ovn", "pipework", "portmap"]


@pytest.mark.parametrize("mode", MODES)
def test_the_argument_spec_has_one_entry_point_per_phase_file(mode):
    role = ROLES / ("net_" + mode)
    entry_points = list(load(role / "meta" / "argument_specs.yml")["argument_specs"])
    phase_files = [phase for phase in PHASES if (role / "tasks" / (phase + ".yml")).is_file()]
    assert entry_points == phase_files, "net_%s: entry points %s, phase files %s" % (mode, entry_points, phase_files)
    assert "plan" in phase_files


@pytest.mark.parametrize("mode", MODES)
def test_every_task_file_is_a_phase_or_included_by_one(mode):
    tasks = ROLES / ("net_" + mode) / "tasks"
    texts = {path.stem: path.read_text(encoding="utf-8") for path in tasks.glob("*.yml")}
    assert "main" not in texts, "net_%s has tasks/main.yml: a mode runs only through its phases" % mode
    for name, text in texts.items():
        if name not in PHASES:
            assert any(name + ".yml" in other for key, other in texts.items() if key != name), \
                "net_%s: tasks/%s.yml is no phase and no phase includes it" % (mode, name)
        assert yaml.safe_load(text), "net_%s: tasks/%s.yml is empty; leave a phase with nothing to do out" % (mode, name)


def mode_includes(tasks):
    """Every include_role of a mode role (encompass.netlab.net_{{ ... }}) in a list of tasks, with its when."""
    for task in tasks or []:
        include = task.get("ansible.builtin.include_role")
        if include and include["name"].startswith("encompass.netlab.net_{{"):
            yield task["name"], include.get("tasks_from", "main"), str(task.get("when", ""))
        for key in ("block", "rescue", "always"):
            yield from mode_includes(task.get(key))


@pytest.mark.parametrize("playbook", ["site.yml", "segment.yml", "teardown.yml", "report.yml"])
def test_the_playbooks_run_a_phase_only_where_the_mode_has_it(playbook):
    found = []
    for play in load(PLAYBOOKS / playbook):
        found += list(mode_includes(play.get("tasks")))
    for name, phase, when in found:
        assert phase in PHASES, "%s: %r runs %s, which is no phase" % (playbook, name, phase)
        if phase != "plan":  # every mode has a plan (stack/mode checks it before any change)
            assert "stack_mode_phases[" in when and "'%s'" % phase in when, \
                "%s: %r runs %s without checking that the mode has it" % (playbook, name, phase)
    assert found or playbook == "site.yml"  # site.yml's plan, segment and teardown come from segment.yml


def make_role(roles, name, files, spec=True):
    tasks = roles / name / "tasks"
    tasks.mkdir(parents=True)
    for phase in files:
        (tasks / (phase + ".yml")).write_text("- ansible.builtin.meta: noop\n", encoding="utf-8")
    if spec:
        (roles / name / "meta").mkdir()
        (roles / name / "meta" / "argument_specs.yml").write_text("argument_specs: {}\n", encoding="utf-8")


def test_a_mode_is_listed_with_the_phases_it_has_in_the_contracts_order(tmp_path):
    make_role(tmp_path, "net_thin", ["teardown", "plan", "attach", "helper"])
    make_role(tmp_path, "net_nospec", ["plan"], spec=False)
    make_role(tmp_path, "stack", ["plan"])
    assert net_modes(str(tmp_path)) == ["thin"]
    assert mode_phases(str(tmp_path)) == [{"mode": "thin", "phases": ["plan", "attach", "teardown"]}]
    assert mode_phases(str(tmp_path / "absent")) == []


LOOKUP = """
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible.plugins.loader import lookup_loader
lookup = lookup_loader.get("encompass.netlab.net_modes")
print(json.dumps([lookup.run([], variables={}), lookup.run([], variables={}, phases=True)]))
"""


def test_the_lookup_returns_the_names_or_the_phases():
    """Through Ansible's plugin loader (in a process of its own: the loader's collection finder stays there)."""
    out = subprocess.run([sys.executable, "-c", LOOKUP, str(ROOT / ".collections")], capture_output=True, text=True,
                         check=True).stdout
    names, phases = json.loads(out)
    assert names == MODES
    assert phases == mode_phases(str(ROLES))
    assert {entry["mode"]: entry["phases"] for entry in phases}["link"] == ["plan", "wire"]
