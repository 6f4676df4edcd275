#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovs_gre_tunnel
short_description: Declare the Open vSwitch tunnel set of one host (GRE, VXLAN or Geneve) and its bridge
version_added: 0.1.0
description:
  - Declares one Open vSwitch bridge and one tunnel port per peer host, so that several hosts share one
    layer-2 segment; optionally joins the bridge to a Linux bridge such as C(docker0).
  - Reads Bridge, Port and Interface through the OVSDB protocol (python-ovs), computes the difference,
    and applies it in one transaction unless in check mode. Values are normalised before they are
    compared (numbers and strings, address forms), so an equal re-run changes nothing, and a changed
    key, type or address is corrected in place on the same port.
  - After a change the module waits until ovs-vswitchd has applied it and checks that the datapath
    really took the bridge and its ports (an OpenFlow port number). A bridge the datapath refuses is
    still written to the database while C(ovs-vsctl) exits 0; this module fails instead, and removes
    what it had just added.
  - Tunnel ports are named from the bridge and the peer (C(tun) and ten hex digits), and marked in
    C(external_ids); the module never changes or removes a port it did not make.
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
    details: The diff shows the bridge, the tunnels, the Linux bridge it joins and the underlay plumbing.
  idempotent:
    support: full
options:
  bridge:
    description: The Open vSwitch bridge; created when missing (with O(state=present)).
    type: str
    required: true
  remote_ips:
    description:
      - The peers' underlay addresses; one tunnel port to each.
      - With O(state=absent), the peers whose tunnels are removed (all managed ones when omitted).
    type: list
    elements: str
    default: []
  tunnel_type:
    description: The tunnel protocol.
    type: str
    choices: [gre, vxlan, geneve]
    default: gre
  key:
    description: The tunnel key (GRE, 0 to 4294967295) or VNI (VXLAN and Geneve, 0 to 16777215).
    type: int
  local_ip:
    description: The source address of the tunnels; must be an address of this host.
    type: str
  exclusive:
    description:
      - Remove this module's tunnel ports on the bridge whose peer is not in O(remote_ips), so that a
        host dropped from the inventory loses its tunnels everywhere on the next run.
    type: bool
    default: true
  attach_to:
    description:
      - A Linux bridge (for example V(docker0)) that the OVS bridge's internal interface joins, as
        C(brctl addif docker0 br0) does. With the userspace datapath the internal interface is a tap
        device and joins the same way.
    type: str
  announce:
    description:
      - After every run (not in check mode), send gratuitous ARP for the IPv4 addresses of O(attach_to) with its
        current MAC, so that the other hosts' neighbour caches hold it at once; a host whose docker0 came back with
        a new MAC (a reboot) is reachable as soon as the run ends. Not a change.
    type: bool
    default: true
  mtu:
    description: The MTU requested for the bridge's internal interface (C(mtu_request)), 68 to 65535.
    type: int
  stp:
    description: Spanning tree on the bridge (loop prevention for three or more hosts). Not with O(rstp).
    type: bool
  rstp:
    description: Rapid spanning tree on the bridge. Not with O(stp).
    type: bool
  datapath_type:
    description:
      - V(system) is the kernel datapath, V(netdev) the userspace one. V(auto) picks V(system) when the
        C(openvswitch) kernel module is loaded and V(netdev) otherwise.
    type: str
    choices: [auto, system, netdev]
    default: auto
  state:
    description:
      - V(present) makes the bridge and the tunnels match. V(absent) removes this module's tunnel ports
        on the bridge (those to O(remote_ips) when given, else all), and the bridge when O(remove_bridge=true).
    type: str
    choices: [present, absent]
    default: present
  remove_bridge:
    description: With O(state=absent), remove the bridge too.
    type: bool
    default: false
  underlay_interface:
    description:
      - The NIC that carries the tunnels. With the userspace datapath (V(netdev)) tunnel packets are
        routed only through an OVS C(netdev) bridge that owns the NIC, so the module makes
        O(underlay_bridge) with this NIC as its port, moves the NIC's IPv4 addresses and default route
        onto it, and makes sure the kernel does not answer ARP for them on the NIC (C(arp_ignore=1)).
      - Ignored with the kernel datapath, which routes tunnels itself.
      - Moving the address interrupts connections through the NIC for a moment; run it from a console
        or over another interface when the NIC carries the Ansible connection.
    type: str
  underlay_bridge:
    description: The OVS bridge that takes over O(underlay_interface).
    type: str
    default: br-phy
  ovsdb:
    description: The Open vSwitch database's address (V(unix:PATH), V(tcp:HOST:PORT), V(ssl:HOST:PORT)).
    type: str
    default: unix:/var/run/openvswitch/db.sock
  timeout:
    description: Seconds to wait for the database and for ovs-vswitchd to apply a change.
    type: int
    default: 10
