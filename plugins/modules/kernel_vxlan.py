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
  - encompass.netlab.attributes.ACTIONGROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
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
  announce:
    description:
      - After every run (not in check mode), send gratuitous ARP for the IPv4 addresses of O(attach_to) with its
        current MAC, so that the other hosts' neighbour caches hold it at once; a host whose docker0 came back with
        a new MAC (a reboot) is reachable as soon as the run ends. Not a change.
    type: bool
    default: true
  mtu:
    description:
      - The device's MTU, 68 to 65535 (the underlay's MTU minus 50 for IPv4).
      - Unset leaves an existing device's MTU; a new one gets the kernel's choice, which check mode predicts too
        (the underlay's MTU minus 50, or 70 over IPv6, with O(underlay_interface); else 1500).
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
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["attach_to docker0 does not exist yet: the run attaches the device to it once it exists"]
announced:
  description: The addresses of O(attach_to) announced by gratuitous ARP.
  returned: with O(announce) and O(attach_to), outside check mode
  type: list
  elements: str
  sample: [172.18.0.1/16]
"""

import ipaddress

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _netns_jobs
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, NetlabError
from ansible_collections.encompass.netlab.plugins.module_utils._vxlan import MARKER, describe, kernel_mtu, plan, public, state_after, validate


class VxlanDevice(Target):
    def __init__(self, module):
        self.module = module
        self.params = params = module.params
        self.name = params["name"]
        try:
            local_ip, peers = validate(params, netlink.local_addresses())
            if params["state"] == "present":
                for option in ("attach_to", "underlay_interface"):
                    if params[option] and not netlink.link_exists(params[option]):
                        if module.check_mode and option == "attach_to":
                            # docker0 appears when dockerd first starts, which this same run would do.
                            self.notes = ["attach_to %s does not exist yet: the run attaches the device to it once it exists"
                                          % params[option]]
                            continue
                        raise InputError("%s %s: no such interface" % (option, params[option]))
                if params["attach_to"] and netlink.link_exists(params["attach_to"]) and not netlink.is_linux_bridge(params["attach_to"]):
                    raise InputError("attach_to %s is not a Linux bridge" % params["attach_to"])
        except InputError as exc:
            raise InputError("kernel_vxlan %s: %s" % (self.name, exc)) from None
        self.desired = dict(name=self.name, vni=params["vni"], port=params["port"], local_ip=local_ip,
                            underlay_interface=params["underlay_interface"] or None, learning=params["learning"],
                            mtu=params["mtu"], master=params["attach_to"] or None, peers=peers)

    def read(self):
        current = netlink.read_vxlan(self.name)
        if current is not None:
            current["name"] = self.name
        return current

    def plan(self, before):
        try:
            return plan(before, self.desired, self.params["state"], self.params["exclusive"])
        except InputError as exc:
            raise InputError("kernel_vxlan %s: %s" % (self.name, exc)) from None

    def predict(self, before, steps):
        underlay = self.desired["underlay_interface"]
        family = ipaddress.ip_address(self.desired["local_ip"] or (self.desired["peers"] or ["0.0.0.0"])[0]).version
        return state_after(before, steps, self.desired, kernel_mtu(netlink.mtu_of(underlay) if underlay else None, family))

    def apply(self, steps):
        """Apply the steps; on failure remove a device this run created."""
        created = False
        try:
            for step in steps:
                _converge.dispatch(self, step)
                created = created or step.kind == "create"
        except NetlabError as exc:
            if created:
                netlink.delete_link(self.name)
            raise NetlabError("kernel_vxlan %s: %s.%s" % (self.name, exc, " A device this run created was removed." if created else "")) from None

    def do_create(self, step):
        detail = step.detail
        netlink.add_vxlan(step.name, detail["vni"], detail["port"], detail["local_ip"], detail["underlay_interface"],
                          detail["learning"], alias=MARKER)

    def do_delete(self, step):
        netlink.delete_link(step.name)

    def do_set_mtu(self, step):
        netlink.set_mtu(step.name, step.detail["mtu"])

    def do_attach(self, step):
        netlink.set_master(step.name, step.detail["master"])

    def do_up(self, step):
        netlink.set_up(step.name)

    def do_add_peer(self, step):
        netlink.fdb_peer(step.name, step.detail["peer"], add=True)

    def do_del_peer(self, step):
        netlink.fdb_peer(step.name, step.detail["peer"], add=False)

    def settle(self, predicted):
        return self.read()

    def finish(self):
        bridge = self.params["attach_to"] if self.params["state"] == "present" else None
        if not self.params["announce"] or not bridge or not netlink.link_exists(bridge):
            return {}
        for error in _netns_jobs.announce_bridge(bridge):
            self.module.warn("gratuitous ARP on %s failed: %s" % (bridge, error))
        return dict(announced=netlink.ipv4_addresses(bridge))

    def describe(self, step):
        return describe(step)

    def view(self, state):
        return public(state) or {}

    def result(self, after):
        return dict(device=public(after))


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
            announce=dict(type="bool", default=True),
            mtu=dict(type="int"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, netlink.HAS_PYROUTE2, "pyroute2", netlink.PYROUTE2_IMPORT_ERROR)
    _converge.run(module, VxlanDevice)


if __name__ == "__main__":
    main()
