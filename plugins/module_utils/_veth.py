# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of veth_attach: names, MAC addresses, argument rules and the difference to apply."""

from __future__ import annotations

import hashlib
import ipaddress
import re

IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# The container end's ifalias marks what this module made; it is never adopted otherwise.
ALIAS_PREFIX = "encompass.netlab veth_attach "
TARGETS = ("container", "pid", "netns")


class AttachError(ValueError):
    """Input that cannot be applied; nothing has been changed when it is raised."""


def host_ifname(identity, ifname):
    """The host end's name: from the container's identity (its id, not its PID) and the name inside,
    so it survives restarts, and at most 15 characters."""
    return "ve" + hashlib.sha256(("%s|%s" % (identity, ifname)).encode()).hexdigest()[:12]


def default_mac(address):
    """A stable, locally administered unicast MAC from the address (0a:6e + its last four bytes);
    Docker's own 02:42 prefix is avoided."""
    packed = ipaddress.ip_interface(address).ip.packed[-4:]
    return "0a:6e:" + ":".join("%02x" % b for b in packed)


def alias_for(host_name):
    return ALIAS_PREFIX + host_name


def _interface(value, where):
    try:
        iface = ipaddress.ip_interface(str(value))
    except ValueError:
        raise AttachError("%s: address %r is not an address in CIDR form (e.g. 192.168.50.10/24)" % (where, value)) from None
    if "/" not in str(value):
        raise AttachError("%s: address %r has no prefix length (e.g. %s/24)" % (where, value, value))
    net = iface.network
    if iface.version == 4 and net.prefixlen < 31 and iface.ip in (net.network_address, net.broadcast_address):
        raise AttachError("%s: address %s is the network or broadcast address of %s" % (where, value, net))
    return iface


def normalise(att, index=None):
    """Check one attachment's options and return them in canonical form."""
    where = "attachment %d" % index if index is not None else "attachment"
    targets = [t for t in TARGETS if att.get(t) not in (None, "")]
    if len(targets) != 1:
        raise AttachError("%s: give exactly one of container, pid, netns (got %s)" % (where, ", ".join(targets) or "none"))
    target = targets[0]
    where = "%s (%s %s)" % (where, target, att[target])
    out = dict(target=target, target_value=att[target], state=att.get("state") or "present")
    ifname = att.get("ifname") or "eth1"
    if not IFNAME.match(ifname) or ifname == "lo":
        raise AttachError("%s: ifname %r is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . -)" % (where, ifname))
    out["ifname"] = ifname
    if att.get("host_ifname") and not IFNAME.match(att["host_ifname"]):
        raise AttachError("%s: host_ifname %r is not a valid interface name (1 to 15 characters)" % (where, att["host_ifname"]))
    out["host_ifname"] = att.get("host_ifname") or None
    link_type = att.get("link_type") or "veth"
    out["link_type"] = link_type
    out["bridge"] = att.get("bridge") or None
    out["parent"] = att.get("parent") or None
    out["create_bridge"] = bool(att.get("create_bridge"))
    if out["state"] == "absent":
        for key in ("address", "gateway", "routes", "mac", "mtu", "vlan"):
            out[key] = None
        out["routes"] = []
        return out
    if link_type == "veth" and not out["bridge"]:
        raise AttachError("%s: bridge is required with link_type veth" % where)
    if link_type == "macvlan":
        if not out["parent"]:
            raise AttachError("%s: parent (the host interface) is required with link_type macvlan" % where)
        if att.get("vlan") is not None:
            raise AttachError("%s: vlan needs an Open vSwitch bridge, not macvlan" % where)
    if not att.get("address"):
        raise AttachError("%s: address is required with state present" % where)
    iface = _interface(att["address"], where)
    out["address"] = str(iface)
    gateway = att.get("gateway")
    if gateway:
        try:
            gw = ipaddress.ip_address(str(gateway))
        except ValueError:
            raise AttachError("%s: gateway %r is not an IP address" % (where, gateway)) from None
        if gw.version != iface.version or gw not in iface.network or gw == iface.ip:
            raise AttachError("%s: gateway %s is outside the subnet %s of address %s" % (where, gateway, iface.network, iface))
        out["gateway"] = str(gw)
    else:
        out["gateway"] = None
    routes = []
    for route in att.get("routes") or []:
        try:
            net = ipaddress.ip_network(str(route), strict=False)
        except ValueError:
            raise AttachError("%s: route %r is not a network in CIDR form" % (where, route)) from None
        if net.version != iface.version:
            raise AttachError("%s: route %s is not of the address's IP version" % (where, route))
        routes.append(str(net))
    out["routes"] = sorted(set(routes))
    mac = (att.get("mac") or default_mac(out["address"])).lower().replace("-", ":")
    if not MAC.match(mac) or int(mac[:2], 16) & 1:
        raise AttachError("%s: mac %r is not a unicast MAC address" % (where, att.get("mac")))
    out["mac"] = mac
    mtu = att.get("mtu")
    if mtu is not None and not 68 <= int(mtu) <= 65535:
        raise AttachError("%s: mtu %s is out of range (68 to 65535)" % (where, mtu))
    out["mtu"] = int(mtu) if mtu is not None else None
    vlan = att.get("vlan")
    if vlan is not None and not 1 <= int(vlan) <= 4094:
        raise AttachError("%s: vlan %s is out of range (1 to 4094)" % (where, vlan))
    out["vlan"] = int(vlan) if vlan is not None else None
    return out