requirements:
  - ovs (python-ovs)
  - pyroute2 (for O(attach_to) and the local-address checks)
notes:
  - With the userspace datapath, tunnels pass traffic only when the underlay address lives on an OVS
    C(netdev) bridge that owns the NIC; see C(docs/lab.md).
seealso:
  - module: openvswitch.openvswitch.openvswitch_port
"""

EXAMPLES = r"""
- name: One segment across the hosts of the play, joined to docker0
  encompass.netlab.ovs_gre_tunnel:
    bridge: br0
    remote_ips: "{{ groups['docker_hosts'] | difference([inventory_hostname]) | map('extract', hostvars, 'underlay_ip') | list }}"
    attach_to: docker0
    mtu: 1462
    rstp: "{{ groups['docker_hosts'] | length >= 3 }}"

- name: VXLAN with a VNI, userspace datapath
  encompass.netlab.ovs_gre_tunnel:
    bridge: br-overlay
    remote_ips: [192.0.2.12, 192.0.2.13]
    tunnel_type: vxlan
    key: 5001
    datapath_type: netdev

- name: Userspace datapath (no kernel module) with the underlay on eth0
  encompass.netlab.ovs_gre_tunnel:
    bridge: br0
    remote_ips: [10.99.0.12]
    datapath_type: netdev
    underlay_interface: eth0
    attach_to: docker0

- name: Remove every tunnel this module made on br0, and the bridge
  encompass.netlab.ovs_gre_tunnel:
    bridge: br0
    state: absent
    remove_bridge: true
"""

RETURN = r"""
bridge:
  description: The bridge after the task (in check mode, as it would be); null when it does not exist.
  returned: always
  type: dict
  contains:
    name:
      description: The bridge's name.
      type: str
    datapath_type:
      description: V(system) or V(netdev).
      type: str
    stp:
      description: Whether spanning tree is on.
      type: bool
    rstp:
      description: Whether rapid spanning tree is on.
      type: bool
    mtu:
      description: The MTU requested for the internal interface, or null.
      type: int
  sample: {name: br0, datapath_type: netdev, stp: false, rstp: true, mtu: 1462}
tunnels:
  description: This module's tunnel ports on the bridge after the task, by port name.
  returned: always
  type: dict
  sample:
    tun3f0c9a1b2d:
      peer: 192.0.2.12
      type: gre
      options: {remote_ip: 192.0.2.12}
