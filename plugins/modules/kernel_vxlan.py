#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kernel_vxlan
short_description: Declare a Linux VXLAN device with a fixed set of peers, joined to a Linux bridge
version_added: 0.1.0
description:
  - Declares one Linux kernel VXLAN device (no Open vSwitch) that floods unknown and broadcast frames to
    a fixed list of peers (head-end replication, one all-zero forwarding-database entry per peer) and
    learns the rest, so that several hosts share one layer-2 segment; optionally joins it to a Linux
    bridge such as C(docker0).
  - A full mesh of such devices is loop-free without spanning tree, with any number of hosts, because a bridge
    never sends a frame back out of the port it came in on, so a frame from one peer is never replicated
    to the others.
  - Reads the device and its peers through netlink (pyroute2), computes the difference, and applies it
    unless in check mode. The VNI, UDP port, local address, underlay device and learning cannot be
    changed on a live device; a change to one of them re-creates the device (listed in RV(changes)).
  - The device is marked in its interface alias; the module never changes or removes a device of that
    name it did not make.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ALL
  - encompass.netlab.attributes.ACTIONGROUP
options:
  name:
    description: The VXLAN device's name (at most 15 characters).
    type: str
    required: true
  vni:
    description: The VXLAN network identifier, 0 to 16777215; every host of the segment uses the same one.
    type: int
    default: 42
  port:
    description: The UDP destination port (4789 is the IANA one; Linux's own default is 8472).
    type: int
    default: 4789
  remote_ips:
    description: The peers' underlay addresses (one address family).
    type: list
    elements: str
    default: []
  exclusive:
    description:
      - Remove peers that are not in O(remote_ips), so that a host dropped from the inventory loses its
        entries everywhere on the next run.
    type: bool
    default: true
  local_ip:
    description: The source address of the VXLAN packets; must be an address of this host.
    type: str
  underlay_interface:
    description: The device the VXLAN packets leave through (the kernel routes them when omitted).
    type: str
  learning:
    description: Learn remote MAC addresses from received packets (needed with head-end replication).
    type: bool
    default: true
  attach_to:
    description: A Linux bridge (for example V(docker0)) the device joins.
    type: str
  mtu:
    description: The device's MTU, 68 to 65535 (the underlay's MTU minus 50 for IPv4).
    type: int
  state:
    description: V(present) makes the device match; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
requirements:
  - pyroute2
notes:
  - Kernel VXLAN needs the C(vxlan) kernel module; it is much faster than Open vSwitch's userspace
    datapath (see C(docs/lab.md)).
  - A Linux VXLAN device accepts packets of its VNI from any address and, with O(learning=true), learns
    MAC addresses behind it; removing a peer stops sending to it, but a removed host that keeps its own
    device running can still reach this one. Take such a host down (or remove its device) too.
  - An MTU that is too large is hidden from TCP on some kernels (path MTU discovery and segmentation
    offload); check with don't-fragment pings.
seealso:
  - module: encompass.netlab.ovs_gre_tunnel
"""

EXAMPLES = r"""
- name: One segment across the hosts of the play, joined to docker0
  encompass.netlab.kernel_vxlan:
    name: vxlan42
    vni: 42
    local_ip: "{{ underlay_ip }}"
    remote_ips: "{{ ansible_play_hosts_all | difference([inventory_hostname]) | map('extract', hostvars, 'underlay_ip') | list }}"
    attach_to: docker0
    mtu: 1450

- name: Remove the device
  encompass.netlab.kernel_vxlan:
    name: vxlan42
    state: absent
"""

RETURN = r"""
device:
  description: The device after the task (in check mode, as it would be); null when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The device's name.
      type: str
    vni:
      description: The VXLAN network identifier.
      type: int
    port:
      description: The UDP port.
      type: int
    local_ip:
      description: The source address, or null.
      type: str
    underlay_interface:
      description: The underlay device, or null.
      type: str
    learning:
      description: Whether MAC learning is on.
      type: bool
    mtu:
      description: The MTU.
      type: int
    master:
      description: The bridge the device belongs to, or null.
      type: str
    peers:
      description: The peers unknown frames are flooded to.
      type: list
      elements: str
  sample: {name: vxlan42, vni: 42, port: 4789, local_ip: 10.99.0.11, underlay_interface: null, learning: true,
           mtu: 1450, master: docker0, peers: [10.99.0.12, 10.99.0.13]}
