#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: veth_attach
short_description: Give containers static addresses from outside Docker (pipework, idempotent and honest)
version_added: 0.1.0
description:
  - Creates a veth pair (or a macvlan device), puts the host end on a Linux or Open vSwitch bridge,
    moves the other end into the container's network namespace, names it, gives it a MAC address,
    MTU, address and routes, brings it up and announces it with gratuitous ARP.
  - Reads the namespace, the host end and the bridge first, computes the difference, and applies it
    unless in check mode. An attachment that matches reports no change; one that differs (address,
    MTU, MAC, VLAN) is corrected in place, without recreating the container.
  - After a container restarts (a new namespace), the next run makes the attachment again; the host
    end's name comes from the container's id, not its PID, so it is the same every time.
  - If a step fails after the pair was made, the pair (and any OVS port made for it) is removed, and
    the error names the step, the container and the reason.
  - Netlink through pyroute2 and OVS ports through OVSDB; no C(ip) or C(ovs-vsctl) commands.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ALL
  - encompass.netlab.attributes.ACTIONGROUP
  - encompass.netlab.docker
options:
  container:
    description: The container (name or id), looked up through the Docker API; it must run.
    type: str
  pid:
    description: A process whose network namespace receives the interface.
    type: int
  netns:
    description: A network namespace, as a path (C(/proc/PID/ns/net), C(/var/run/netns/NAME)) or a name under C(/var/run/netns).
    type: str
  bridge:
    description: The bridge the host end joins, a Linux bridge or an Open vSwitch bridge (detected).
    type: str
  create_bridge:
    description: Create O(bridge) as a Linux bridge when it does not exist.
    type: bool
    default: false
  ifname:
    description: The interface's name inside the container.
    type: str
    default: eth1
  host_ifname:
    description: The host end's name; by default derived from the container's id and O(ifname) (14 characters).
    type: str
  address:
    description: The address in CIDR form, IPv4 or IPv6 (for example V(192.168.50.10/24)).
    type: str
  gateway:
    description:
      - A default route through this interface, via this address (inside the subnet). It replaces the
        container's default route (Docker's, through C(eth0)), as pipework does.
    type: str
  routes:
    description: Networks (CIDR) routed through this interface.
    type: list
    elements: str
  mac:
    description: The MAC address; by default a stable locally administered one derived from O(address).
    type: str
  mtu:
    description: The MTU; by default the bridge's.
    type: int
  vlan:
    description: The access VLAN tag of the OVS port (only with an Open vSwitch bridge).
    type: int
  link_type:
    description: V(veth) (a pair with one end on O(bridge)) or V(macvlan) (a device on O(parent), mode bridge).
    type: str
    choices: [veth, macvlan]
    default: veth
  parent:
    description: The host interface a macvlan device sits on (with O(link_type=macvlan)).
    type: str
  arp_notify:
    description: Send gratuitous ARP after an IPv4 address is set.
    type: bool
    default: true
  duplicate_check:
    description:
      - Before an IPv4 address is added, probe the segment (ARP, as RFC 5227 describes, compressed to
        about 0.3 seconds) and refuse an address another host answers for. Attachments are probed in
        parallel.
    type: bool
    default: true
  forward_accept:
    description:
      - On a Docker host the FORWARD policy is DROP and bridged frames pass through iptables, so
        containers on a Linux bridge Docker does not manage cannot reach each other. When true, the
        module makes sure of the one rule C(-A FORWARD -i BRIDGE -o BRIDGE -j ACCEPT).
    type: bool
    default: true
  state:
    description:
      - V(present) makes the attachment match; V(absent) removes the container's interface, the host
        end and any OVS port this module made for it, and nothing else.
    type: str
    choices: [present, absent]
    default: present
  attachments:
    description:
      - Many attachments in one run, each a dict with the options above (its own target); not together
        with the single form. Options not given in an item are taken from the module's options.
    type: list
    elements: dict
    suboptions:
      container:
        description: As O(container).
        type: str
      pid:
        description: As O(pid).
        type: int
      netns:
        description: As O(netns).
        type: str
      bridge:
        description: As O(bridge); defaults to the module's O(bridge).
        type: str
      create_bridge:
        description: As O(create_bridge); defaults to the module's.
        type: bool
      ifname:
        description: As O(ifname); defaults to the module's.
        type: str
      host_ifname:
        description: As O(host_ifname).
        type: str
      address:
        description: As O(address).
        type: str
      gateway:
        description: As O(gateway); defaults to the module's.
        type: str
      routes:
        description: As O(routes); defaults to the module's.
        type: list
        elements: str
      mac:
        description: As O(mac).
        type: str
      mtu:
        description: As O(mtu); defaults to the module's.
        type: int
      vlan:
        description: As O(vlan); defaults to the module's.
        type: int
      link_type:
        description: As O(link_type); defaults to the module's.
        type: str
        choices: [veth, macvlan]
      parent:
        description: As O(parent); defaults to the module's.
        type: str
      state:
        description: As O(state); defaults to the module's.
        type: str
        choices: [present, absent]
  ovsdb:
    description: The OVSDB server's address (for Open vSwitch bridges).
    type: str
    default: unix:/var/run/openvswitch/db.sock
