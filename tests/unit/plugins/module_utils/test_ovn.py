# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The OVN modules' pure logic: names and addresses, the switch's steps, the chassis keys, the address plan."""

from __future__ import annotations

import itertools

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import (
    CMS_TOKEN, chassis_after, chassis_settings, describe_chassis, describe_switch, normalise_switch, plan_chassis,
    plan_switch, predict_switch, stack_addresses, view_switch, with_token, without_token)

MAC_DB, MAC_TC = "0a:6e:ac:1d:01:0a", "0a:6e:ac:1d:03:0c"
ACL = {"direction": "to-lport", "priority": 1000, "match": 'outport == "db" && ip', "action": "drop"}


def params(**extra):
    base = dict(name="netlab", subnet="172.29.0.0/16", ports=[
        {"name": "db", "addresses": [MAC_DB + " 172.29.1.10"]},
        {"name": "tc", "addresses": [MAC_TC + " 172.29.3.12"], "external_ids": {"role": "app"}}], acls=[ACL])
    base.update(extra)
    return base


def converged(desired):
    return dict(managed=True, subnet=desired["subnet"], acls=list(desired["acls"]),
                ports={n: dict(p, managed=True) for n, p in desired["ports"].items()})


def kinds(steps):
    return [s.kind for s in steps]


def test_fresh_switch_then_nothing():
    desired = normalise_switch(params())
    assert desired["ports"]["db"] == dict(addresses=[MAC_DB + " 172.29.1.10"], port_security=[MAC_DB + " 172.29.1.10"], external_ids={},
                                          options={})
    steps = plan_switch(None, desired, "present", True)
    assert kinds(steps) == ["add-switch", "add-port", "add-port", "add-acl"]
    after = predict_switch(desired, "present", True, None)
    assert plan_switch(after, desired, "present", True) == []
    assert all(describe_switch(s) for s in steps)


def test_changes_in_place_and_exclusive():
    desired = normalise_switch(params())
    current = converged(desired)
    current["ports"]["db"]["addresses"] = [MAC_DB + " 172.29.1.99"]
    current["ports"]["old"] = dict(addresses=[], port_security=[], external_ids={}, managed=True)
    current["ports"]["theirs"] = dict(addresses=[], port_security=[], external_ids={}, managed=False)
    # A port's chassis is its options' requested-chassis: a moved container's port is set, not made again.
    moved = normalise_switch(dict(params(), ports=[dict(p, options={"requested-chassis": "h2"}) for p in params()["ports"]]))
    assert [(s.kind, s.name, s.detail["options"]) for s in plan_switch(converged(desired), moved, "present", True)][0] == (
        "set-port", "db", {"requested-chassis": "h2"})
    assert "options:requested-chassis=h2" in describe_switch(plan_switch(converged(desired), moved, "present", True)[0])
    current["acls"].append(dict(ACL, priority=999, name=""))
    steps = plan_switch(current, desired, "present", True)
    assert [(s.kind, s.name) for s in steps] == [("set-port", "db"), ("del-port", "old"), ("del-acl", "netlab")]
    assert kinds(plan_switch(current, desired, "present", False)) == ["set-port"]
    after = predict_switch(desired, "present", True, current)
    assert "theirs" in after["ports"] and "old" not in after["ports"]
    assert "theirs" not in view_switch(after)["ports"], "the view shows only what the module manages"


@pytest.mark.parametrize("extra, message", [
    (dict(name="bad name"), "is not a valid OVN name"),
    (dict(name="-lead"), "is not a valid OVN name"),
    (dict(subnet="172.29.0.0/33"), "is not a network in CIDR form"),
    (dict(ports=[{"name": "db", "addresses": [MAC_DB + " 10.0.0.1"]}]), "address 10.0.0.1 is outside the switch's subnet 172.29.0.0/16"),
    (dict(ports=[{"name": "db", "addresses": ["01:00:5e:00:00:01 172.29.1.10"]}]), "not a unicast MAC"),
    (dict(ports=[{"name": "db", "addresses": [MAC_DB + " 172.29.1.300"]}]), "is not an IP address"),
    (dict(ports=[{"name": "a", "addresses": [MAC_DB + " 172.29.1.10"]}, {"name": "b", "addresses": [MAC_TC + " 172.29.1.10"]}]),
     "ports a and b both claim address 172.29.1.10"),
    (dict(ports=[{"name": "a"}, {"name": "a"}]), "ports: a is listed twice"),
    (dict(acls=[dict(ACL, priority=40000)]), "priority 40000 is out of range"),
    (dict(acls=[dict(ACL, match=" ")]), "match is empty"),
    (dict(acls=[ACL, dict(ACL)]), "the same ACL is listed twice"),
])
def test_bad_input(extra, message):
    with pytest.raises(InputError, match=message):
        normalise_switch(params(**extra))


