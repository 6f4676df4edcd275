# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ovs_gre_tunnel's pure logic: names, validation, normalisation and the plan."""

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._ovs_tunnel import (
    TunnelError,
    describe,
    normalise_options,
    plan,
    port_name,
    state_after,
    validate,
)

LOCAL = {"127.0.0.1", "10.99.0.1"}


def params(**overrides):
    base = dict(bridge="br0", remote_ips=["10.99.0.2"], tunnel_type="gre", key=None, local_ip=None, exclusive=True,
                mtu=None, stp=None, rstp=None, state="present", remove_bridge=False)
    base.update(overrides)
    return base


def desired(p, datapath="netdev"):
    dummy, tunnels = validate(p, LOCAL)
    return dict(bridge=dict(name=p["bridge"], datapath_type=datapath, stp=p["stp"], rstp=p["rstp"], mtu=p["mtu"]), tunnels=tunnels)


def converged(p, datapath="netdev"):
    d = desired(p, datapath)
    bridge = dict(name=p["bridge"], datapath_type=datapath, stp=bool(p["stp"]), rstp=bool(p["rstp"]), mtu=p["mtu"])
    tunnels = {n: dict(t, managed=True, bridge=p["bridge"]) for n, t in d["tunnels"].items()}
    return dict(bridge=bridge, tunnels=tunnels)


def test_port_names_are_short_stable_and_distinct():
    names = {port_name(b, p) for b in ("br0", "br1", "br-overlay") for p in ("10.99.0.2", "10.99.0.3", "2001:db8::2")}
    assert len(names) == 9
    assert all(len(n) <= 15 and n.startswith("tun") for n in names)
    assert port_name("br0", "10.99.0.2") == port_name("br0", "10.99.0.2")


def test_type_does_not_change_the_name():
    gre = desired(params())["tunnels"]
    vxlan = desired(params(tunnel_type="vxlan"))["tunnels"]
    assert list(gre) == list(vxlan)


