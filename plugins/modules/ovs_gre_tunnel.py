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
  - encompass.netlab.attributes.ALL
  - encompass.netlab.attributes.ACTIONGROUP
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
    description: The OVSDB server's address.
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
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._ovs_tunnel import (
    IFNAME,
    MANAGER,
    TunnelError,
    describe,
    plan,
    plan_underlay,
    state_after,
    validate,
)

TUNNEL_OPS = ("add-bridge", "set-bridge", "set-mtu", "add-tunnel", "set-tunnel", "del-tunnel", "del-bridge")

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
        bridge = dict(
            name=bridge_name,
            datapath_type=row.datapath_type or "system",
            stp=bool(row.stp_enable),
            rstp=bool(row.rstp_enable),
            mtu=_ovsdb.single(internal.mtu_request) if internal is not None else None,
        )
    tunnels = {}
    for port in db.rows("Port"):
        managed = port.external_ids.get(_ovsdb.MANAGED_BY) == MANAGER
        if not managed and port.name not in names:
            continue
        iface = port.interfaces[0] if len(port.interfaces) == 1 else None
        options = dict(iface.options) if iface is not None else {}
        tunnels[port.name] = dict(
            peer=port.external_ids.get(PEER_KEY, options.get("remote_ip")),
            type=iface.type if iface is not None else "",
            options=options,
            managed=managed,
            bridge=owner.get(port.uuid),
        )
    return bridge, tunnels


def apply_ovsdb(db, ops, bridge_name):
    """Apply the database operations in one transaction and wait for ovs-vswitchd."""
    db_ops = [op for op in ops if op[0] in TUNNEL_OPS]
    if not db_ops:
        return

    def build(txn, idl):
        root = db.root()
        bridge = db.find("Bridge", bridge_name)
        internal = db.find("Interface", bridge_name)
        for kind, name, detail in db_ops:
            if kind == "add-bridge":
                bridge, internal = _ovsdb.insert_bridge(txn, idl, root, bridge_name, detail["datapath_type"],
                                                        {_ovsdb.MANAGED_BY: MANAGER})
            elif kind == "set-bridge":
                for column, value in detail.items():
                    setattr(bridge, {"stp": "stp_enable", "rstp": "rstp_enable"}.get(column, column), value)
            elif kind == "set-mtu":
                internal.mtu_request = [detail["mtu_request"]]
            elif kind == "add-tunnel":
                port, dummy_iface = _ovsdb.insert_port(txn, idl, name, detail["type"], detail["options"],
                                                       {_ovsdb.MANAGED_BY: MANAGER, PEER_KEY: detail["peer"]})
                bridge.addvalue("ports", port)
            elif kind == "set-tunnel":
                iface = db.find("Interface", name)
                if "type" in detail:
                    iface.type = detail["type"]
                if "options" in detail:
                    iface.options = detail["options"]
            elif kind == "del-tunnel":
                port = db.find("Port", name)
                bridge.delvalue("ports", port)
                port.delete()
            elif kind == "del-bridge":
                root.delvalue("bridges", bridge)
                bridge.delete()

    db.transact(build)


def spanning_tree_turned_off(ops, before_bridge):
    """True when ops turn STP or RSTP off on a bridge that had it on."""
    if before_bridge is None:
        return False
    return any(kind == "set-bridge" and detail.get(column) is False and before_bridge.get(column)
               for kind, dummy, detail in ops for column in ("stp", "rstp"))


def remake_tunnels(db, bridge_name, tunnels):
    """Delete the tunnel ports, then add them again (two transactions, so each gets a new OpenFlow port).

    Open vSwitch 3.1 (userspace datapath, measured) kept tunnel ports that had taken part in RSTP from
    forwarding after RSTP was turned off on the bridge, whatever their role had been; new ports forward."""
    apply_ovsdb(db, [("del-tunnel", name, tunnel) for name, tunnel in sorted(tunnels.items())], bridge_name)
    apply_ovsdb(db, [("add-tunnel", name, tunnel) for name, tunnel in sorted(tunnels.items())], bridge_name)


