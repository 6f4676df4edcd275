# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ovn_sb_connection's input and plan: listeners by target, a bad target or a target twice refused before any
change, and the steps from what the database holds (the module on a real database: tests/integration/test_net_ovn.py)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.modules import ovn_sb_connection


def params(*targets, role="ovn-controller"):
    return dict(listeners=[dict(target=t, role=role, inactivity_probe=None) for t in targets])


def plan(before, *targets):
    target = ovn_sb_connection.Connections.__new__(ovn_sb_connection.Connections)
    target.want = ovn_sb_connection.wanted(params(*targets))
    return [(s.kind, s.name) for s in target.plan(before)]


@pytest.mark.parametrize("target", ["pssl:6642:10.0.0.1", "ptcp:6642", "pssl:6642:[::1]"])
def test_listener_targets_ovsdb_server_accepts(target):
    assert ovn_sb_connection.wanted(params(target)) == {target: dict(role="ovn-controller", inactivity_probe=None)}


@pytest.mark.parametrize("target", ["ssl:10.0.0.1:6642", "pssl:70000:10.0.0.1", "pssl:0", "punix:/run/x.sock", "pssl:6642:10.0.0.1 x"])
def test_bad_targets_are_refused_naming_them(target):
    with pytest.raises(InputError, match=re.escape("listener %s: target must be pssl:PORT" % target)):
        ovn_sb_connection.wanted(params(target))


def test_a_target_twice_is_refused():
    with pytest.raises(InputError, match="listed twice"):
        ovn_sb_connection.wanted(params("pssl:6642:10.0.0.1", "pssl:6642:10.0.0.1"))


def test_the_plan_adds_changes_and_removes_only_what_differs():
    held = {"ptcp:6642:0.0.0.0": dict(role="", inactivity_probe=None), "pssl:6642:10.0.0.1": dict(role="", inactivity_probe=None)}
    assert plan(held, "pssl:6642:10.0.0.1", "pssl:6643:10.0.0.1") == [
        ("del-listener", "ptcp:6642:0.0.0.0"), ("set-listener", "pssl:6642:10.0.0.1"), ("add-listener", "pssl:6643:10.0.0.1")]
    assert plan({"pssl:6642:10.0.0.1": dict(role="ovn-controller", inactivity_probe=None)}, "pssl:6642:10.0.0.1") == []
    assert plan(held) == [("del-listener", "pssl:6642:10.0.0.1"), ("del-listener", "ptcp:6642:0.0.0.0")]