changes:
  description: The operations performed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["add bridge br0: datapath_type=netdev", "add tunnel port tun3f0c9a1b2d: type=gre options:remote_ip=192.0.2.12"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["attach_to docker0 does not exist yet: the run attaches br0 to it once it exists"]
announced:
  description: The addresses of O(attach_to) announced by gratuitous ARP.
  returned: with O(announce) and O(attach_to), outside check mode
  type: list
  elements: str
  sample: [172.18.0.1/16]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _netns_jobs
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils import _underlay
from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, OvsdbError
from ansible_collections.encompass.netlab.plugins.module_utils._ovs_tunnel import (
    MANAGER, TUNNEL_OPS, describe, plan, spanning_tree_turned_off, state_after, validate)

PEER_KEY = "encompass-netlab-peer"


def read_state(db, bridge_name, names):
    """The bridge and every port that is this module's or that has one of the wanted names."""
    owner = {}
    for br in db.rows("Bridge"):
        for port in br.ports:
            owner[port.uuid] = br.name
    bridge = None
    row = db.find("Bridge", bridge_name)
    if row is not None:
        internal = db.find("Interface", bridge_name)
        bridge = dict(name=bridge_name, datapath_type=row.datapath_type or "system", stp=bool(row.stp_enable),
                      rstp=bool(row.rstp_enable), mtu=_ovsdb.single(internal.mtu_request) if internal is not None else None)
    tunnels = {}
    for port in db.rows("Port"):
        managed = port.external_ids.get(_ovsdb.MANAGED_BY) == MANAGER
        if not managed and port.name not in names:
            continue
        iface = port.interfaces[0] if len(port.interfaces) == 1 else None
        options = dict(iface.options) if iface is not None else {}
        tunnels[port.name] = dict(peer=port.external_ids.get(PEER_KEY, options.get("remote_ip")),
                                  type=iface.type if iface is not None else "", options=options,
                                  managed=managed, bridge=owner.get(port.uuid))
    return bridge, tunnels


def public(tunnels_by_name):
    return {n: dict(peer=t["peer"], type=t["type"], options=t["options"]) for n, t in sorted(tunnels_by_name.items())}


class TunnelSet(Target):
    """One OVS bridge, its tunnel ports, the Linux bridge it joins and the userspace underlay plumbing."""

    def __init__(self, module):
        self.module = module
        self.params = params = module.params
        self.db = None
        self.name = params["bridge"]
        self.datapath = params["datapath_type"]
        if self.datapath == "auto":
            self.datapath = "system" if os.path.isdir("/sys/module/openvswitch") else "netdev"
        present = params["state"] == "present"
        try:
            self.peers, self.tunnels = validate(params, netlink.local_addresses() if netlink.HAS_PYROUTE2 else None)
            self.attach_to = params["attach_to"] if present else None
            if self.attach_to:
                _converge.require(module, netlink.HAS_PYROUTE2, "pyroute2", netlink.PYROUTE2_IMPORT_ERROR)
                if not netlink.link_exists(self.attach_to):
                    if module.check_mode:
                        # docker0 appears when dockerd first starts, which this same run would do.
                        self.notes = ["attach_to %s does not exist yet: the run attaches %s to it once it exists (a real run fails"
                                      " if it still does not)" % (self.attach_to, self.name)]
                    else:
                        raise InputError("attach_to %s: no such interface; create the Linux bridge first" % self.attach_to)
                elif not netlink.is_linux_bridge(self.attach_to):
                    raise InputError("attach_to %s is not a Linux bridge (an OVS bridge or a plain interface?)" % self.attach_to)
            self.nic = params["underlay_interface"] if present and self.datapath == "netdev" else None
            if self.nic:
                _converge.require(module, netlink.HAS_PYROUTE2, "pyroute2", netlink.PYROUTE2_IMPORT_ERROR)
                valid.ifname(params["underlay_bridge"], "underlay_bridge")
                if params["underlay_bridge"] == self.name:
                    raise InputError("underlay_bridge %r must be another name than the bridge" % params["underlay_bridge"])
                if not netlink.link_exists(self.nic):
                    raise InputError("underlay_interface %s: no such interface" % self.nic)
        except InputError as exc:
            raise InputError("bridge %s: %s" % (self.name, exc)) from None
        self.db = _converge.pending_in_check_mode(
            module, self, "Open vSwitch is not reachable yet: the run makes the bridge and every tunnel",
            lambda: _ovsdb.Ovsdb(params["ovsdb"], params["timeout"]))
        self.desired = dict(bridge=dict(name=self.name, datapath_type=self.datapath, stp=params["stp"], rstp=params["rstp"],
                                        mtu=params["mtu"]),
                            tunnels={name: dict(t) for name, t in self.tunnels.items()})

    def read(self):
        self.before_bridge, self.current_tunnels = read_state(self.db, self.name, set(self.tunnels)) if self.db else (None, {})
        self.underlay = _underlay.read(self.db, self.nic, self.params["underlay_bridge"]) if self.nic else None
        return self.state(self.before_bridge, self.current_tunnels, netlink.master_of(self.name) if self.attach_to else None, [])

    def state(self, bridge, tunnels, attached, steps):
        view = dict(bridge=bridge, tunnels=public({n: t for n, t in tunnels.items() if t["managed"] and t.get("bridge") == self.name}))
        if self.attach_to:
            view["attached_to"] = attached
        if self.nic:
            view["underlay"] = dict(bridge=self.params["underlay_bridge"], nic=self.nic, **_underlay.view(self.underlay, steps))
        return view

    def plan(self, before):
        try:
            steps = plan(dict(bridge=self.before_bridge, tunnels=self.current_tunnels), self.desired, self.params)
            if self.nic:
                steps = _underlay.plan(self.underlay, self.nic, self.params["underlay_bridge"]) + steps
        except InputError as exc:
            raise InputError("bridge %s: %s" % (self.name, exc)) from None
        if self.attach_to and (self.before_bridge is None or before["attached_to"] != self.attach_to or not netlink.is_up(self.name)):
            steps.append(Step("attach", self.name, {"master": self.attach_to}))
        self.after_bridge, after_tunnels = state_after(dict(bridge=self.before_bridge, tunnels=self.current_tunnels), steps, self.desired)
        self.after_tunnels = {n: t for n, t in after_tunnels.items() if t.get("bridge") == self.name}
        if self.params["state"] == "present" and spanning_tree_turned_off(steps, self.before_bridge) and self.after_tunnels:
            steps.append(Step("remake-tunnels", self.name, {"names": sorted(self.after_tunnels)}))
        return steps

    def predict(self, before, steps):
        return self.state(self.after_bridge, self.after_tunnels, self.attach_to, steps)

    def apply(self, steps):
        try:
            _underlay.apply(self.db, [s for s in steps if s.kind in _underlay.KINDS], self.params["timeout"])
            self.apply_ovsdb(steps)
            if any(s.kind == "remake-tunnels" for s in steps):
                # Open vSwitch 3.1 (userspace datapath, measured) kept tunnel ports that had taken part in RSTP from
                # forwarding after RSTP was turned off; ports deleted and added in separate transactions forward.
                tunnels = sorted(self.after_tunnels.items())
                self.apply_ovsdb([Step("del-tunnel", n, t) for n, t in tunnels])
                self.apply_ovsdb([Step("add-tunnel", n, t) for n, t in tunnels])
            bad = self.refused(steps)
            if bad:
                self.undo(steps)
                hint = ("; the kernel datapath needs the openvswitch module, use datapath_type: netdev where it is missing"
                        if self.datapath == "system" else "")
                raise OvsdbError("bridge %s: the datapath (%s) refused %s%s. What this run added was removed."
                                 % (self.name, self.datapath, ", ".join(bad), hint))
            if any(s.kind == "attach" for s in steps):
                netlink.wait_link(self.name, self.params["timeout"])
                netlink.set_master(self.name, self.attach_to)
        except OvsdbError as exc:
            raise OvsdbError(str(exc) if str(exc).startswith("bridge ") else "bridge %s: %s" % (self.name, exc)) from None

    def apply_ovsdb(self, steps):
        """Apply the database steps in one transaction and wait for ovs-vswitchd."""
        db_steps = [s for s in steps if s.kind in TUNNEL_OPS]
        if db_steps:
            self.db.transact(lambda txn, idl: [_converge.dispatch(self, step, txn, idl, prefix="db_") for step in db_steps])

    # Database steps, inside apply_ovsdb's one transaction.
    def db_add_bridge(self, txn, idl, step):
        _ovsdb.insert_bridge(txn, idl, self.db.root(), self.name, step.detail["datapath_type"], {_ovsdb.MANAGED_BY: MANAGER})

    def db_set_bridge(self, txn, idl, step):
        bridge = self.db.find("Bridge", self.name)
        for column, value in step.detail.items():
            setattr(bridge, {"stp": "stp_enable", "rstp": "rstp_enable"}.get(column, column), value)

    def db_set_mtu(self, txn, idl, step):
        self.db.find("Interface", self.name).mtu_request = [step.detail["mtu_request"]]

    def db_add_tunnel(self, txn, idl, step):
        port, dummy_iface = _ovsdb.insert_port(txn, idl, step.name, step.detail["type"], step.detail["options"],
                                               {_ovsdb.MANAGED_BY: MANAGER, PEER_KEY: step.detail["peer"]})
        self.db.find("Bridge", self.name).addvalue("ports", port)

    def db_set_tunnel(self, txn, idl, step):
        iface = self.db.find("Interface", step.name)
        for column in ("type", "options"):
            if column in step.detail:
                setattr(iface, column, step.detail[column])

    def db_del_tunnel(self, txn, idl, step):
        _ovsdb.delete_port(self.db, self.db.find("Port", step.name))

    def db_del_bridge(self, txn, idl, step):
        bridge = self.db.find("Bridge", self.name)
        self.db.root().delvalue("bridges", bridge)
        bridge.delete()

    def refused(self, steps):
        """What the datapath did not take: the bridge's internal interface and new or changed tunnels."""
        names = [self.name] if any(s.kind in ("add-bridge", "set-bridge") for s in steps) else []
        names += [s.name for s in steps if s.kind in ("add-tunnel", "set-tunnel")]
        names += [n for s in steps if s.kind == "remake-tunnels" for n in s.detail["names"]]
        bad = []
        for name in self.db.wait_ofports(names):
            row = self.db.find("Interface", name)
            error = _ovsdb.single(row.error, "") if row is not None else "missing"
            bad.append("%s (%s)" % (name, error or "no OpenFlow port"))
        return bad

    def undo(self, steps):
        """Remove what this run added after the datapath refused it; restore a changed datapath type."""
        db = self.db

        def build(txn, idl):
            del txn, idl
            bridge = db.find("Bridge", self.name)
            if bridge is None:
                return
            if any(s.kind == "add-bridge" for s in steps):
                db.root().delvalue("bridges", bridge)
                bridge.delete()
                return
            for step in steps:
                if step.kind == "add-tunnel":
                    _ovsdb.delete_port(db, db.find("Port", step.name))
            if self.before_bridge is not None and bridge.datapath_type != self.before_bridge["datapath_type"]:
                bridge.datapath_type = self.before_bridge["datapath_type"]

        db.transact(build, wait=False)

    def finish(self):
        bridge = self.params["attach_to"] if self.params["state"] == "present" else None
        if not self.params["announce"] or not bridge or not netlink.link_exists(bridge):
            return {}
        for error in _netns_jobs.announce_bridge(bridge):
            self.module.warn("gratuitous ARP on %s failed: %s" % (bridge, error))
        return dict(announced=netlink.ipv4_addresses(bridge))

    def describe(self, step):
        return describe(step)

    def result(self, after):
        return dict(bridge=after["bridge"], tunnels=after["tunnels"])

    def close(self):
        if self.db is not None:
            self.db.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bridge=dict(type="str", required=True),
            remote_ips=dict(type="list", elements="str", default=[]),
            tunnel_type=dict(type="str", default="gre", choices=["gre", "vxlan", "geneve"]),
            key=dict(type="int", no_log=False),
            local_ip=dict(type="str"),
            exclusive=dict(type="bool", default=True),
            attach_to=dict(type="str"),
            announce=dict(type="bool", default=True),
            mtu=dict(type="int"),
            stp=dict(type="bool"),
            rstp=dict(type="bool"),
            datapath_type=dict(type="str", default="auto", choices=["auto", "system", "netdev"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            remove_bridge=dict(type="bool", default=False),
            underlay_interface=dict(type="str"),
            underlay_bridge=dict(type="str", default="br-phy"),
            ovsdb=dict(type="str", default=_ovsdb.DEFAULT_REMOTE),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _ovsdb.HAS_OVS, "ovs (python-ovs)", _ovsdb.OVS_IMPORT_ERROR)
    _converge.run(module, TunnelSet)


if __name__ == "__main__":
    main()