requirements:
  - pyroute2
  - ovs (python-ovs), for Open vSwitch bridges
  - docker (the Docker SDK for Python), for O(container)
seealso:
  - module: encompass.netlab.docker_link_env
"""

EXAMPLES = r"""
- name: A static address for MongoDB on docker0, as pipework would
  encompass.netlab.veth_attach:
    container: MongoDB
    bridge: docker0
    address: 172.17.200.10/16

- name: Three containers on a private bridge in one run
  encompass.netlab.veth_attach:
    bridge: br-stack
    create_bridge: true
    attachments:
      - {container: MongoDB, address: 192.168.50.10/24}
      - {container: ElasticSearch, address: 192.168.50.11/24}
      - {container: Tomcat, address: 192.168.50.12/24, gateway: 192.168.50.1}

- name: On an Open vSwitch bridge, VLAN 20
  encompass.netlab.veth_attach:
    container: Tomcat
    bridge: br0
    vlan: 20
    address: 10.20.0.12/24

- name: Remove it again
  encompass.netlab.veth_attach:
    container: Tomcat
    bridge: br0
    state: absent
"""

RETURN = r"""
interface:
  description: The attachment after the task (single form).
  returned: with the single form
  type: dict
  contains:
    ifname:
      description: The name inside the container.
      type: str
    host_ifname:
      description: The host end's name (veth).
      type: str
    address:
      description: The address in CIDR form.
      type: str
    mac:
      description: The MAC address.
      type: str
    mtu:
      description: The MTU.
      type: int
    bridge:
      description: The bridge.
      type: str
    bridge_type:
      description: V(linux) or V(ovs).
      type: str
    vlan:
      description: The VLAN tag, or null.
      type: int
    pid:
      description: The process whose namespace holds the interface, when known.
      type: int
    changes:
      description: The steps performed or, in check mode, that would be.
      type: list
      elements: str
  sample:
    ifname: eth1
    host_ifname: ve3b1f0c2d9a41
    address: 192.168.50.10/24
    mac: 0a:6e:c0:a8:32:0a
    mtu: 1500
    bridge: br-stack
    bridge_type: linux
    vlan: null
    pid: 4242
    changes: ["create veth eth1 (host end ve3b1f0c2d9a41)", "add address 192.168.50.10/24 to eth1"]
interfaces:
  description: Every attachment after the task, in the order given (with O(attachments)).
  returned: with O(attachments)
  type: list
  elements: dict