def read_underlay(db, nic, bridge):
    row = db.find("Bridge", bridge)
    return dict(
        exists=row is not None,
        datapath_type=(row.datapath_type or "system") if row is not None else None,
        has_nic=row is not None and any(port.name == nic for port in row.ports),
        nic_addresses=netlink.ipv4_addresses(nic),
        bridge_addresses=netlink.ipv4_addresses(bridge),
        gateways=netlink.default_gateways(nic),
        arp_ignore=netlink.arp_ignore(nic),
    )


def apply_underlay(db, ops, timeout):
    """Make the underlay bridge (OVSDB), then move the addresses onto it (netlink)."""
    for kind, name, detail in ops:
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
                raise _ovsdb.OvsdbError("the datapath (netdev) refused %s of underlay bridge %s" % (", ".join(missing), name))
            netlink.wait_link(name, timeout)
        elif kind == "move-addresses":
            netlink.move_ipv4(name, detail["to"], detail["addresses"], detail["gateways"])
        elif kind == "arp-ignore":
            netlink.set_arp_ignore(name)


def refused(db, ops, bridge_name):
    """What the datapath did not take: the bridge's internal interface and new or changed tunnels."""
    names = []
    if any(op[0] in ("add-bridge", "set-bridge") for op in ops):
        names.append(bridge_name)
    names += [name for kind, name, dummy in ops if kind in ("add-tunnel", "set-tunnel")]
    names += [name for kind, dummy, detail in ops if kind == "remake-tunnels" for name in detail["names"]]
    bad = []
    for name in db.wait_ofports(names):
        row = db.find("Interface", name)
        error = _ovsdb.single(row.error, "") if row is not None else "missing"
        bad.append("%s (%s)" % (name, error or "no OpenFlow port"))
    return bad


