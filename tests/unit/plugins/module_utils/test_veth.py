# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veth_attach's pure logic: naming, MAC derivation, argument rules and the difference to apply."""

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._veth import (
    AttachError,
    alias_for,
    check_unique,
    default_mac,
    describe,
    host_ifname,
    normalise,
    plan,
)


def att(**overrides):
    base = dict(container="MongoDB", bridge="br-stack", address="192.168.50.10/24")
    base.update(overrides)
    return base


def want(**overrides):
    out = normalise(att(**overrides))
    out.update(host_ifname="ve000000000001", bridge_type="linux")
    return out


def converged(w, mtu=1500):
    return dict(managed=True, kind="veth", mac=w["mac"], mtu=w["mtu"] or mtu, addresses=[w["address"]], up=True,
                routes=([("0.0.0.0/0", w["gateway"])] if w["gateway"] else []) + [(r, None) for r in w["routes"]],
                host=dict(exists=True, master=w["bridge"], up=True, mtu=w["mtu"] or mtu, ovs_port=w["bridge_type"] == "ovs",
                          ovs_tag=w["vlan"]))


def test_host_ifname_is_short_stable_and_per_interface():
    cid = "5f0c1e2d3a4b" * 5
    assert host_ifname(cid, "eth1") == host_ifname(cid, "eth1")
    assert host_ifname(cid, "eth1") != host_ifname(cid, "eth2") != host_ifname("other", "eth1")
    assert len(host_ifname(cid, "eth1")) <= 15


def test_default_mac_is_local_unicast_and_stable():
    mac = default_mac("192.168.50.10/24")
    assert mac == "0a:6e:c0:a8:32:0a"
    first = int(mac[:2], 16)
    assert first & 2 and not first & 1
    assert default_mac("2001:db8::a/64") == "0a:6e:00:00:00:0a"


def test_normalise_defaults():
    out = normalise(att())
    assert out["ifname"] == "eth1" and out["mac"] == "0a:6e:c0:a8:32:0a" and out["target"] == "container"
    assert out["routes"] == [] and out["gateway"] is None and out["link_type"] == "veth"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(pid=42), "exactly one of container, pid, netns"),
        (dict(container=None), "exactly one of container, pid, netns (got none)"),
        (dict(address="192.168.50.300/24"), "is not an address in CIDR form"),
        (dict(address="192.168.50.10"), "has no prefix length"),
        (dict(address="192.168.50.0/24"), "network or broadcast address"),
        (dict(address=None), "address is required"),
        (dict(gateway="192.168.51.1"), "gateway 192.168.51.1 is outside the subnet 192.168.50.0/24"),
        (dict(gateway="192.168.50.10"), "outside the subnet"),
        (dict(gateway="nope"), "gateway 'nope' is not an IP address"),
        (dict(ifname="a-very-long-ifname"), "not a valid interface name"),
        (dict(ifname="lo"), "not a valid interface name"),
        (dict(host_ifname="x" * 16), "host_ifname"),
        (dict(routes=["10.0.0.0/33"]), "route '10.0.0.0/33' is not a network"),
        (dict(routes=["2001:db8::/64"]), "not of the address's IP version"),
        (dict(mac="01:00:5e:00:00:01"), "not a unicast MAC"),
        (dict(mac="zz:00:00:00:00:01"), "not a unicast MAC"),
        (dict(mtu=20), "mtu 20 is out of range"),
        (dict(vlan=4095), "vlan 4095 is out of range"),
        (dict(bridge=None), "bridge is required"),
        (dict(link_type="macvlan", bridge=None), "parent (the host interface) is required"),
        (dict(link_type="macvlan", parent="eth0", vlan=5), "vlan needs an Open vSwitch bridge"),
    ],
)
def test_bad_input(overrides, message):
    with pytest.raises(AttachError, match=message.replace("(", r"\(").replace(")", r"\)")):
        normalise(att(**overrides))


def test_absent_needs_no_address():
    out = normalise(att(address=None, state="absent"))
    assert out["state"] == "absent" and out["address"] is None


