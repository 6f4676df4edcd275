# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of veth_attach: names, MAC addresses, argument rules, the difference to apply, and the
public view of an attachment that the diff shows (every field a step can change)."""

from __future__ import annotations

import hashlib
import ipaddress

from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

# The container end's ifalias marks what this module made; it is never adopted otherwise.
ALIAS_PREFIX = "encompass.netlab veth_attach "
TARGETS = ("container", "pid", "netns")
AttachError = InputError


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


def normalise(att, index=None):
    """Check one attachment's options and return them in canonical form."""
    where = "attachment %d" % index if index is not None else "attachment"
    targets = [t for t in TARGETS if att.get(t) not in (None, "")]
    if len(targets) != 1:
        raise InputError("%s: give exactly one of container, pid, netns (got %s)" % (where, ", ".join(targets) or "none"))
    target = targets[0]
    where = "%s (%s %s)" % (where, target, att[target])
    out = dict(target=target, target_value=att[target], state=att.get("state") or "present",
               link_type=att.get("link_type") or "veth", bridge=att.get("bridge") or None,
               parent=att.get("parent") or None, create_bridge=bool(att.get("create_bridge")),
               external_ids=dict((str(k), str(v)) for k, v in (att.get("external_ids") or {}).items()),
               tx_checksum_offload=att.get("tx_checksum_offload"))
    try:
        out["ifname"] = valid.ifname(att.get("ifname") or "eth1", "ifname")
        out["host_ifname"] = valid.ifname(att["host_ifname"], "host_ifname") if att.get("host_ifname") else None
        if out["state"] == "absent":
            out.update(address=None, gateway=None, routes=[], mac=None, mtu=None, vlan=None)
            return out
        if out["link_type"] == "veth" and not out["bridge"]:
            raise InputError("bridge is required with link_type veth")
        if out["link_type"] == "macvlan":
            if not out["parent"]:
                raise InputError("parent (the host interface) is required with link_type macvlan")
            if att.get("vlan") is not None or out["external_ids"]:
                raise InputError("vlan and external_ids need an Open vSwitch bridge, not macvlan")
        if not att.get("address"):
            raise InputError("address is required with state present")
        iface = valid.ip_interface(att["address"], "address")
        out["address"] = str(iface)
        out["gateway"] = None
        if att.get("gateway"):
            gateway = valid.ip_address(att["gateway"], "gateway")
            if gateway.version != iface.version or gateway not in iface.network or gateway == iface.ip:
                raise InputError("gateway %s is outside the subnet %s of address %s" % (gateway, iface.network, iface))
            out["gateway"] = str(gateway)
        routes = set()
        for route in att.get("routes") or []:
            net = valid.ip_network(route, "route")
            if net.version != iface.version:
                raise InputError("route %s is not of the address's IP version" % route)
            routes.add(str(net))
        out["routes"] = sorted(routes)
        out["mac"] = valid.mac(att.get("mac") or default_mac(out["address"]))
        out["mtu"] = valid.mtu(att.get("mtu"))
        out["vlan"] = valid.in_range(att.get("vlan"), 1, 4094, "vlan")
    except InputError as exc:
        raise InputError("%s: %s" % (where, exc)) from None
    return out


def check_unique(attachments):
    """Two attachments may not claim one address, or one interface of one target."""
    seen_addr = {}
    seen_if = {}
    for i, att in enumerate(attachments):
        if att.get("address"):
            ip = str(ipaddress.ip_interface(att["address"]).ip)
            if ip in seen_addr:
                raise InputError("attachments %d and %d both claim address %s" % (seen_addr[ip], i, ip))
            seen_addr[ip] = i
        key = (att["target"], str(att["target_value"]), att["ifname"])
        if key in seen_if:
            raise InputError("attachments %d and %d both configure %s in %s %s" % (seen_if[key], i, att["ifname"], key[0], key[1]))
        seen_if[key] = i