def undo(db, ops, before_bridge, bridge_name):
    """Remove what this run added after the datapath refused it; restore a changed datapath type."""
    added = [name for kind, name, dummy in ops if kind == "add-tunnel"]

    def build(txn, idl):
        del txn, idl
        bridge = db.find("Bridge", bridge_name)
        if bridge is None:
            return
        if any(kind == "add-bridge" for kind, dummy, dummy2 in ops):
            db.root().delvalue("bridges", bridge)
            bridge.delete()
            return
        for name in added:
            port = db.find("Port", name)
            if port is not None:
                bridge.delvalue("ports", port)
                port.delete()
        if before_bridge is not None and bridge.datapath_type != before_bridge["datapath_type"]:
            bridge.datapath_type = before_bridge["datapath_type"]

    db.transact(build, wait_vswitchd=False)


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
    params = module.params
    if not _ovsdb.HAS_OVS:
        module.fail_json(msg=missing_required_lib("ovs (python-ovs)"), exception=_ovsdb.OVS_IMPORT_ERROR)
    bridge_name = params["bridge"]
    datapath = params["datapath_type"]
    if datapath == "auto":
        datapath = "system" if os.path.isdir("/sys/module/openvswitch") else "netdev"

    try:
        local = netlink.local_addresses() if netlink.HAS_PYROUTE2 else None
        peers, tunnels = validate(params, local)
        attach_to = params["attach_to"]
        if attach_to and params["state"] == "present":
            if not netlink.link_exists(attach_to):
                raise TunnelError("attach_to %s: no such interface; create the Linux bridge first" % attach_to)
            if not netlink.is_linux_bridge(attach_to):
                raise TunnelError("attach_to %s is not a Linux bridge (an OVS bridge or a plain interface?)" % attach_to)
            if not netlink.HAS_PYROUTE2:
                module.fail_json(msg=missing_required_lib("pyroute2"), exception=netlink.PYROUTE2_IMPORT_ERROR)
        nic = params["underlay_interface"]
        if nic and params["state"] == "present" and datapath == "netdev":
            if not netlink.HAS_PYROUTE2:
                module.fail_json(msg=missing_required_lib("pyroute2"), exception=netlink.PYROUTE2_IMPORT_ERROR)
            if not IFNAME.match(params["underlay_bridge"]) or params["underlay_bridge"] == bridge_name:
                raise TunnelError("underlay_bridge %r must be a valid interface name other than the bridge" % params["underlay_bridge"])
            if not netlink.link_exists(nic):
                raise TunnelError("underlay_interface %s: no such interface" % nic)
    except TunnelError as exc:
        module.fail_json(msg="bridge %s: %s" % (bridge_name, exc))

    try:
        db = _ovsdb.Ovsdb(params["ovsdb"], params["timeout"])
    except _ovsdb.OvsdbError as exc:
        module.fail_json(msg=str(exc))

    desired = dict(
        bridge=dict(name=bridge_name, datapath_type=datapath, stp=params["stp"], rstp=params["rstp"], mtu=params["mtu"]),
        tunnels={name: dict(t) for name, t in tunnels.items()},
    )
    try:
        before_bridge, current_tunnels = read_state(db, bridge_name, set(tunnels))
        current = dict(bridge=before_bridge, tunnels=current_tunnels)
        ops = plan(current, desired, params)
        if params["underlay_interface"] and params["state"] == "present" and datapath == "netdev":
            ops = plan_underlay(read_underlay(db, params["underlay_interface"], params["underlay_bridge"]),
                                params["underlay_interface"], params["underlay_bridge"]) + ops
    except TunnelError as exc:
        db.close()
        module.fail_json(msg="bridge %s: %s" % (bridge_name, exc))

    if params["state"] == "present" and attach_to:
        if before_bridge is None or netlink.master_of(bridge_name) != attach_to or not netlink.is_up(bridge_name):
            ops.append(("attach", bridge_name, {"master": attach_to}))

    after_bridge, after_tunnels = state_after(current, ops, desired)
    before_tunnels = {n: t for n, t in current_tunnels.items() if t["managed"] and t["bridge"] == bridge_name}
    after_tunnels = {n: t for n, t in after_tunnels.items() if t.get("bridge") == bridge_name}
    if params["state"] == "present" and spanning_tree_turned_off(ops, before_bridge) and after_tunnels:
        ops.append(("remake-tunnels", bridge_name, {"names": sorted(after_tunnels)}))

    if ops and not module.check_mode:
        try:
            apply_underlay(db, [op for op in ops if op[0] not in TUNNEL_OPS + ("attach", "remake-tunnels")], params["timeout"])
            apply_ovsdb(db, ops, bridge_name)
            if any(op[0] == "remake-tunnels" for op in ops):
                remake_tunnels(db, bridge_name, after_tunnels)
            bad = refused(db, ops, bridge_name)
            if bad:
                undo(db, ops, before_bridge, bridge_name)
                hint = ""
                if datapath == "system":
                    hint = "; the kernel datapath needs the openvswitch module, use datapath_type: netdev where it is missing"
                module.fail_json(
                    msg="bridge %s: the datapath (%s) refused %s%s. What this run added was removed."
                    % (bridge_name, datapath, ", ".join(bad), hint)
                )
            if any(op[0] == "attach" for op in ops):
                netlink.wait_link(bridge_name, params["timeout"])
                netlink.set_master(bridge_name, attach_to)
        except (_ovsdb.OvsdbError, netlink.NetlinkFailure) as exc:
            module.fail_json(msg="bridge %s: %s" % (bridge_name, exc), changes=[describe(op) for op in ops])
        finally:
            db.close()
    else:
        db.close()

    def public(tunnels_by_name):
        return {n: dict(peer=t["peer"], type=t["type"], options=t["options"]) for n, t in sorted(tunnels_by_name.items())}

    module.exit_json(
        changed=bool(ops),
        bridge=after_bridge,
        tunnels=public(after_tunnels),
        changes=[describe(op) for op in ops],
        diff=dict(
            before=dict(bridge=before_bridge, tunnels=public(before_tunnels)),
            after=dict(bridge=after_bridge, tunnels=public(after_tunnels)),
        ),
    )


if __name__ == "__main__":
    main()
