# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The underlay of Open vSwitch's userspace datapath: its tunnels (GRE, VXLAN, Geneve, and so OVN's) route
their packets only through an OVS netdev bridge that owns the NIC and carries the NIC's IPv4 addresses and
default route. Shared by ovs_gre_tunnel and ovn_chassis: plan (pure), read, apply, describe."""

from __future__ import annotations

from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, OvsdbError

KINDS = ("add-underlay", "add-underlay-port", "move-addresses", "arp-ignore")
MANAGER = "underlay"


def plan(current, nic, bridge):
    """The steps that put the underlay address on an OVS netdev bridge owning the NIC.

    current: {exists, datapath_type, has_nic, nic_addresses, bridge_addresses, gateways, arp_ignore}
    """
    steps = []
    if current["exists"] and current["datapath_type"] != "netdev":
        raise InputError("underlay bridge %s exists with datapath_type=%s; it must be netdev" % (bridge, current["datapath_type"]))
    if not current["exists"]:
        steps.append(Step("add-underlay", bridge, {"nic": nic}))
    elif not current["has_nic"]:
        steps.append(Step("add-underlay-port", bridge, {"nic": nic}))
    if current["nic_addresses"]:
        steps.append(Step("move-addresses", nic, {"to": bridge, "addresses": current["nic_addresses"], "gateways": current["gateways"]}))
    elif not current["bridge_addresses"]:
        raise InputError("underlay_interface %s has no IPv4 address and %s has none either; nothing can carry the tunnels" % (nic, bridge))
    if current["arp_ignore"] < 1:
        steps.append(Step("arp-ignore", nic, {}))
    return steps


def describe(step):
    """A line for the `changes` result, or None for a step that is not the underlay's."""
    kind, name, detail = step
    if kind == "add-underlay":
        return "add underlay bridge %s: datapath_type=netdev with port %s" % (name, detail["nic"])
    if kind == "add-underlay-port":
        return "add port %s to underlay bridge %s" % (detail["nic"], name)
    if kind == "move-addresses":
        return "move %s from %s to %s" % (" ".join(detail["addresses"] + ["default via %s" % g for g in detail["gateways"]]), name, detail["to"])
    if kind == "arp-ignore":
        return "set net.ipv4.conf.%s.arp_ignore=1" % name
    return None


def view(current, steps):
    """The underlay as the diff shows it, before (steps empty) or after the steps."""
    moved = [a for s in steps if s.kind == "move-addresses" for a in s.detail["addresses"]]
    return dict(addresses=sorted(set((current["bridge_addresses"] if current["exists"] else []) + moved)),
                arp_ignore=current["arp_ignore"] >= 1 or any(s.kind == "arp-ignore" for s in steps))


def read(db, nic, bridge):
    """The underlay's state; with db None (Open vSwitch not running yet, check mode) as on a host without it."""
    row = db.find("Bridge", bridge) if db is not None else None
    return dict(exists=row is not None, datapath_type=(row.datapath_type or "system") if row is not None else None,
                has_nic=row is not None and any(port.name == nic for port in row.ports),
                nic_addresses=netlink.ipv4_addresses(nic), bridge_addresses=netlink.ipv4_addresses(bridge),
                gateways=netlink.default_gateways(nic), arp_ignore=netlink.arp_ignore(nic))


def apply(db, steps, timeout):
    """Make the underlay bridge (OVSDB), then move the addresses onto it (netlink)."""
    for kind, name, detail in steps:
        if kind in ("add-underlay", "add-underlay-port"):
            def build(txn, idl, kind=kind, name=name, detail=detail):
                nic_port, dummy_iface = _ovsdb.insert_port(txn, idl, detail["nic"])
                if kind == "add-underlay-port":
                    db.find("Bridge", name).addvalue("ports", nic_port)
                else:
                    _ovsdb.insert_bridge(txn, idl, db.root(), name, "netdev", {_ovsdb.MANAGED_BY: MANAGER}, [nic_port])

            db.transact(build)
            missing = db.wait_ofports([name, detail["nic"]])
            if missing:
                raise OvsdbError("the datapath (netdev) refused %s of underlay bridge %s" % (", ".join(missing), name))
            netlink.wait_link(name, timeout)
        elif kind == "move-addresses":
            netlink.move_ipv4(name, detail["to"], detail["addresses"], detail["gateways"])
        elif kind == "arp-ignore":
            netlink.set_arp_ignore(name)