def check_unique(attachments):
    """Two attachments may not claim one address, or one interface of one target."""
    seen_addr = {}
    seen_if = {}
    for i, att in enumerate(attachments):
        if att.get("address"):
            ip = str(ipaddress.ip_interface(att["address"]).ip)
            if ip in seen_addr:
                raise AttachError("attachments %d and %d both claim address %s" % (seen_addr[ip], i, ip))
            seen_addr[ip] = i
        key = (att["target"], str(att["target_value"]), att["ifname"])
        if key in seen_if:
            raise AttachError("attachments %d and %d both configure %s in %s %s" % (seen_if[key], i, att["ifname"], key[0], key[1]))
        seen_if[key] = i


def plan(current, want, bridge_mtu):
    """The steps that take one attachment from current to want.

    current: None (no interface of that name in the target) or
      {managed, kind, mac, mtu, addresses, up, routes, host: {exists, master, up, mtu, ovs_tag}}
    want: a normalised attachment plus host_ifname and bridge_type ('linux' or 'ovs').
    """
    ops = []
    mtu = want["mtu"] or bridge_mtu
    if want["state"] == "absent":
        if current is not None:
            if not current["managed"]:
                raise AttachError("%s is not an interface this module made; refusing to remove it" % want["ifname"])
            ops.append(("remove", want["ifname"], {}))
        elif want.get("ovs_port_exists"):
            ops.append(("remove", want["ifname"], {}))
        return ops
    if current is None:
        ops.append(("create", want["ifname"], {"host_ifname": want["host_ifname"], "link_type": want["link_type"]}))
        # A new pair: the host end is new too; an OVS port left from before (a restarted container)
        # keeps its row and takes the new device by its name.
        known = want.get("host_state") or {}
        current = dict(managed=True, kind=want["link_type"], mac=None, mtu=None, addresses=[], up=False, routes=[],
                       host=dict(exists=True, master=None, up=False, mtu=None,
                                 ovs_port=known.get("ovs_port", False), ovs_tag=known.get("ovs_tag")))
    elif not current["managed"]:
        raise AttachError(
            "%s already exists in the target and was not made by this module (Docker's own eth0?); choose another ifname"
            % want["ifname"]
        )
    if current["mac"] != want["mac"]:
        ops.append(("set-mac", want["ifname"], {"mac": want["mac"]}))
    if mtu is not None and current["mtu"] != mtu:
        ops.append(("set-mtu", want["ifname"], {"mtu": mtu}))
    for cidr in current["addresses"]:
        if cidr != want["address"]:
            ops.append(("del-addr", want["ifname"], {"address": cidr}))
    if want["address"] not in current["addresses"]:
        ops.append(("add-addr", want["ifname"], {"address": want["address"]}))
    if not current["up"]:
        ops.append(("up", want["ifname"], {}))
    desired_routes = [(r, None) for r in want["routes"]]
    if want["gateway"]:
        default = "0.0.0.0/0" if ":" not in want["gateway"] else "::/0"
        desired_routes.append((default, want["gateway"]))
    for route in current["routes"]:
        if route not in desired_routes:
            ops.append(("del-route", want["ifname"], {"dst": route[0], "gateway": route[1]}))
    for route in desired_routes:
        if route not in current["routes"]:
            ops.append(("add-route", want["ifname"], {"dst": route[0], "gateway": route[1]}))
    if want["link_type"] == "veth":
        host = current["host"]
        if want["bridge_type"] == "linux" and host["master"] != want["bridge"]:
            ops.append(("set-master", want["host_ifname"], {"bridge": want["bridge"]}))
        if want["bridge_type"] == "ovs":
            if not host.get("ovs_port"):
                ops.append(("ovs-add-port", want["host_ifname"], {"bridge": want["bridge"], "vlan": want["vlan"]}))
            elif host.get("ovs_tag") != want["vlan"]:
                ops.append(("ovs-set-tag", want["host_ifname"], {"vlan": want["vlan"]}))
        if mtu is not None and host["mtu"] != mtu:
            ops.append(("host-mtu", want["host_ifname"], {"mtu": mtu}))
        if not host["up"]:
            ops.append(("host-up", want["host_ifname"], {}))
    return ops


def describe(op):
    kind, name, detail = op
    text = {
        "create": lambda: "create %s %s (host end %s)" % (detail.get("link_type", "veth"), name, detail.get("host_ifname")),
        "remove": lambda: "remove %s" % name,
        "set-mac": lambda: "set %s address %s" % (name, detail["mac"]),
        "set-mtu": lambda: "set %s mtu %d" % (name, detail["mtu"]),
        "del-addr": lambda: "delete address %s from %s" % (detail["address"], name),
        "add-addr": lambda: "add address %s to %s" % (detail["address"], name),
        "up": lambda: "bring %s up" % name,
        "del-route": lambda: "delete route %s%s from %s" % (detail["dst"], " via %s" % detail["gateway"] if detail["gateway"] else "", name),
        "add-route": lambda: "add route %s%s dev %s" % (detail["dst"], " via %s" % detail["gateway"] if detail["gateway"] else "", name),
        "set-master": lambda: "attach %s to Linux bridge %s" % (name, detail["bridge"]),
        "ovs-add-port": lambda: "add %s to OVS bridge %s%s" % (name, detail["bridge"], " tag %d" % detail["vlan"] if detail["vlan"] else ""),
        "ovs-set-tag": lambda: "set %s vlan tag %s" % (name, detail["vlan"]),
        "host-mtu": lambda: "set %s mtu %d" % (name, detail["mtu"]),
        "host-up": lambda: "bring %s up" % name,
    }
    return text[kind]()
