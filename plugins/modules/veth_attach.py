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
  - encompass.netlab.attributes.ACTIONGROUP
  - encompass.netlab.docker
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff shows every field a step can change, for every attachment and bridge, read back after the run.
  idempotent:
    support: full
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
  external_ids:
    description:
      - Keys of the C(external_ids) of the host end's Open vSwitch interface (only with an Open vSwitch bridge); for
        example C(iface-id) binds the interface to an OVN logical switch port. Other keys (C(ovn-controller) adds
        C(ovn-installed)) are left as they are.
    type: dict
  tx_checksum_offload:
    description:
      - Turn TX checksum offload of the container's end on or off; unset leaves it as the kernel made it.
      - Off is needed where the Open vSwitch userspace datapath carries TCP to an OVN logical port, because the
        packets would leave with checksums nobody computes.
    type: bool
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
        module keeps one rule, appended to FORWARD (after Docker's C(DOCKER-USER) jump and any rule of
        the host's own), C(-A FORWARD -i BRIDGE -o BRIDGE -m comment --comment "encompass.netlab
        veth_attach BRIDGE" -j ACCEPT), while an attachment of this module is on the bridge, and removes
        it with the last one.
      - Never on a bridge Docker manages (docker0, a user-defined bridge network); Docker's own rules
        decide there, and its C(icc) setting is kept. The uncommented accept rule earlier versions of this
        module inserted on such a bridge is removed where the network has C(icc) off, since it undid it.
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
      external_ids:
        description: As O(external_ids).
        type: dict
      tx_checksum_offload:
        description: As O(tx_checksum_offload); defaults to the module's.
        type: bool
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
    description:
      - The Open vSwitch database's address (for Open vSwitch bridges), as python-ovs takes it
        (V(unix:PATH), V(tcp:HOST:PORT), V(ssl:HOST:PORT)).
      - When it is the default local socket and that does not exist, no bridge is taken for an Open vSwitch one.
    type: str
    default: unix:/var/run/openvswitch/db.sock
requirements:
  - pyroute2
  - ovs (python-ovs), for Open vSwitch bridges
  - docker (the Docker SDK for Python), for O(container)
notes:
  - One task can wire hundreds of containers. The module keeps a netlink socket open per network namespace for the
    whole run, and a probe socket per new address while it probes; it raises its own soft limit of open files to
    the hard limit for that (systemd gives a login session a soft limit of 1024).
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
changes:
  description: Every step performed or, in check mode, that would be (bridges first, then each attachment's).
  returned: always
  type: list
  elements: str
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
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["container MongoDB does not run yet: the run attaches it once it runs; its host end's name comes from its id"]
"""


import ipaddress
import os
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _netns_jobs
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._docker import DOCKER_ARGUMENT_SPEC, DOCKER_IMPORT_ERROR, HAS_DOCKER, DockerAccess
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, NetlabError, NetlinkFailure, StepFailure
from ansible_collections.encompass.netlab.plugins.module_utils._veth import (
    ALIAS_PREFIX, alias_for, check_unique, describe, host_ifname, normalise, plan, view, wanted_state)

MANAGER = "veth_attach"


def forward_rule(bridge):
    """This module's FORWARD rule for a bridge it attaches to, named by its comment."""
    return ["FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", ALIAS_PREFIX + bridge, "-j", "ACCEPT"]


def legacy_rule(bridge):
    """The rule earlier versions of this module inserted at the top of FORWARD, without a comment."""
    return ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"]


ITEM_SPEC = dict(container="str", pid="int", netns="str", bridge="str", create_bridge="bool", ifname="str",
                 host_ifname="str", address="str", gateway="str", routes="list", mac="str", mtu="int", vlan="int",
                 external_ids="dict", tx_checksum_offload="bool", link_type="str", parent="str", state="str")
# What each attachment gives for itself; the rest falls back to the module's options.
OWN_KEYS = ("container", "pid", "netns", "address", "mac", "host_ifname", "external_ids")
# The order steps are applied in: the interface exists and is up on the segment before the duplicate
# probe (between phases 1 and 2); its MAC (derived from the address), the addresses and the routes after.
PHASE = {"remove": 0, "create": 0, "set-mtu": 1, "set-tx-checksum": 1, "set-master": 1, "ovs-add-port": 1,
         "ovs-readd-port": 1, "ovs-set-port": 1, "host-mtu": 1, "host-up": 1, "up": 1, "del-route": 2, "del-addr": 2, "set-mac": 2.5,
         "add-addr": 3, "add-route": 4}


class Attachments(Target):
    """resolve (targets, bridges) -> read -> plan -> apply, for one or many attachments."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.single = params["attachments"] is None
        raw = [dict((k, params[k]) for k in ITEM_SPEC)] if self.single else [
            dict((k, item.get(k) if item.get(k) is not None else (params[k] if k not in OWN_KEYS else None)) for k in ITEM_SPEC)
            for item in params["attachments"]]
        self.atts = [normalise(item, None if self.single else i) for i, item in enumerate(raw)]
        check_unique(self.atts)
        if any(a["target"] == "container" for a in self.atts):
            _converge.require(module, HAS_DOCKER, "docker (the Docker SDK for Python)", DOCKER_IMPORT_ERROR)
        self.docker = DockerAccess(params) if any(a["target"] == "container" for a in self.atts) else None
        self.db = None
        self.bridges = {}
        self.ours = {}
        self.rule_wanted = {}
        self.docker_bridge_names = None
        self.notes = []
        for att in self.atts:
            att["bridge_type"] = self.classify(att) if att["link_type"] == "veth" else "macvlan"
            for option in ("vlan", "external_ids"):
                if att[option] and att["bridge_type"] != "ovs":
                    raise InputError("%s %s needs an Open vSwitch bridge; %s is not one" % (option, att[option], att["bridge"]))
            self.resolve(att)

    def ovsdb(self):
        """The OVSDB connection; None when the remote is the local default socket and it is missing."""
        remote = self.module.params["ovsdb"]
        if self.db is None and not (remote == _ovsdb.DEFAULT_REMOTE and not os.path.exists(remote[len("unix:"):])):
            self.db = _ovsdb.Ovsdb(remote)
        return self.db

    def classify(self, att):
        bridge = att["bridge"]
        if bridge is None:
            return "none"
        if bridge not in self.bridges:
            if netlink.is_linux_bridge(bridge):
                kind = "linux"
            elif self.ovsdb() is not None and self.db.find("Bridge", bridge) is not None:
                kind = "ovs"
            elif att["create_bridge"] and att["state"] == "present":
                if netlink.link_exists(bridge):
                    raise InputError("bridge %s exists but is neither a Linux nor an Open vSwitch bridge" % bridge)
                kind = "create"
            elif att["state"] == "absent":
                kind = "none"
            elif self.module.check_mode:
                # A bridge an earlier task of this run makes (br-int, made by ovn-controller; docker0, by dockerd).
                kind = "pending"
                self.notes.append("bridge %s does not exist yet: the run attaches to it once it exists (a real run fails"
                                  " if it still does not)" % bridge)
            else:
                raise InputError("bridge %s does not exist; create it, or set create_bridge: true for a Linux bridge" % bridge)
            self.bridges[bridge] = kind
        if self.bridges[bridge] == "pending":
            return "ovs" if att["vlan"] or att["external_ids"] else "linux"
        return "linux" if self.bridges[bridge] == "create" else self.bridges[bridge]

    def resolve(self, att):
        """The target's network namespace, a stable identity (the container's id) and pid."""
        att["netns_path"], att["identity"], att["pid"] = None, None, None
        value = att["target_value"]
        if att["target"] == "container":
            info = self.docker.inspect_container(value)
            state = (info or {}).get("State") or {}
            if info is not None and state.get("Running") and state.get("Pid"):
                att.update(netns_path="/proc/%d/ns/net" % state["Pid"], identity=info["Id"], pid=state["Pid"])
            elif att["state"] == "absent":  # a stopped or removed container: its interface is gone, clean the host side
                att["identity"] = info["Id"] if info else None
            elif self.module.check_mode:
                # A container an earlier task of this run starts: everything would be made for it.
                self.notes.append("container %s does not run yet: the run attaches it once it runs; its host end's name"
                                  " comes from its id" % value)
                att.update(identity="pending:" + str(value), pending=True)
            elif info is None:
                raise InputError("container %s: no such container; create it first or fix the name" % value)
            else:
                raise InputError("container %s is not running; start it first (its network namespace exists only"
                                 " while it runs)" % value)
        elif att["target"] == "pid":
            path = "/proc/%d/ns/net" % int(value)
            if not os.path.exists(path):
                raise InputError("pid %d: no such process; give the pid of a running process" % int(value))
            att.update(netns_path=path, identity="pid:%d:%d" % (int(value), os.stat(path).st_ino), pid=int(value))
        else:
            path = value if "/" in str(value) else "/var/run/netns/%s" % value
            if not os.path.exists(path):
                raise InputError("netns %s: no such network namespace (%s does not exist)" % (value, path))
            att.update(netns_path=path, identity="netns:%s" % os.path.realpath(path))
        if att["identity"] is not None:
            att["host_ifname"] = att["host_ifname"] or host_ifname(att["identity"], att["ifname"])

    def read_host_end(self, att):
        name = att["host_ifname"]
        host = dict(exists=netlink.link_exists(name), master=netlink.master_of(name), up=netlink.is_up(name),
                    mtu=netlink.mtu_of(name), ovs_port=False, ovs_tag=None, external_ids={}, bridge=netlink.master_of(name))
        port = self.db.port(name) if self.db is not None else None
        if port is not None:
            host.update(ovs_port=True, ovs_tag=port["tag"], external_ids=port["iface_external_ids"], bridge=port["bridge"])
        return host

    def read(self):
        for att in self.atts:
            att["current"] = None
            if att["identity"] is None:
                continue
            att["host_state"] = self.read_host_end(att) if not att.get("pending") else dict(
                exists=False, master=None, up=False, mtu=None, ovs_port=False, ovs_tag=None, external_ids={}, bridge=None)
            if att["netns_path"]:
                current = netlink.read_link(att["ifname"], att["netns_path"])
                if current is not None:
                    current.update(managed=current["alias"] == alias_for(att["host_ifname"]), host=att["host_state"])
                att["current"] = current
        self.read_offload([a for a in self.atts if a["current"] is not None and a["tx_checksum_offload"] is not None])
        bridges = {}
        for bridge, kind in sorted(self.bridges.items()):
            if kind not in ("linux", "create", "pending"):
                continue
            icc = self.docker_bridges().get(bridge, "not Docker's")
            managed = self.module.params["forward_accept"]
            bridges[bridge] = dict(exists=netlink.link_exists(bridge), docker=icc != "not Docker's",
                                   forward_accept=self.rule_present(forward_rule(bridge)) if managed else None,
                                   legacy_rule=self.rule_present(legacy_rule(bridge)) if managed and icc is False else None)
            self.ours[bridge] = set(name for name, alias in (netlink.bridge_ports(bridge) if kind == "linux" else {}).items()
                                    if alias.startswith(ALIAS_PREFIX))
        return dict(attachments=[view(a, a["current"]) for a in self.atts], bridges=bridges)

    def docker_bridges(self):
        """Docker's bridges (name -> icc), asked once; when the Docker API cannot be asked, docker0 is taken for
        Docker's with its icc unknown."""
        if self.docker_bridge_names is None:
            try:
                access = self.docker or DockerAccess(self.module.params)
                self.docker_bridge_names = access.bridges()
                if access is not self.docker:
                    access.close()
            except NetlabError:
                self.docker_bridge_names = {"docker0": None}
        return self.docker_bridge_names

    def read_offload(self, atts):
        jobs = [dict(kind="tx-checksum", netns=a["netns_path"], ifname=a["ifname"]) for a in atts]
        for att, result in zip(atts, _netns_jobs.run_jobs(jobs)):
            if result.get("error"):
                raise NetlinkFailure("cannot read TX checksum offload of %s in %s: %s" % (att["ifname"], att["target_value"], result["error"]))
            att["current"]["tx_checksum_offload"] = result["enabled"]

    def rule_present(self, rule):
        rc, dummy_out, dummy_err = self.module.run_command(["iptables", "-C"] + rule)
        return rc == 0

    def wants_rule(self, bridge, state):
        """Whether this module's accept rule should be on the bridge after the run: while one of its attachments
        is on it (this run's, or an earlier run's it does not remove); never on Docker's bridges."""
        if state["forward_accept"] is None:
            return None
        if state["docker"]:
            return False
        on_it = [a for a in self.atts if a["bridge"] == bridge and a["bridge_type"] in ("linux", "create")]
        removed = set(a["host_ifname"] for a in on_it if a["state"] == "absent")
        return any(a["state"] == "present" for a in on_it) or bool(self.ours.get(bridge, set()) - removed)

    def plan(self, before):
        self.bridge_steps = [Step("create-bridge", b, {}) for b, kind in sorted(self.bridges.items()) if kind == "create"]
        late = []
        self.rule_wanted = {bridge: self.wants_rule(bridge, state) for bridge, state in before["bridges"].items()}
        for bridge, state in before["bridges"].items():
            wanted = self.rule_wanted[bridge]
            if wanted is True and not state["forward_accept"]:
                late.append(Step("forward-accept", bridge, {}))
            elif wanted is False and state["forward_accept"]:
                late.append(Step("forward-remove", bridge, {}))
            if state["legacy_rule"]:
                late.append(Step("legacy-remove", bridge, {}))
        self.bridge_steps += late
        steps = [s for s in self.bridge_steps if s.kind == "create-bridge"]
        for att in self.atts:
            att["steps"] = []
            if att["identity"] is None:
                continue
            att["ovs_port_exists"] = att["host_state"]["ovs_port"]
            att["bridge_mtu"] = (netlink.mtu_of(att["parent"]) if att["link_type"] == "macvlan"
                                 else 1500 if self.bridges.get(att["bridge"]) in ("create", "pending") else netlink.mtu_of(att["bridge"]))
            att["steps"] = plan(att["current"], att, att["bridge_mtu"])
            if not att["steps"] and att["state"] == "absent" and att["host_state"]["exists"]:
                att["steps"] = [Step("remove", att["ifname"], {})]
            steps += att["steps"]
        return steps + late

    def predict(self, before, steps):
        atts = [view(a, wanted_state(a, a.get("bridge_mtu")) if a["state"] == "present" else None) for a in self.atts]
        bridges = {}
        for bridge, state in before["bridges"].items():
            wanted = self.rule_wanted[bridge]
            # legacy-remove takes the old rule away where it is looked for (None: not looked for).
            bridges[bridge] = dict(state, exists=True, forward_accept=state["forward_accept"] if wanted is None else wanted,
                                   legacy_rule=None if state["legacy_rule"] is None else False)
        return dict(attachments=atts, bridges=bridges)

    def apply(self, steps):
        for step in self.bridge_steps:
            if step.kind == "create-bridge":
                netlink.create_bridge(step.name)
        failures = []
        live = [a for a in self.atts if a["steps"]]
        for att in live:
            att.update(created=False, ovs_added=False, failed=False)
        self.run_phase(live, lambda p: p <= 1, failures)
        if self.module.params["duplicate_check"]:
            self.probe([a for a in live if not a["failed"]], failures)
        self.run_phase(live, lambda p: p >= 2, failures)
        if self.module.params["arp_notify"]:
            _netns_jobs.run_jobs([dict(kind="announce", netns=a["netns_path"], ifname=a["ifname"], mac=a["mac"],
                                       ip=str(ipaddress.ip_interface(a["address"]).ip), count=1)
                                  for a in live if not a["failed"] and self.adds_ipv4(a)])
        for step in self.bridge_steps:
            command = {"forward-accept": ["-A"] + forward_rule(step.name), "forward-remove": ["-D"] + forward_rule(step.name),
                       "legacy-remove": ["-D"] + legacy_rule(step.name)}.get(step.kind)
            if command is not None:
                rc, out, err = self.module.run_command(["iptables", "-w", "10"] + command)
                if rc != 0:
                    failures.append("bridge %s: cannot %s: %s; check that iptables works on this host"
                                    % (step.name, self.describe(step), (err or out).strip()))
        if failures:
            raise StepFailure("; ".join(failures) + ". What those attachments had made in this run was removed.")

    @staticmethod
    def adds_ipv4(att):
        return any(s.kind == "add-addr" for s in att["steps"]) and ipaddress.ip_interface(att["address"]).version == 4

    def run_phase(self, atts, phases, failures):
        for att in atts:
            if att["failed"]:
                continue
            for step in sorted((s for s in att["steps"] if phases(PHASE[s.kind])), key=lambda s: PHASE[s.kind]):
                try:
                    _converge.dispatch(self, step, att)
                except NetlabError as exc:
                    self.fail(att, describe(step), str(exc), failures)
                    break

    def fail(self, att, step, reason, failures):
        att["failed"] = True
        self.undo(att)
        failures.append("%s %s: %s failed: %s" % (att["target"], att["target_value"], step, reason))

    def probe(self, atts, failures):
        """RFC 5227 probes for every new IPv4 address, in parallel."""
        probes = [a for a in atts if self.adds_ipv4(a)]
        jobs = [dict(kind="probe", netns=a["netns_path"], ifname=a["ifname"], mac=a["mac"],
                     ip=str(ipaddress.ip_interface(a["address"]).ip), wait=0.3, probes=3) for a in probes]
        for att, result in zip(probes, _netns_jobs.run_jobs(jobs)):
            if result.get("conflict") or result.get("error"):
                reason = result["error"] or ("address %s is already used on the segment by %s; choose another address"
                                             % (att["address"], result["conflict"]))
                self.fail(att, "duplicate address check", reason, failures)

    def do_create(self, att, step):
        tmp = "nlt" + uuid.uuid4().hex[:10]
        mark = alias_for(att["identity"] + "/" + step.name)
        if att["link_type"] == "veth":
            stale = netlink.link_alias(att["host_ifname"])
            if stale is not None and stale != mark:
                raise InputError("host interface %s exists and was not made by this module" % att["host_ifname"])
            if stale is not None:
                netlink.delete_link(att["host_ifname"])  # a leftover of an earlier run for this very target
            netlink.create_veth(att["host_ifname"], tmp, att["netns_path"], alias=mark)
        else:
            netlink.create_macvlan(tmp, att["parent"], att["netns_path"])
        att["created"] = True
        netlink.set_link(tmp, att["netns_path"], ifname=step.name, ifalias=alias_for(att["host_ifname"]))

    def do_set_mac(self, att, step):
        netlink.set_link(step.name, att["netns_path"], address=step.detail["mac"])

    def do_set_mtu(self, att, step):
        netlink.set_mtu(step.name, step.detail["mtu"], att["netns_path"])

    def do_set_tx_checksum(self, att, step):
        result = _netns_jobs.run_jobs([dict(kind="tx-checksum", netns=att["netns_path"], ifname=step.name,
                                            enabled=step.detail["enabled"])])[0]
        if result.get("error"):
            raise NetlinkFailure(result["error"])

    def do_up(self, att, step):
        netlink.set_up(step.name, att["netns_path"])

    def do_del_addr(self, att, step):
        netlink.change_address("del", step.name, step.detail["address"], att["netns_path"])

    def do_add_addr(self, att, step):
        netlink.change_address("add", step.name, step.detail["address"], att["netns_path"])

    def do_del_route(self, att, step):
        netlink.change_route("del", step.name, step.detail["dst"], step.detail["gateway"], att["netns_path"])

    def do_add_route(self, att, step):
        # replace: a gateway takes over the default route (Docker's, through eth0), as pipework does.
        netlink.change_route("replace", step.name, step.detail["dst"], step.detail["gateway"], att["netns_path"])

    def do_set_master(self, att, step):
        netlink.set_master(step.name, step.detail["bridge"])

    def do_host_up(self, att, step):
        netlink.set_up(step.name)

    def do_host_mtu(self, att, step):
        netlink.set_mtu(step.name, step.detail["mtu"])

    def do_ovs_add_port(self, att, step):
        att["ovs_added"] = True
        self.db.add_port(step.detail["bridge"], step.name, MANAGER, step.detail["vlan"], step.detail["external_ids"])

    def do_ovs_readd_port(self, att, step):
        """The row of a port whose device was deleted and made again: removed, then added around the new device.
        ovs-vswitchd must apply the removal before the add: when it reads both at once (a busy host) it sees a port
        of the same name and keeps the deleted device open, and the port passes nothing (shown by stopping
        ovs-vswitchd across an unwaited del-port and add-port)."""
        self.db.remove_port(step.name, MANAGER, wait=True)
        att["ovs_added"] = True
        self.db.add_port(step.detail["bridge"], step.name, MANAGER, step.detail["vlan"], step.detail["external_ids"])

    def do_ovs_set_port(self, att, step):
        self.db.set_port(step.name, step.detail["vlan"], step.detail["external_ids"])

    def do_remove(self, att, step):
        if att["netns_path"] and os.path.exists(att["netns_path"]):
            netlink.delete_link(step.name, att["netns_path"])
        netlink.delete_link(att["host_ifname"])
        if self.db is not None:
            self.db.remove_port(att["host_ifname"], MANAGER)

    def undo(self, att):
        """Remove the pair (deleting one end deletes both) or the macvlan device, and the OVS port, this run made."""
        try:
            if att.get("created"):
                if att["link_type"] == "veth":
                    netlink.delete_link(att["host_ifname"])
                else:
                    netlink.delete_link(att["ifname"], att["netns_path"])
            if att.get("ovs_added"):
                self.db.remove_port(att["host_ifname"], MANAGER)
        except NetlabError:
            pass

    def settle(self, predicted):
        return self.read()

    def describe(self, step):
        if step.kind == "create-bridge":
            return "create Linux bridge %s" % step.name
        if step.kind == "forward-accept":
            return "accept forwarding between the containers on %s (FORWARD rule appended)" % step.name
        if step.kind == "forward-remove":
            return "remove the FORWARD accept rule of %s (no attachment of this module is left on it)" % step.name
        if step.kind == "legacy-remove":
            return ("remove the FORWARD accept rule an earlier version of this module put on %s (Docker's network has"
                    " icc off, and the rule undid it)" % step.name)
        return describe(step)

    def result(self, after):
        results = []
        for att in self.atts:
            present = att["state"] == "present"
            results.append(dict(
                ifname=att["ifname"], host_ifname=att["host_ifname"] if att["link_type"] == "veth" else None,
                address=att["address"] if present else None, mac=att["mac"] if present else None,
                mtu=(att["mtu"] or att.get("bridge_mtu")) if present else None, bridge=att["bridge"],
                bridge_type=att["bridge_type"], vlan=att["vlan"], pid=att["pid"],
                changes=[describe(step) for step in att["steps"]]))
        return dict(interface=results[0]) if self.single else dict(interfaces=results)

    def close(self):
        if self.db is not None:
            self.db.close()
        if self.docker is not None:
            self.docker.close()


def main():
    item_spec = {key: dict(type=kind) for key, kind in ITEM_SPEC.items()}
    item_spec["routes"]["elements"] = "str"
    item_spec["link_type"]["choices"] = ["veth", "macvlan"]
    item_spec["state"]["choices"] = ["present", "absent"]
    defaults = dict(create_bridge=False, ifname="eth1", link_type="veth", state="present")
    argument_spec = {key: dict(spec, default=defaults[key]) if key in defaults else dict(spec) for key, spec in item_spec.items()}
    argument_spec.update(
        arp_notify=dict(type="bool", default=True),
        duplicate_check=dict(type="bool", default=True),
        forward_accept=dict(type="bool", default=True),
        attachments=dict(type="list", elements="dict", options=item_spec),
        ovsdb=dict(type="str", default=_ovsdb.DEFAULT_REMOTE),
        **DOCKER_ARGUMENT_SPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("attachments", "container"), ("attachments", "pid"), ("attachments", "netns"),
                            ("container", "pid", "netns")],
        required_one_of=[("attachments", "container", "pid", "netns")],
        supports_check_mode=True,
    )
    _converge.require(module, netlink.HAS_PYROUTE2, "pyroute2", netlink.PYROUTE2_IMPORT_ERROR)
    with netlink.session():  # one netlink socket per namespace for the whole run
        _converge.run(module, Attachments)


if __name__ == "__main__":
    main()