def wanted_routes(want):
    routes = [(r, None) for r in want["routes"]]
    if want["gateway"]:
        routes.append(("0.0.0.0/0" if ":" not in want["gateway"] else "::/0", want["gateway"]))
    return sorted(routes, key=str)


def plan(current, want, bridge_mtu):
    """The steps that take one attachment from current to want.

    current: None (no interface of that name in the target) or
      {managed, kind, mac, mtu, addresses, up, routes, tx_checksum_offload,
       host: {exists, master, up, mtu, ovs_port, ovs_tag, external_ids}}
    want: a normalised attachment plus host_ifname and bridge_type ('linux', 'ovs' or 'macvlan').
    """
    ifname = want["ifname"]
    mtu = want["mtu"] or bridge_mtu
    if want["state"] == "absent":
        if current is not None and not current["managed"]:
            raise InputError("%s is not an interface this module made; refusing to remove it" % ifname)
        return [Step("remove", ifname, {})] if current is not None or want.get("ovs_port_exists") else []
    steps = []
    if current is None:
        steps.append(Step("create", ifname, {"host_ifname": want["host_ifname"], "link_type": want["link_type"]}))
        # A new pair: the host end is new too. An OVS port left from before (a restarted container) is made again
        # around the new device: Open vSwitch's userspace datapath keeps reading the deleted one under the row
        # (measured: the container's ARP went unanswered until the port was deleted and added).
        known = want.get("host_state") or {}
        if want["link_type"] == "veth" and want["bridge_type"] == "ovs" and known.get("ovs_port"):
            steps.append(Step("ovs-readd-port", want["host_ifname"], {
                "bridge": want["bridge"], "vlan": want["vlan"], "external_ids": want.get("external_ids") or {}}))
            known = dict(known, ovs_tag=want["vlan"], external_ids=want.get("external_ids") or {})
        current = dict(managed=True, kind=want["link_type"], mac=None, mtu=None, addresses=[], up=False, routes=[],
                       tx_checksum_offload=None,
                       host=dict(exists=True, master=None, up=False, mtu=None, ovs_port=known.get("ovs_port", False),
                                 ovs_tag=known.get("ovs_tag"), external_ids=known.get("external_ids") or {}))
    elif not current["managed"]:
        raise InputError("%s already exists in the target and was not made by this module (Docker's own eth0?);"
                         " choose another ifname" % ifname)
    if current["mac"] != want["mac"]:
        steps.append(Step("set-mac", ifname, {"mac": want["mac"]}))
    if mtu is not None and current["mtu"] != mtu:
        steps.append(Step("set-mtu", ifname, {"mtu": mtu}))
    offload = want.get("tx_checksum_offload")
    if offload is not None and current.get("tx_checksum_offload") != offload:
        steps.append(Step("set-tx-checksum", ifname, {"enabled": offload}))
    steps += [Step("del-addr", ifname, {"address": cidr}) for cidr in current["addresses"] if cidr != want["address"]]
    if want["address"] not in current["addresses"]:
        steps.append(Step("add-addr", ifname, {"address": want["address"]}))
    if not current["up"]:
        steps.append(Step("up", ifname, {}))
    desired = wanted_routes(want)
    steps += [Step("del-route", ifname, {"dst": r[0], "gateway": r[1]}) for r in current["routes"] if r not in desired]
    steps += [Step("add-route", ifname, {"dst": r[0], "gateway": r[1]}) for r in desired if r not in current["routes"]]
    if want["link_type"] == "veth":
        host, name = current["host"], want["host_ifname"]
        if want["bridge_type"] == "linux" and host["master"] != want["bridge"]:
            steps.append(Step("set-master", name, {"bridge": want["bridge"]}))
        if want["bridge_type"] == "ovs":
            ids = want.get("external_ids") or {}
            if not host.get("ovs_port"):
                steps.append(Step("ovs-add-port", name, {"bridge": want["bridge"], "vlan": want["vlan"], "external_ids": ids}))
            elif host.get("ovs_tag") != want["vlan"] or {k: (host.get("external_ids") or {}).get(k) for k in ids} != ids:
                steps.append(Step("ovs-set-port", name, {"vlan": want["vlan"], "external_ids": ids}))
        if mtu is not None and host["mtu"] != mtu:
            steps.append(Step("host-mtu", name, {"mtu": mtu}))
        if not host["up"]:
            steps.append(Step("host-up", name, {}))
    return steps