def test_foreign_objects_are_refused():
    desired = normalise_switch(params())
    foreign = dict(converged(desired), managed=False)
    with pytest.raises(InputError, match="was not made by this collection"):
        plan_switch(foreign, desired, "present", True)
    with pytest.raises(InputError, match="was not made by this collection"):
        plan_switch(foreign, desired, "absent", True)
    with pytest.raises(InputError, match="logical switch port db exists \\(on other\\)"):
        plan_switch(None, desired, "present", True, elsewhere={"db": "other"})
    mine = converged(desired)
    mine["ports"]["db"]["managed"] = False
    with pytest.raises(InputError, match="port db on netlab was not made by this collection"):
        plan_switch(mine, desired, "present", True)


def test_absent():
    desired = normalise_switch(params())
    assert kinds(plan_switch(converged(desired), desired, "absent", True)) == ["del-switch"]
    assert plan_switch(None, desired, "absent", True) == []
    assert predict_switch(desired, "absent", True, converged(desired)) is None


def chassis_params(**extra):
    base = dict(system_id="docker1", remote="tcp:10.99.0.11:6642", encap_type="geneve", encap_ip="10.99.0.12")
    base.update(extra)
    return base


def test_chassis_keys_and_the_token():
    wanted = chassis_settings(chassis_params(), {"10.99.0.12"}, "netdev")
    steps = plan_chassis({"system-id": "random-uuid", "ovn-cms-options": "enable-chassis-as-gw"}, wanted, "present")
    after = chassis_after({"system-id": "random-uuid", "ovn-cms-options": "enable-chassis-as-gw"}, steps)
    assert after["ovn-cms-options"] == "enable-chassis-as-gw," + CMS_TOKEN and after["system-id"] == "docker1"
    assert after["ovn-bridge-datapath-type"] == "netdev" and plan_chassis(after, wanted, "present") == []
    gone = chassis_after(after, plan_chassis(after, wanted, "absent"))
    assert gone == {"system-id": "docker1", "ovn-cms-options": "enable-chassis-as-gw"}
    assert all(describe_chassis(s) for s in steps)
    assert with_token(with_token("")) == CMS_TOKEN and without_token(CMS_TOKEN) == ""


@pytest.mark.parametrize("extra, message", [
    (dict(remote="10.99.0.11:6642"), "is not an OVSDB remote"),
    (dict(encap_ip="10.99.0.99"), "encap_ip 10.99.0.99 is not an address of this host"),
    (dict(encap_ip="nope"), "is not an IP address"),
    (dict(system_id="has space"), "is not a valid OVN name"),
])
def test_bad_chassis_input(extra, message):
    with pytest.raises(InputError, match=message):
        chassis_settings(chassis_params(**extra), {"10.99.0.12"}, "netdev")


def test_stack_addresses_never_collide_and_stay_put_when_hosts_are_added():
    offsets = {"mongodb": 10, "elasticsearch": 11, "tomcat": 12}
    seen = set()
    for hosts in itertools.permutations(["h1", "h2", "h3"]):
        placement = dict(zip(["mongodb", "elasticsearch", "tomcat"], hosts))
        planned = stack_addresses(placement, {"h1": 1, "h2": 2, "h3": 7}, "172.29.0.0/16", 24, offsets)
        assert len(set(planned.values())) == 3
        seen.update(planned.values())
    small = stack_addresses({"mongodb": "h1", "tomcat": "h2"}, {"h1": 1, "h2": 2}, "172.29.0.0/16", 24, offsets)
    grown = stack_addresses({"mongodb": "h1", "tomcat": "h2"}, {"h1": 1, "h2": 2, "h9": 9}, "172.29.0.0/16", 24, offsets)
    assert small == grown == {"mongodb": "172.29.1.10/16", "tomcat": "172.29.2.12/16"}
    with pytest.raises(InputError, match="has index 256"):
        stack_addresses({"mongodb": "h1"}, {"h1": 256}, "172.29.0.0/16", 24, offsets)
    with pytest.raises(InputError, match="has index 0"):
        stack_addresses({"mongodb": "h1"}, {"h1": 0}, "172.29.0.0/16", 24, offsets)
