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
    view,
    wanted_state,
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
                tx_checksum_offload=w["tx_checksum_offload"],
                host=dict(exists=True, master=w["bridge"], up=True, mtu=w["mtu"] or mtu, ovs_port=w["bridge_type"] == "ovs",
                          ovs_tag=w["vlan"], bridge=w["bridge"], external_ids=w["external_ids"]))


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
        (dict(link_type="macvlan", parent="eth0", vlan=5), "vlan and external_ids need an Open vSwitch bridge"),
        (dict(link_type="macvlan", parent="eth0", external_ids={"iface-id": "p1"}), "need an Open vSwitch bridge"),
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


def test_restarted_container_gets_its_ovs_port_made_again():
    # The row outlived the device (the userspace datapath reads the deleted one under it): removed and added again,
    # once, with the wanted tag, and nothing else of OVS.
    o = want(vlan=20)
    o.update(bridge_type="ovs", host_state=dict(ovs_port=True, ovs_tag=10, external_ids={"ovn-installed": "true"}))
    steps = plan(None, o, 1500)
    kinds = [op[0] for op in steps]
    assert kinds.count("ovs-readd-port") == 1 and "ovs-add-port" not in kinds and "ovs-set-port" not in kinds
    readd = steps[kinds.index("ovs-readd-port")]
    assert readd[2]["vlan"] == 20 and readd[2]["external_ids"] == {}


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
    assert plan(current, w, 1500) == [("ovs-set-port", "ve000000000001", {"vlan": 30, "external_ids": {}})]


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
                                     ("ovs-add-port", "ve1", {"bridge": "br0", "vlan": 5}), ("ovs-set-port", "ve1", {"vlan": None})]:
        assert describe(op)
    assert describe(("ovs-add-port", "ve1", {"bridge": "br0", "vlan": 5})) == "add ve1 to OVS bridge br0 tag 5"
    assert alias_for("ve1").endswith("ve1")


def ovs(**overrides):
    w = want(**overrides)
    w["bridge_type"] = "ovs"
    return w


VARIANTS = [want(), want(gateway="192.168.50.1", routes=["10.0.0.0/8"], mtu=1400), ovs(vlan=20),
            ovs(external_ids={"iface-id": "db"}, tx_checksum_offload=False)]
PERTURBATIONS = [
    ("address", lambda c: c.update(addresses=["192.168.50.99/24"])),
    ("mac", lambda c: c.update(mac="0a:00:00:00:00:09")),
    ("mtu", lambda c: c.update(mtu=1280)),
    ("down", lambda c: c.update(up=False)),
    ("route", lambda c: c.update(routes=c["routes"] + [("172.16.0.0/12", None)])),
    ("gateway", lambda c: c.update(routes=[("0.0.0.0/0", "192.168.50.254")])),
    ("vlan", lambda c: c["host"].update(ovs_tag=99)),
    ("external ids", lambda c: c["host"].update(external_ids={"iface-id": "other"})),
    ("host mtu", lambda c: c["host"].update(mtu=9000)),
    ("host down", lambda c: c["host"].update(up=False)),
    ("offload", lambda c: c.update(tx_checksum_offload=True)),
]


@pytest.mark.parametrize("index", range(len(VARIANTS)))
@pytest.mark.parametrize("perturbation", [p[0] for p in PERTURBATIONS] + ["none"])
def test_the_diff_shows_a_change_exactly_when_steps_are_planned(index, perturbation):
    """Every field a step changes is in the view: no step <=> before == after (a retag or a route change
    must not report changed with an empty diff)."""
    w = VARIANTS[index]
    if perturbation in ("vlan", "external ids") and w["bridge_type"] != "ovs":
        pytest.skip("a Linux bridge port has no VLAN tag or external ids")
    if perturbation == "offload" and w["tx_checksum_offload"] is None:
        pytest.skip("the offload setting is read only when it is asked for")
    current = converged(w)
    if perturbation != "none":
        dict(PERTURBATIONS)[perturbation](current)
    steps = plan(current, w, 1500)
    assert (steps == []) == (view(w, current) == view(w, wanted_state(w, 1500))), (steps, view(w, current))


def test_vlan_retag_and_route_change_show_in_the_diff():
    w = ovs(vlan=30)
    current = converged(ovs(vlan=20))
    assert view(w, current)["vlan"] == 20 and view(w, wanted_state(w, 1500))["vlan"] == 30
    w = want(routes=["10.1.0.0/16"])
    before = view(w, converged(want(routes=["10.2.0.0/16"])))
    assert before["routes"] == ["10.2.0.0/16"] and view(w, wanted_state(w, 1500))["routes"] == ["10.1.0.0/16"]