changes:
  description: The operations performed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["create vxlan42: vni=42 port=4789 local=10.99.0.11", "add peer 10.99.0.12", "attach to docker0"]
"""

import ipaddress
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink

MARKER = "encompass.netlab:kernel_vxlan"
IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
IMMUTABLE = ("vni", "port", "local_ip", "underlay_interface", "learning")


class VxlanError(Exception):
    """Bad input or a device this module must not touch; the message names the object and the fix."""


def validate(params, local_addresses=None):
    """Check the arguments; return the normalised local address (or None) and peer list."""
    name = params["name"]
    if not IFNAME.match(name) or name in (".", ".."):
        raise VxlanError("%r is not a valid interface name (1 to 15 of letters, digits, '_', '.', '-')" % name)
    if not 0 <= params["vni"] <= 16777215:
        raise VxlanError("vni %d is out of range 0 to 16777215" % params["vni"])
    if not 1 <= params["port"] <= 65535:
        raise VxlanError("port %d is out of range 1 to 65535" % params["port"])
    if params["mtu"] is not None and not 68 <= params["mtu"] <= 65535:
        raise VxlanError("mtu %d is out of range 68 to 65535" % params["mtu"])
    local = None
    if params["local_ip"]:
        try:
            local = ipaddress.ip_address(params["local_ip"])
        except ValueError:
            raise VxlanError("local_ip %r is not an IP address" % params["local_ip"]) from None
        if local_addresses is not None and str(local) not in local_addresses:
            raise VxlanError("local_ip %s is not an address of this host; give one of its own addresses" % local)
    peers = []
    for raw in params["remote_ips"]:
        try:
            peer = ipaddress.ip_address(str(raw).strip())
        except ValueError:
            raise VxlanError("remote_ips: %r is not an IP address" % (raw,)) from None
        if local is not None and peer == local:
            raise VxlanError("remote_ips: %s is this host's own local_ip; list only the peers" % peer)
        if peer not in peers:
            peers.append(peer)
    families = {p.version for p in peers} | ({local.version} if local is not None else set())
    if len(families) > 1:
        raise VxlanError("remote_ips and local_ip mix IPv4 and IPv6; one VXLAN device carries one family")
    return (str(local) if local is not None else None), [str(p) for p in sorted(peers)]


def plan(current, desired, state, exclusive):
    """The operations that take the device from current (read_vxlan) to desired; pure logic."""
    name = desired["name"]
    if current is not None:
        if current["kind"] != "vxlan":
            raise VxlanError("%s exists and is not a VXLAN device (%s); choose another name"
                             % (name, current["kind"] or "a plain interface"))
        if current["alias"] != MARKER:
            raise VxlanError("%s is a VXLAN device this module did not make; remove it (ip link del %s) or choose"
                             " another name" % (name, name))
    if state == "absent":
        return [("delete", name, {})] if current is not None else []

    ops = []
    fresh = current is None or any(current[key] != desired[key] for key in IMMUTABLE)
    if fresh:
        if current is not None:
            changed = [key for key in IMMUTABLE if current[key] != desired[key]]
            ops.append(("delete", name, {"reason": ", ".join(changed)}))
        ops.append(("create", name, {key: desired[key] for key in IMMUTABLE}))
        current = dict(mtu=None, master=None, up=False, peers=[])
    if desired["mtu"] is not None and current["mtu"] != desired["mtu"]:
        ops.append(("set-mtu", name, {"mtu": desired["mtu"]}))
    if desired["master"] and current["master"] != desired["master"]:
        ops.append(("attach", name, {"master": desired["master"]}))
    if not current["up"]:
        ops.append(("up", name, {}))
    for peer in desired["peers"]:
        if peer not in current["peers"]:
            ops.append(("add-peer", name, {"peer": peer}))
    if exclusive:
        for peer in current["peers"]:
            if peer not in desired["peers"]:
                ops.append(("del-peer", name, {"peer": peer}))
    return ops


def describe(op):
    kind, name, detail = op
    if kind == "create":
        text = "create %s: vni=%d port=%d" % (name, detail["vni"], detail["port"])
        if detail["local_ip"]:
            text += " local=%s" % detail["local_ip"]
        if detail["underlay_interface"]:
            text += " dev=%s" % detail["underlay_interface"]
        return text + ("" if detail["learning"] else " nolearning")
    if kind == "delete":
        return "remove %s" % name + (" (to change %s)" % detail["reason"] if detail.get("reason") else "")
    if kind == "set-mtu":
        return "set mtu %d on %s" % (detail["mtu"], name)
    if kind == "attach":
        return "attach %s to %s" % (name, detail["master"])
    if kind == "up":
        return "bring %s up" % name
    return "%s peer %s on %s" % ("add" if kind == "add-peer" else "remove", detail["peer"], name)


def public(state):
    if state is None or state.get("kind") != "vxlan":
        return None
    keys = ("name", "vni", "port", "local_ip", "underlay_interface", "learning", "mtu", "master", "peers")
    return {key: state.get(key) for key in keys}


def state_after(current, ops, desired):
    """The device as it is after ops (what check mode reports)."""
    if any(op[0] == "delete" for op in ops) and not any(op[0] == "create" for op in ops):
        return None
    after = dict(current) if current is not None and not any(op[0] == "create" for op in ops) else dict(
        kind="vxlan", peers=[], mtu=1500 if desired["mtu"] is None else desired["mtu"], master=None)
    after["name"] = desired["name"]
    for kind, dummy, detail in ops:
        if kind == "create":
            after.update(detail)
        elif kind == "set-mtu":
            after["mtu"] = detail["mtu"]
        elif kind == "attach":
            after["master"] = detail["master"]
        elif kind == "add-peer":
            after["peers"] = after["peers"] + [detail["peer"]]
        elif kind == "del-peer":
            after["peers"] = [p for p in after["peers"] if p != detail["peer"]]
    after["peers"] = sorted(after["peers"], key=ipaddress.ip_address)
    return after


def apply(ops):
    """Apply ops; on failure remove a device this run created and re-raise."""
    created = False
    try:
        for kind, name, detail in ops:
            if kind == "delete":
                netlink.delete_link(name)
            elif kind == "create":
                netlink.add_vxlan(name, detail["vni"], detail["port"], detail["local_ip"], detail["underlay_interface"],
                                  detail["learning"], alias=MARKER)
                created = True
            elif kind == "set-mtu":
                netlink.set_mtu(name, detail["mtu"])
            elif kind == "attach":
                netlink.set_master(name, detail["master"])
            elif kind == "up":
                netlink.set_up(name)
            else:
                netlink.fdb_peer(name, detail["peer"], add=kind == "add-peer")
    except netlink.NetlinkFailure:
        if created:
            netlink.delete_link(ops[0][1])
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            vni=dict(type="int", default=42),
            port=dict(type="int", default=4789),
            remote_ips=dict(type="list", elements="str", default=[]),
            exclusive=dict(type="bool", default=True),
            local_ip=dict(type="str"),
            underlay_interface=dict(type="str"),
            learning=dict(type="bool", default=True),
            attach_to=dict(type="str"),
            mtu=dict(type="int"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    name = params["name"]
    if not netlink.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=netlink.PYROUTE2_IMPORT_ERROR)
    try:
        local_ip, peers = validate(params, netlink.local_addresses())
        if params["state"] == "present":
            for option in ("attach_to", "underlay_interface"):
                device = params[option]
                if device and not netlink.link_exists(device):
                    raise VxlanError("%s %s: no such interface" % (option, device))
            if params["attach_to"] and not netlink.is_linux_bridge(params["attach_to"]):
                raise VxlanError("attach_to %s is not a Linux bridge" % params["attach_to"])
        desired = dict(
            name=name, vni=params["vni"], port=params["port"],
            local_ip=local_ip,
            underlay_interface=params["underlay_interface"] or None, learning=params["learning"],
            mtu=params["mtu"], master=params["attach_to"] or None, peers=peers,
        )
        current = netlink.read_vxlan(name)
        if current is not None:
            current["name"] = name
        ops = plan(current, desired, params["state"], params["exclusive"])
    except (VxlanError, netlink.NetlinkFailure) as exc:
        module.fail_json(msg="kernel_vxlan %s: %s" % (name, exc))

    after = state_after(current, ops, desired)
    if ops and not module.check_mode:
        try:
            apply(ops)
        except netlink.NetlinkFailure as exc:
            module.fail_json(msg="kernel_vxlan %s: %s. A device this run created was removed." % (name, exc),
                             changes=[describe(op) for op in ops])
        after = netlink.read_vxlan(name)
        if after is not None:
            after["name"] = name
    module.exit_json(
        changed=bool(ops),
        device=public(after),
        changes=[describe(op) for op in ops],
        diff=dict(before=public(current) or {}, after=public(after) or {}),
    )


if __name__ == "__main__":
    main()