def view(att, state):
    """An attachment as the diff shows it: every field a step can change. state is the current
    interface (None: absent) or the wanted attachment when planned='want'."""
    head = dict(target=str(att["target_value"]), ifname=att["ifname"])
    if state is None:
        return dict(head, present=False)
    host = state.get("host") or {}
    return dict(head, present=True, addresses=state["addresses"], mac=state["mac"], mtu=state["mtu"], up=state["up"],
                routes=["%s via %s" % r if r[1] else r[0] for r in state["routes"]],
                tx_checksum_offload=state.get("tx_checksum_offload"),
                host_ifname=att.get("host_ifname") if att["link_type"] == "veth" else None,
                bridge=host.get("bridge"), vlan=host.get("ovs_tag"),
                # Only the keys asked for: others (ovn-controller's ovn-installed) are not this module's.
                external_ids={k: v for k, v in (host.get("external_ids") or {}).items() if k in (att.get("external_ids") or {})},
                host_mtu=host.get("mtu"), host_up=host.get("up"))


def wanted_state(want, bridge_mtu):
    """The state a present attachment has after its steps, in read_current's shape (for view)."""
    mtu = want["mtu"] or bridge_mtu
    veth = want["link_type"] == "veth"
    return dict(addresses=[want["address"]], mac=want["mac"], mtu=mtu, up=True, routes=wanted_routes(want),
                tx_checksum_offload=want.get("tx_checksum_offload"),
                host=dict(bridge=want["bridge"] if veth else None, mtu=mtu if veth else None, up=True if veth else None,
                          ovs_tag=want["vlan"] if want.get("bridge_type") == "ovs" else None,
                          external_ids=want.get("external_ids") or {} if want.get("bridge_type") == "ovs" else {}))


def describe(step):
    kind, name, detail = step

    def route():
        return "%s%s" % (detail["dst"], " via %s" % detail["gateway"] if detail["gateway"] else "")

    def ids():
        return "".join(" external_ids:%s=%s" % kv for kv in sorted((detail.get("external_ids") or {}).items()))

    text = {
        "create": lambda: "create %s %s (host end %s)" % (detail.get("link_type", "veth"), name, detail.get("host_ifname")),
        "remove": lambda: "remove %s" % name,
        "set-mac": lambda: "set %s address %s" % (name, detail["mac"]),
        "set-mtu": lambda: "set %s mtu %d" % (name, detail["mtu"]),
        "set-tx-checksum": lambda: "turn TX checksum offload %s on %s" % ("on" if detail["enabled"] else "off", name),
        "del-addr": lambda: "delete address %s from %s" % (detail["address"], name),
        "add-addr": lambda: "add address %s to %s" % (detail["address"], name),
        "up": lambda: "bring %s up" % name,
        "del-route": lambda: "delete route %s from %s" % (route(), name),
        "add-route": lambda: "add route %s dev %s" % (route(), name),
        "set-master": lambda: "attach %s to Linux bridge %s" % (name, detail["bridge"]),
        "ovs-add-port": lambda: "add %s to OVS bridge %s%s%s" % (name, detail["bridge"], " tag %d" % detail["vlan"] if detail["vlan"] else "", ids()),
        "ovs-set-port": lambda: "set %s vlan tag %s%s" % (name, detail["vlan"] or "none", ids()),
        "ovs-readd-port": lambda: "add %s to OVS bridge %s again (its device was made again)%s%s" % (
            name, detail["bridge"], " tag %d" % detail["vlan"] if detail["vlan"] else "", ids()),
        "host-mtu": lambda: "set %s mtu %d" % (name, detail["mtu"]),
        "host-up": lambda: "bring %s up" % name,
    }
    return text[kind]()