def test_addresses_are_normalised():
    dummy, tunnels = validate(params(remote_ips=["2001:DB8:0::2"]), LOCAL)
    assert [t["peer"] for t in tunnels.values()] == ["2001:db8::2"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(remote_ips=["10.99.0.300"]), "remote_ips entry '10.99.0.300' is not an IP address"),
        (dict(remote_ips=["peer-b"]), "is not an IP address"),
        (dict(remote_ips=["10.99.0.1"]), "10.99.0.1 is an address of this host"),
        (dict(remote_ips=["10.99.0.2", "10.99.0.02"]), None),
        (dict(remote_ips=["10.99.0.2", "10.99.0.2"]), "lists 10.99.0.2 twice"),
        (dict(key=2 ** 32), "key 4294967296 is out of range for gre (0 to 4294967295)"),
        (dict(key=-1), "out of range"),
        (dict(tunnel_type="vxlan", key=2 ** 24), "out of range for vxlan (0 to 16777215)"),
        (dict(tunnel_type="ipip"), "tunnel_type 'ipip' is not one of gre, vxlan, geneve"),
        (dict(stp=True, rstp=True), "stp and rstp are both true"),
        (dict(mtu=20), "mtu 20 is out of range"),
        (dict(bridge="a-very-long-bridge-name"), "not a valid interface name"),
        (dict(local_ip="10.99.0.9"), "local_ip 10.99.0.9 is not an address of this host"),
        (dict(local_ip="10.99.0.1", remote_ips=["2001:db8::2"]), "of different IP versions"),
    ],
)
def test_validation(overrides, message):
    if message is None:
        # "10.99.0.02" is not an address in Python's strict parser.
        with pytest.raises(TunnelError):
            validate(params(**overrides), LOCAL)
        return
    with pytest.raises(TunnelError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(params(**overrides), LOCAL)


def test_keys_at_the_limits_pass():
    validate(params(key=0), LOCAL)
    validate(params(key=2 ** 32 - 1), LOCAL)
    validate(params(tunnel_type="geneve", key=2 ** 24 - 1), LOCAL)


def test_fresh_host_plan():
    p = params(remote_ips=["10.99.0.2", "10.99.0.3"], mtu=1462, rstp=True)
    ops = plan(dict(bridge=None, tunnels={}), desired(p), p)
    assert [op[0] for op in ops] == ["add-bridge", "set-bridge", "set-mtu", "add-tunnel", "add-tunnel"]


def test_converged_host_plans_nothing():
    for p in (params(), params(mtu=1462, rstp=True, key=7, tunnel_type="vxlan"), params(remote_ips=[])):
        assert plan(converged(p), desired(p), p) == []


def test_values_from_ovsdb_compare_equal_to_the_request():
    p = params(key=42)
    current = converged(p)
    for tunnel in current["tunnels"].values():
        tunnel["options"] = {"remote_ip": "10.99.0.2", "key": "42"}  # OVSDB keeps strings
    assert plan(current, desired(p), p) == []


def test_changed_key_type_and_address_form_are_corrected_in_place():
    p = params(key=42, tunnel_type="vxlan")
    current = converged(params(key=41))
    ops = plan(current, desired(p), p)
    assert [(kind, detail) for kind, dummy, detail in ops] == [
        ("set-tunnel", {"type": "vxlan", "options": {"remote_ip": "10.99.0.2", "key": "42"}})
    ]


def test_exclusive_removes_only_own_ports_of_this_bridge():
    p = params(remote_ips=["10.99.0.2"])
    current = converged(params(remote_ips=["10.99.0.2", "10.99.0.3"]))
    current["tunnels"]["foreign"] = dict(peer="10.99.0.4", type="gre", options={}, managed=False, bridge="br0")
    current["tunnels"][port_name("br1", "10.99.0.5")] = dict(peer="10.99.0.5", type="gre", options={}, managed=True, bridge="br1")
    ops = plan(current, desired(p), p)
    assert ops == [("del-tunnel", port_name("br0", "10.99.0.3"), {"peer": "10.99.0.3"})]
    assert plan(current, desired(p), dict(p, exclusive=False)) == []


def test_a_foreign_port_with_our_name_is_refused():
    p = params()
    name = port_name("br0", "10.99.0.2")
    current = converged(p)
    current["tunnels"][name]["managed"] = False
    with pytest.raises(TunnelError, match="was not made by this module"):
        plan(current, desired(p), p)


def test_stp_and_rstp_toggles_and_none_means_leave_it():
    p = params(stp=True)
    ops = plan(converged(params()), desired(p), p)
    assert ops == [("set-bridge", "br0", {"stp": True})]
    current = converged(params(rstp=True))
    assert plan(current, desired(params()), params()) == []  # rstp=None: not compared
    off = params(rstp=False)
    assert plan(current, desired(off), off) == [("set-bridge", "br0", {"rstp": False})]


def test_datapath_change_is_planned():
    p = params()
    ops = plan(converged(p, "system"), desired(p, "netdev"), p)
    assert ops == [("set-bridge", "br0", {"datapath_type": "netdev"})]


def test_absent_plans():
    p3 = params(remote_ips=["10.99.0.2", "10.99.0.3"])
    current = converged(p3)
    only_one = params(state="absent", remote_ips=["10.99.0.3"])
    assert plan(current, desired(only_one), only_one) == [("del-tunnel", port_name("br0", "10.99.0.3"), {"peer": "10.99.0.3"})]
    everything = params(state="absent", remote_ips=[], remove_bridge=True)
    assert [op[0] for op in plan(current, desired(everything), everything)] == ["del-tunnel", "del-tunnel", "del-bridge"]
    assert plan(dict(bridge=None, tunnels={}), desired(everything), everything) == []


def test_state_after_and_describe():
    p = params(mtu=1450, rstp=True)
    current = dict(bridge=None, tunnels={})
    ops = plan(current, desired(p), p)
    bridge, tunnels = state_after(current, ops, desired(p))
    assert bridge == dict(name="br0", datapath_type="netdev", stp=False, rstp=True, mtu=1450)
    assert list(tunnels) == [port_name("br0", "10.99.0.2")]
    lines = [describe(op) for op in ops]
    assert lines[0] == "add bridge br0: datapath_type=netdev"
    assert "set bridge br0: rstp=true" in lines
    assert "set interface br0: mtu_request=1450" in lines
    assert describe(("attach", "br0", {"master": "docker0"})) == "attach br0 to Linux bridge docker0"


def test_normalise_options():
    assert normalise_options({"remote_ip": "2001:DB8::2", "key": "007", "csum": True}) == {
        "remote_ip": "2001:db8::2", "key": "7", "csum": "True"}


def underlay(**overrides):
    base = dict(exists=False, datapath_type=None, has_nic=False, nic_addresses=["10.99.0.11/24"],
                bridge_addresses=[], gateways=["10.99.0.1"], arp_ignore=0)
    base.update(overrides)
    return base


def test_underlay_fresh_host():
    from ansible_collections.encompass.netlab.plugins.module_utils._underlay import plan as plan_underlay
    ops = plan_underlay(underlay(), "eth0", "br-phy")
    assert [op[0] for op in ops] == ["add-underlay", "move-addresses", "arp-ignore"]
    assert ops[1][2] == {"to": "br-phy", "addresses": ["10.99.0.11/24"], "gateways": ["10.99.0.1"]}
    assert describe(ops[1]) == "move 10.99.0.11/24 default via 10.99.0.1 from eth0 to br-phy"


def test_underlay_converged_and_partial():
    from ansible_collections.encompass.netlab.plugins.module_utils._underlay import plan as plan_underlay
    done = underlay(exists=True, datapath_type="netdev", has_nic=True, nic_addresses=[], bridge_addresses=["10.99.0.11/24"], arp_ignore=1)
    assert plan_underlay(done, "eth0", "br-phy") == []
    nic_out = dict(done, has_nic=False)
    assert [op[0] for op in plan_underlay(nic_out, "eth0", "br-phy")] == ["add-underlay-port"]


def test_underlay_errors():
    from ansible_collections.encompass.netlab.plugins.module_utils._underlay import plan as plan_underlay
    with pytest.raises(TunnelError, match="datapath_type=system; it must be netdev"):
        plan_underlay(underlay(exists=True, datapath_type="system", has_nic=True), "eth0", "br-phy")
    with pytest.raises(TunnelError, match="has no IPv4 address"):
        plan_underlay(underlay(nic_addresses=[], bridge_addresses=[]), "eth0", "br-phy")


def test_spanning_tree_turned_off_is_noticed_only_for_a_change_from_on():
    from ansible_collections.encompass.netlab.plugins.module_utils._ovs_tunnel import spanning_tree_turned_off  # pylint: disable=import-outside-toplevel
    on = dict(name="br0", stp=False, rstp=True)
    assert spanning_tree_turned_off([("set-bridge", "br0", {"rstp": False})], on)
    assert not spanning_tree_turned_off([("set-bridge", "br0", {"rstp": True})], dict(on, rstp=False))
    assert not spanning_tree_turned_off([("set-bridge", "br0", {"stp": False})], on)
    assert not spanning_tree_turned_off([("add-bridge", "br0", {"datapath_type": "netdev"})], None)