"""

import ipaddress
import os
import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.encompass.netlab.plugins.module_utils import _arp
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._docker import DOCKER_ARGUMENT_SPEC, DockerAccess
from ansible_collections.encompass.netlab.plugins.module_utils._veth import (
    AttachError,
    alias_for,
    check_unique,
    describe,
    host_ifname,
    normalise,
    plan,
)

if netlink.HAS_PYROUTE2:
    from pyroute2 import IPRoute, NetNS
    from pyroute2.netlink.exceptions import NetlinkError
else:
    NetlinkError = netlink.NetlinkError

MANAGER = "veth_attach"
ITEM_KEYS = ("container", "pid", "netns", "bridge", "create_bridge", "ifname", "host_ifname", "address", "gateway",
             "routes", "mac", "mtu", "vlan", "link_type", "parent", "state")
# What each attachment gives for itself; the rest falls back to the module's options.
OWN_KEYS = ("container", "pid", "netns", "address", "mac", "host_ifname")
# Steps in the order they are applied: the interface exists and is up on the segment before the
# duplicate probe; its MAC (derived from the address), the addresses and the routes come after it.
PHASE = {"create": 0, "set-mac": 2.5, "set-mtu": 1, "set-master": 1, "ovs-add-port": 1, "ovs-set-tag": 1,
         "host-mtu": 1, "host-up": 1, "up": 1, "del-route": 2, "del-addr": 2, "add-addr": 3, "add-route": 4}
RTPROT_STATIC = 4


class StepFailure(Exception):
    def __init__(self, step, reason):
        super().__init__(reason)
        self.step = step
        self.reason = reason


def resolve_target(att, docker):
    """(netns path, identity, pid) for the attachment's target; identity is stable across restarts."""
    if att["target"] == "container":
        info = docker.inspect_container(att["target_value"])
        if info is None:
            raise AttachError("container %s: no such container; create it first or fix the name" % att["target_value"])
        state = info.get("State") or {}
        if not state.get("Running") or not state.get("Pid"):
            raise AttachError("container %s is not running; start it first (its network namespace exists only while it runs)" % att["target_value"])
        return "/proc/%d/ns/net" % state["Pid"], info["Id"], state["Pid"]
    if att["target"] == "pid":
        pid = int(att["target_value"])
        path = "/proc/%d/ns/net" % pid
        if not os.path.exists(path):
            raise AttachError("pid %d: no such process; give the pid of a running process" % pid)
        return path, "pid:%d:%d" % (pid, os.stat(path).st_ino), pid
    value = str(att["target_value"])
    path = value if "/" in value else "/var/run/netns/%s" % value
    if not os.path.exists(path):
        raise AttachError("netns %s: no such network namespace (%s does not exist)" % (value, path))
    return path, "netns:%s" % os.path.realpath(path), None


