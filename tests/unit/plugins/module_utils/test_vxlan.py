# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._vxlan import MARKER, VxlanError, kernel_mtu, plan, state_after, validate

DESIRED = dict(name="vx0", vni=42, port=4789, local_ip="10.0.0.1", underlay_interface=None, learning=True,
               mtu=1450, master="docker0", peers=["10.0.0.2", "10.0.0.3"])


def current(**extra):
    state = dict(DESIRED, kind="vxlan", alias=MARKER, up=True)
    state.update(extra)
    return state


def params(**extra):
    base = dict(name="vx0", vni=42, port=4789, mtu=None, local_ip="10.0.0.1", remote_ips=["10.0.0.3", "10.0.0.2"])
    base.update(extra)
    return base


def kinds(ops):
    return [op[0] for op in ops]


def test_fresh_device_plan_and_predicted_state():
    ops = plan(None, DESIRED, "present", True)
    assert kinds(ops) == ["create", "set-mtu", "attach", "up", "add-peer", "add-peer"]
    after = state_after(None, ops, DESIRED)
    assert after["peers"] == ["10.0.0.2", "10.0.0.3"] and after["master"] == "docker0" and after["vni"] == 42


def test_equal_device_needs_nothing():
    assert not plan(current(), DESIRED, "present", True)


def test_peers_added_and_removed_only_when_exclusive():
    ops = plan(current(peers=["10.0.0.2", "10.0.0.9"]), DESIRED, "present", True)
    assert [(k, d["peer"]) for k, dummy, d in ops] == [("add-peer", "10.0.0.3"), ("del-peer", "10.0.0.9")]
    assert kinds(plan(current(peers=["10.0.0.2", "10.0.0.3", "10.0.0.9"]), DESIRED, "present", False)) == []


def test_immutable_change_recreates():
    ops = plan(current(vni=7), DESIRED, "present", True)
    assert kinds(ops)[:2] == ["delete", "create"] and ops[0][2]["reason"] == "vni"


@pytest.mark.parametrize(
    "state, message",
    [(current(kind="bridge"), "is not a VXLAN device"), (current(alias=""), "did not make")],
)
def test_foreign_devices_are_refused(state, message):
    with pytest.raises(VxlanError, match=message):
        plan(state, DESIRED, "present", True)
    with pytest.raises(VxlanError, match=message):
        plan(state, DESIRED, "absent", True)


def test_validate_sorts_and_dedups_peers():
    assert validate(params(remote_ips=["10.0.0.3", "10.0.0.2", "10.0.0.3"]), {"10.0.0.1"}) == ("10.0.0.1", ["10.0.0.2", "10.0.0.3"])
    assert validate(params(local_ip=None), None) == (None, ["10.0.0.2", "10.0.0.3"])


@pytest.mark.parametrize(
    "extra, message",
    [
        (dict(remote_ips=["10.0.0.300"]), "is not an IP address"),
        (dict(port=0), "port 0 is out of range"),
        (dict(mtu=60), "mtu 60 is out of range"),
        (dict(local_ip="nope"), "local_ip 'nope' is not an IP address"),
        (dict(name="a/b"), "not a valid interface name"),
    ],
)
def test_validate_rejects(extra, message):
    with pytest.raises(VxlanError, match=message):
        validate(params(**extra), {"10.0.0.1"})


def test_a_new_device_without_mtu_is_predicted_with_the_kernels_choice():
    """Linux gives a new VXLAN device the underlay's MTU minus the overhead; check mode must say the same."""
    desired = dict(DESIRED, mtu=None, underlay_interface="eth9")
    ops = plan(None, desired, "present", True)
    assert "set-mtu" not in kinds(ops)
    assert state_after(None, ops, desired, kernel_mtu(9000))["mtu"] == 8950
    assert state_after(None, ops, desired, kernel_mtu(1500, 6))["mtu"] == 1430
    assert state_after(None, ops, dict(desired, underlay_interface=None), kernel_mtu(None))["mtu"] == 1500
    assert state_after(current(mtu=1400), [], desired)["mtu"] == 1400