def test_unique():
    items = [normalise(att()), normalise(att(container="Tomcat", address="192.168.50.10/24"))]
    with pytest.raises(AttachError, match="attachments 0 and 1 both claim address 192.168.50.10"):
        check_unique(items)
    items = [normalise(att()), normalise(att(address="192.168.50.11/24"))]
    with pytest.raises(AttachError, match="both configure eth1 in container MongoDB"):
        check_unique(items)
    check_unique([normalise(att()), normalise(att(container="Tomcat", address="192.168.50.11/24"))])


def test_fresh_plan_linux_and_ovs():
    w = want(gateway="192.168.50.1", routes=["10.0.0.0/8"])
    kinds = [op[0] for op in plan(None, w, 1500)]
    assert kinds == ["create", "set-mac", "set-mtu", "add-addr", "up", "add-route", "add-route", "set-master", "host-mtu", "host-up"]
    o = want(vlan=20)
    o["bridge_type"] = "ovs"
    kinds = [op[0] for op in plan(None, o, 1500)]
    assert "ovs-add-port" in kinds and "set-master" not in kinds


def test_restarted_container_keeps_its_ovs_port():
    o = want(vlan=20)
    o.update(bridge_type="ovs", host_state=dict(ovs_port=True, ovs_tag=20))
    kinds = [op[0] for op in plan(None, o, 1500)]
    assert "create" in kinds and "ovs-add-port" not in kinds and "ovs-set-tag" not in kinds


def test_converged_plans_nothing():
    for w in (want(), want(gateway="192.168.50.1", routes=["10.0.0.0/8"], mtu=1400)):
        assert plan(converged(w), w, 1500) == []


def test_changes_in_place():
    w = want(address="192.168.50.20/24", mtu=1400, mac="0a:00:00:00:00:01")
    current = converged(want())
    ops = plan(current, w, 1500)
    assert ("del-addr", "eth1", {"address": "192.168.50.10/24"}) in ops
    assert ("add-addr", "eth1", {"address": "192.168.50.20/24"}) in ops
    assert ("set-mac", "eth1", {"mac": "0a:00:00:00:00:01"}) in ops
    assert ("set-mtu", "eth1", {"mtu": 1400}) in ops and ("host-mtu", "ve000000000001", {"mtu": 1400}) in ops
    assert "create" not in [op[0] for op in ops]


def test_vlan_change_on_ovs():
    w = want(vlan=30)
    w["bridge_type"] = "ovs"
    current = converged(want(vlan=20) | {"bridge_type": "ovs"})
    assert plan(current, w, 1500) == [("ovs-set-tag", "ve000000000001", {"vlan": 30})]


def test_foreign_interface_is_refused_never_adopted():
    current = converged(want())
    current["managed"] = False
    with pytest.raises(AttachError, match="was not made by this module"):
        plan(current, want(), 1500)
    with pytest.raises(AttachError, match="refusing to remove it"):
        plan(current, want(state="absent"), 1500)


def test_absent_plans():
    assert plan(converged(want()), want(state="absent"), 1500) == [("remove", "eth1", {})]
    assert plan(None, want(state="absent"), 1500) == []
    gone = want(state="absent")
    gone["ovs_port_exists"] = True
    assert plan(None, gone, 1500) == [("remove", "eth1", {})]


def test_gateway_change_replaces_the_default_route():
    w = want(gateway="192.168.50.254")
    current = converged(want(gateway="192.168.50.1"))
    assert plan(current, w, 1500) == [
        ("del-route", "eth1", {"dst": "0.0.0.0/0", "gateway": "192.168.50.1"}),
        ("add-route", "eth1", {"dst": "0.0.0.0/0", "gateway": "192.168.50.254"}),
    ]


def test_describe_every_step():
    w = want(gateway="192.168.50.1", routes=["10.0.0.0/8"])
    for op in plan(None, w, 1500) + [("remove", "eth1", {}), ("del-addr", "eth1", {"address": "1.2.3.4/24"}),
                                     ("ovs-add-port", "ve1", {"bridge": "br0", "vlan": 5}), ("ovs-set-tag", "ve1", {"vlan": None})]:
        assert describe(op)
    assert describe(("ovs-add-port", "ve1", {"bridge": "br0", "vlan": 5})) == "add ve1 to OVS bridge br0 tag 5"
    assert alias_for("ve1").endswith("ve1")