def read_bridge_mtu(bridge):
    try:
        with open("/sys/class/net/%s/mtu" % bridge, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def bridge_mtu(att, module_ops):
    """The MTU the interface gets by default: the bridge's (a Linux bridge made in this run has 1500),
    or the parent's for macvlan."""
    if att["link_type"] == "macvlan":
        return read_bridge_mtu(att["parent"])
    if ("create-bridge", att["bridge"]) in module_ops:
        return 1500
    return read_bridge_mtu(att["bridge"]) if att["bridge"] else None


def read_current(att, host):
    """The interface inside the namespace (with host, its host end's state), or None when it is missing."""
    with NetNS(att["netns_path"]) as ns:
        found = ns.link_lookup(ifname=att["ifname"])
        if not found:
            return None
        index = found[0]
        link = ns.get_links(index)[0]
        linkinfo = link.get_attr("IFLA_LINKINFO")
        kind = linkinfo.get_attr("IFLA_INFO_KIND") if linkinfo is not None else None
        addresses = []
        for msg in ns.get_addr(index=index):
            addr = msg.get_attr("IFA_ADDRESS")
            if addr and not addr.lower().startswith("fe80:"):
                addresses.append(str(ipaddress.ip_interface("%s/%d" % (addr, msg["prefixlen"]))))
        routes = []
        for family in (2, 10):
            for msg in ns.get_routes(family=family, table=254):
                if msg.get_attr("RTA_OIF") == index and msg["proto"] == RTPROT_STATIC:
                    dst = msg.get_attr("RTA_DST")
                    dst = "%s/%d" % (dst, msg["dst_len"]) if dst else ("0.0.0.0/0" if family == 2 else "::/0")
                    routes.append((str(ipaddress.ip_network(dst, strict=False)), msg.get_attr("RTA_GATEWAY")))
        current = dict(
            managed=link.get_attr("IFLA_IFALIAS") == alias_for(att["host_ifname"]),
            kind=kind,
            mac=link.get_attr("IFLA_ADDRESS"),
            mtu=link.get_attr("IFLA_MTU"),
            addresses=sorted(addresses),
            up=bool(link["flags"] & 1),
            routes=sorted(routes, key=str),
        )
    current["host"] = host
    return current


def read_host_end(att, db):
    name = att["host_ifname"]
    host = dict(exists=netlink.link_exists(name), master=netlink.master_of(name), up=netlink.is_up(name),
                mtu=read_bridge_mtu(name), ovs_port=False, ovs_tag=None)
    if db is not None:
        port = db.find("Port", name)
        if port is not None:
            host["ovs_port"] = True
            host["ovs_tag"] = _ovsdb.single(port.tag)
    return host


class Applier:
    """Applies one attachment's steps; on failure removes what this run made for it."""

    def __init__(self, module, att, db):
        self.module = module
        self.att = att
        self.db = db
        self.created = False
        self.ovs_added = False

    def run(self, ops):
        for op in ops:
            try:
                getattr(self, "do_" + op[0].replace("-", "_"))(op[1], op[2])
            except (NetlinkError, OSError, _ovsdb.OvsdbError, netlink.NetlinkFailure) as exc:
                raise StepFailure(describe(op), str(exc)) from None

    def ns_index(self, ns, name):
        found = ns.link_lookup(ifname=name)
        if not found:
            raise OSError("%s vanished from the namespace" % name)
        return found[0]

    def do_create(self, name, detail):
        att = self.att
        tmp = "nlt" + uuid.uuid4().hex[:10]
        with IPRoute() as ipr:
            if att["link_type"] == "veth":
                stale = ipr.link_lookup(ifname=att["host_ifname"])
                if stale:
                    alias = ipr.get_links(stale[0])[0].get_attr("IFLA_IFALIAS")
                    if alias != alias_for(att["identity"] + "/" + name):
                        raise OSError("host interface %s exists and was not made by this module" % att["host_ifname"])
                    ipr.link("del", index=stale[0])  # a leftover of an earlier run for this very target
                ipr.link("add", ifname=att["host_ifname"], kind="veth", peer={"ifname": tmp, "net_ns_fd": att["netns_path"]})
                self.created = True
                host_index = ipr.link_lookup(ifname=att["host_ifname"])[0]
                ipr.link("set", index=host_index, ifalias=alias_for(att["identity"] + "/" + name))
            else:
                parent = ipr.link_lookup(ifname=att["parent"])
                if not parent:
                    raise OSError("parent interface %s does not exist" % att["parent"])
                ipr.link("add", ifname=tmp, kind="macvlan", link=parent[0], macvlan_mode="bridge")
                self.created = True
                ipr.link("set", index=ipr.link_lookup(ifname=tmp)[0], net_ns_fd=att["netns_path"])
        with NetNS(att["netns_path"]) as ns:
            index = self.ns_index(ns, tmp)
            ns.link("set", index=index, ifname=name)
            ns.link("set", index=index, ifalias=alias_for(att["host_ifname"]))

    def ns_link(self, name, **kwargs):
        with NetNS(self.att["netns_path"]) as ns:
            ns.link("set", index=self.ns_index(ns, name), **kwargs)

    def do_set_mac(self, name, detail):
        self.ns_link(name, address=detail["mac"])

    def do_set_mtu(self, name, detail):
        self.ns_link(name, mtu=detail["mtu"])

    def do_up(self, name, detail):
        self.ns_link(name, state="up")

    def do_del_addr(self, name, detail):
        iface = ipaddress.ip_interface(detail["address"])
        with NetNS(self.att["netns_path"]) as ns:
            ns.addr("del", index=self.ns_index(ns, name), address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def do_add_addr(self, name, detail):
        iface = ipaddress.ip_interface(detail["address"])
        with NetNS(self.att["netns_path"]) as ns:
            ns.addr("add", index=self.ns_index(ns, name), address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def route(self, command, name, detail):
        kwargs = dict(dst=detail["dst"], proto=RTPROT_STATIC)
        if detail["gateway"]:
            kwargs["gateway"] = detail["gateway"]
        with NetNS(self.att["netns_path"]) as ns:
            kwargs["oif"] = self.ns_index(ns, name)
            ns.route(command, **kwargs)

    def do_del_route(self, name, detail):
        self.route("del", name, detail)

    def do_add_route(self, name, detail):
        # replace: a gateway takes over the default route (Docker's, through eth0), as pipework does.
        self.route("replace", name, detail)

    def do_set_master(self, name, detail):
        netlink.set_master(name, detail["bridge"])

    def do_host_up(self, name, detail):
        with IPRoute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")

    def do_host_mtu(self, name, detail):
        with IPRoute() as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], mtu=detail["mtu"])

    def do_ovs_add_port(self, name, detail):
        def build(txn, idl):
            port, dummy_iface = _ovsdb.insert_port(txn, idl, name, external_ids={_ovsdb.MANAGED_BY: MANAGER})
            if detail["vlan"]:
                port.tag = [detail["vlan"]]
            self.db.find("Bridge", detail["bridge"]).addvalue("ports", port)

        self.db.transact(build)
        self.ovs_added = True
        if self.db.wait_ofports([name]):
            raise _ovsdb.OvsdbError("the datapath refused port %s on bridge %s" % (name, detail["bridge"]))

    def do_ovs_set_tag(self, name, detail):
        def build(txn, idl):
            del txn, idl
            self.db.find("Port", name).tag = [detail["vlan"]] if detail["vlan"] else []

        self.db.transact(build)

    def do_remove(self, name, detail):
        att = self.att
        if att.get("netns_path") and os.path.exists(att["netns_path"]):
            with NetNS(att["netns_path"]) as ns:
                found = ns.link_lookup(ifname=name)
                if found:
                    ns.link("del", index=found[0])
        with IPRoute() as ipr:
            found = ipr.link_lookup(ifname=att["host_ifname"])
            if found:
                ipr.link("del", index=found[0])
        remove_ovs_port(self.db, att["host_ifname"])

    def undo(self):
        """Remove the pair (deleting one end deletes both) and the OVS port this run made."""
        try:
            if self.created:
                with IPRoute() as ipr:
                    found = ipr.link_lookup(ifname=self.att["host_ifname"])
                    if found and self.att["link_type"] == "veth":
                        ipr.link("del", index=found[0])
                if self.att["link_type"] == "macvlan":
                    with NetNS(self.att["netns_path"]) as ns:
                        found = ns.link_lookup(ifname=self.att["ifname"])
                        if found:
                            ns.link("del", index=found[0])
            if self.ovs_added:
                remove_ovs_port(self.db, self.att["host_ifname"])
        except (NetlinkError, OSError, _ovsdb.OvsdbError):
            pass


def remove_ovs_port(db, name):
    if db is None:
        return
    port = db.find("Port", name)
    if port is None or port.external_ids.get(_ovsdb.MANAGED_BY) != MANAGER:
        return

    def build(txn, idl):
        del txn, idl
        row = db.find("Port", name)
        for bridge in db.rows("Bridge"):
            if row in bridge.ports:
                bridge.delvalue("ports", row)
        row.delete()

    db.transact(build, wait_vswitchd=False)


def forward_rule_present(module, bridge):
    rc, dummy_out, dummy_err = module.run_command(["iptables", "-C", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"])
    return rc == 0


def main():
    item_spec = dict(
        container=dict(type="str"),
        pid=dict(type="int"),
        netns=dict(type="str"),
        bridge=dict(type="str"),
        create_bridge=dict(type="bool"),
        ifname=dict(type="str"),
        host_ifname=dict(type="str"),
        address=dict(type="str"),
        gateway=dict(type="str"),
        routes=dict(type="list", elements="str"),
        mac=dict(type="str"),
        mtu=dict(type="int"),
        vlan=dict(type="int"),
        link_type=dict(type="str", choices=["veth", "macvlan"]),
        parent=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"]),
    )
    defaults = dict(create_bridge=False, ifname="eth1", link_type="veth", state="present")
    argument_spec = {key: dict(spec, default=defaults[key]) if key in defaults else dict(spec) for key, spec in item_spec.items()}
    argument_spec.update(
        arp_notify=dict(type="bool", default=True),
        duplicate_check=dict(type="bool", default=True),
        forward_accept=dict(type="bool", default=True),
        attachments=dict(type="list", elements="dict", options=item_spec),
        ovsdb=dict(type="str", default=_ovsdb.DEFAULT_REMOTE),
    )
    argument_spec.update(DOCKER_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("attachments", "container"), ("attachments", "pid"), ("attachments", "netns"),
                            ("container", "pid", "netns")],
        required_one_of=[("attachments", "container", "pid", "netns")],
        supports_check_mode=True,
    )
    params = module.params
    if not netlink.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=netlink.PYROUTE2_IMPORT_ERROR)

    single = params["attachments"] is None
    raw = [dict((k, params[k]) for k in ITEM_KEYS)] if single else [
        dict((k, item.get(k) if item.get(k) is not None else (params[k] if k not in OWN_KEYS else None))
             for k in ITEM_KEYS)
        for item in params["attachments"]
    ]
    try:
        atts = [normalise(item, None if single else i) for i, item in enumerate(raw)]
        check_unique(atts)
    except AttachError as exc:
        module.fail_json(msg=str(exc))

    docker = DockerAccess(module) if any(a["target"] == "container" for a in atts) else None
    db = None
    try:
        # Bridges: detected once each, before anything changes.
        bridge_types = {}
        module_ops = []
        for att in atts:
            bridge = att["bridge"]
            if att["link_type"] != "veth" or bridge in bridge_types:
                continue
            if netlink.is_linux_bridge(bridge):
                bridge_types[bridge] = "linux"
                continue
            if db is None and os.path.exists(params["ovsdb"].replace("unix:", "", 1)):
                db = _ovsdb.Ovsdb(params["ovsdb"])
            if db is not None and db.find("Bridge", bridge) is not None:
                bridge_types[bridge] = "ovs"
            elif att["create_bridge"] and att["state"] == "present":
                if netlink.link_exists(bridge):
                    raise AttachError("bridge %s exists but is neither a Linux nor an Open vSwitch bridge" % bridge)
                bridge_types[bridge] = "linux"
                module_ops.append(("create-bridge", bridge))
            elif att["state"] == "absent":
                bridge_types[bridge] = "none"
            else:
                raise AttachError("bridge %s does not exist; create it, or set create_bridge: true for a Linux bridge" % bridge)
        for att in atts:
            att["bridge_type"] = bridge_types.get(att["bridge"], "none") if att["link_type"] == "veth" else "macvlan"
            if att["vlan"] is not None and att["bridge_type"] != "ovs":
                raise AttachError("vlan %d needs an Open vSwitch bridge; %s is a Linux bridge" % (att["vlan"], att["bridge"]))
        if db is None and "ovs" in bridge_types.values():
            db = _ovsdb.Ovsdb(params["ovsdb"])

        # Targets and current state, then the plan.
        for att in atts:
            try:
                att["netns_path"], att["identity"], att["pid"] = resolve_target(att, docker)
            except AttachError:
                if att["state"] == "absent" and att["target"] == "container":
                    # A stopped or removed container: its interface is gone; clean the host side.
                    att["netns_path"], att["pid"] = None, None
                    info = docker.inspect_container(att["target_value"])
                    att["identity"] = info["Id"] if info else None
                else:
                    raise
            if att["identity"] is None:
                att["host_ifname"] = att["host_ifname"] or None
                att["ops"] = []
                continue
            att["host_ifname"] = att["host_ifname"] or host_ifname(att["identity"], att["ifname"])
            att["host_state"] = read_host_end(att, db)
            current = read_current(att, att["host_state"]) if att["netns_path"] else None
            att["ovs_port_exists"] = db is not None and db.find("Port", att["host_ifname"]) is not None
            host_left = att["state"] == "absent" and netlink.link_exists(att["host_ifname"])
            att["bridge_mtu"] = bridge_mtu(att, module_ops)
            att["ops"] = plan(current, att, att["bridge_mtu"])
            if host_left and not att["ops"]:
                att["ops"] = [("remove", att["ifname"], {})]
            att["before"] = None if current is None else dict(addresses=current["addresses"], mac=current["mac"], mtu=current["mtu"])
        if params["forward_accept"]:
            for bridge, kind in sorted(bridge_types.items()):
                if kind == "linux" and any(a["state"] == "present" and a["bridge"] == bridge for a in atts):
                    if ("create-bridge", bridge) in module_ops or not forward_rule_present(module, bridge):
                        module_ops.append(("forward-accept", bridge))
    except (AttachError, _ovsdb.OvsdbError, netlink.NetlinkFailure) as exc:
        if db is not None:
            db.close()
        module.fail_json(msg=str(exc))

    changed = bool(module_ops) or any(a["ops"] for a in atts)
    if changed and not module.check_mode:
        apply_all(module, params, atts, module_ops, db)
    if db is not None:
        db.close()

    results = []
    for att in atts:
        present = att["state"] == "present"
        results.append(dict(
            ifname=att["ifname"], host_ifname=att["host_ifname"] if att["link_type"] == "veth" else None,
            address=att["address"] if present else None, mac=att["mac"] if present else None,
            mtu=(att["mtu"] or att.get("bridge_mtu")) if present else None,
            bridge=att["bridge"], bridge_type=att["bridge_type"], vlan=att["vlan"], pid=att.get("pid"),
            changes=[describe(op) for op in att["ops"]],
        ))
    diff = dict(
        before=[dict(ifname=a["ifname"], target=str(a["target_value"]), **(a.get("before") or {"present": False})) for a in atts],
        after=[dict(ifname=r["ifname"], target=str(a["target_value"]),
                    **({"addresses": [r["address"]], "mac": r["mac"], "mtu": r["mtu"]} if a["state"] == "present" else {"present": False}))
               for a, r in zip(atts, results)],
    )
    extra = dict(changes=["create Linux bridge %s" % b if k == "create-bridge" else "accept forwarding on %s" % b for k, b in module_ops])
    if single:
        module.exit_json(changed=changed, interface=results[0], diff=diff, **extra)
    module.exit_json(changed=changed, interfaces=results, diff=diff, **extra)


def apply_all(module, params, atts, module_ops, db):
    for kind, bridge in module_ops:
        if kind == "create-bridge":
            try:
                with IPRoute() as ipr:
                    ipr.link("add", ifname=bridge, kind="bridge")
                    ipr.link("set", index=ipr.link_lookup(ifname=bridge)[0], state="up")
            except NetlinkError as exc:
                module.fail_json(msg="bridge %s: cannot create it: %s" % (bridge, exc))
    appliers = [Applier(module, att, db) for att in atts]
    failures = []

    def fail(att, applier, step, reason):
        applier.undo()
        failures.append("%s %s: %s failed: %s" % (att["target"], att["target_value"], step, reason))

    # Phase 1: interfaces made, on the bridge and up; addresses not yet.
    for att, applier in zip(atts, appliers):
        try:
            applier.run([op for op in att["ops"] if op[0] == "remove" or PHASE.get(op[0], 9) <= 1])
        except StepFailure as exc:
            att["failed"] = True
            fail(att, applier, exc.step, exc.reason)
    # Phase 2: duplicate-address probes, all in parallel.
    if params["duplicate_check"]:
        probes = [(att, op) for att in atts if not att.get("failed") for op in att["ops"]
                  if op[0] == "add-addr" and ipaddress.ip_interface(op[2]["address"]).version == 4]
        results = _arp.run_jobs([dict(kind="probe", netns=att["netns_path"], ifname=att["ifname"], mac=att["mac"],
                                      ip=str(ipaddress.ip_interface(op[2]["address"]).ip), wait=0.3, probes=3)
                                 for att, op in probes])
        for (att, op), result in zip(probes, results):
            if result.get("error") or result.get("conflict"):
                att["failed"] = True
                reason = ("address %s is already used on the segment by %s; choose another address"
                          % (op[2]["address"], result["conflict"])) if result.get("conflict") else result["error"]
                fail(att, appliers[atts.index(att)], "duplicate address check", reason)
    # Phases 3 and 4: addresses and routes.
    for att, applier in zip(atts, appliers):
        if att.get("failed"):
            continue
        try:
            applier.run(sorted([op for op in att["ops"] if PHASE.get(op[0], 0) >= 2], key=lambda op: PHASE[op[0]]))
        except StepFailure as exc:
            att["failed"] = True
            fail(att, applier, exc.step, exc.reason)
    if params["arp_notify"]:
        announce = [att for att in atts if not att.get("failed") and att["state"] == "present"
                    and any(op[0] == "add-addr" for op in att["ops"]) and ipaddress.ip_interface(att["address"]).version == 4]
        _arp.run_jobs([dict(kind="announce", netns=att["netns_path"], ifname=att["ifname"], mac=att["mac"],
                            ip=str(ipaddress.ip_interface(att["address"]).ip), count=1) for att in announce])
    for kind, bridge in module_ops:
        if kind == "forward-accept":
            rc, out, err = module.run_command(["iptables", "-I", "FORWARD", "1", "-i", bridge, "-o", bridge, "-j", "ACCEPT"])
            if rc != 0:
                failures.append("bridge %s: cannot add the FORWARD accept rule: %s" % (bridge, (err or out).strip()))
    if failures:
        if db is not None:
            db.close()
        module.fail_json(msg="; ".join(failures) + ". What those attachments had made in this run was removed.")


if __name__ == "__main__":
    main()
