#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovn_chassis
short_description: Make a host an OVN chassis - the settings ovn-controller reads from Open vSwitch
version_added: 0.1.0
description:
  - Sets the C(external_ids) of Open vSwitch's C(Open_vSwitch) row that C(ovn-controller) reads on start and
    while it runs (C(system-id), C(ovn-remote), C(ovn-encap-type), C(ovn-encap-ip), C(ovn-bridge-datapath-type)),
    through the OVSDB protocol; C(ovn-controller) then registers the chassis in the southbound database and makes
    C(br-int) and one tunnel per other chassis by itself.
  - Adds the token C(encompass-netlab) to C(ovn-cms-options), which C(ovn-controller) copies into the southbound
    database, so that M(encompass.netlab.ovn_sb_chassis) can tell this collection's chassis apart.
  - With the userspace datapath, puts the underlay address on an OVS netdev bridge that owns
    O(underlay_interface), as M(encompass.netlab.ovs_gre_tunnel) does; without it Geneve finds no route.
  - Reads, compares and writes only the keys it manages; check mode and diff show each key.
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
  system_id:
    description: The chassis's name (C(external_ids:system-id)); the inventory host name reads well in C(ovn-sbctl show).
    type: str
    required: true
  remote:
    description: The southbound database, for example V(tcp:10.99.0.11:6642).
    type: str
    required: true
  encap_type:
    description: The tunnel encapsulation between chassis.
    type: str
    choices: [geneve, vxlan]
    default: geneve
  encap_ip:
    description: This host's underlay address, the tunnels' endpoint; must be an address of this host.
    type: str
    required: true
  bridge_datapath_type:
    description:
      - The datapath of C(br-int), which C(ovn-controller) creates. V(auto) picks V(system) when the C(openvswitch)
        kernel module is loaded and V(netdev) (userspace) otherwise.
    type: str
    choices: [auto, system, netdev]
    default: auto
  underlay_interface:
    description:
      - With the userspace datapath, the NIC that carries the underlay address; it moves onto O(underlay_bridge).
        Ignored with the kernel datapath.
    type: str
  underlay_bridge:
    description: The OVS netdev bridge that takes over O(underlay_interface).
    type: str
    default: br-phy
  state:
    description:
      - V(present) sets the keys; V(absent) removes the C(ovn-*) keys and the token (C(system-id) stays), so that
        C(ovn-controller) leaves the overlay.
    type: str
    choices: [present, absent]
    default: present
  ovsdb:
    description: The Open vSwitch database (V(unix:PATH), V(tcp:HOST:PORT), V(ssl:HOST:PORT)).
    type: str
    default: unix:/var/run/openvswitch/db.sock
  timeout:
    description: Seconds to wait for the database and for the underlay bridge.
    type: int
    default: 10
requirements:
  - ovs (python-ovs)
  - pyroute2
seealso:
  - module: encompass.netlab.ovn_switch
  - module: encompass.netlab.ovn_sb_chassis
"""

EXAMPLES = r"""
- name: This host as a chassis of the stack's overlay (userspace datapath, underlay on eth0)
  encompass.netlab.ovn_chassis:
    system_id: "{{ inventory_hostname }}"
    remote: tcp:10.99.0.11:6642
    encap_ip: "{{ underlay_ip }}"
    underlay_interface: eth0
"""

RETURN = r"""
chassis:
  description: The keys this module manages, after the task (in check mode, as they would be).
  returned: always
  type: dict
  sample: {system-id: docker1, ovn-remote: "tcp:10.99.0.11:6642", ovn-encap-type: geneve, ovn-encap-ip: 10.99.0.12,
           ovn-bridge-datapath-type: netdev, ovn-cms-options: encompass-netlab}
changes:
  description: The steps performed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["set external_ids:ovn-remote=tcp:10.99.0.11:6642"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["Open vSwitch is not reachable yet: the run sets every key"]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils import _underlay
from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import (
    CHASSIS_KEYS, chassis_after, chassis_settings, describe_chassis, plan_chassis)


class Chassis(Target):
    def __init__(self, module):
        self.params = params = module.params
        datapath = params["bridge_datapath_type"]
        if datapath == "auto":
            datapath = "system" if os.path.isdir("/sys/module/openvswitch") else "netdev"
        self.nic = params["underlay_interface"] if params["state"] == "present" and datapath == "netdev" else None
        try:
            self.wanted = chassis_settings(params, netlink.local_addresses(), datapath)
            if self.nic:
                valid.ifname(params["underlay_bridge"], "underlay_bridge")
                if not netlink.link_exists(self.nic):
                    raise InputError("underlay_interface %s: no such interface" % self.nic)
        except InputError as exc:
            raise InputError("chassis %s: %s" % (params["system_id"], exc)) from None
        self.db = _converge.pending_in_check_mode(
            module, self, "Open vSwitch is not reachable yet: the run sets every key",
            lambda: _ovsdb.Ovsdb(params["ovsdb"], params["timeout"]))

    def read(self):
        ids = self.db.root().external_ids if self.db is not None else {}
        self.underlay = _underlay.read(self.db, self.nic, self.params["underlay_bridge"]) if self.nic else None
        return self.state({k: ids[k] for k in CHASSIS_KEYS if k in ids}, [])

    def state(self, external_ids, steps):
        """The keys and, with the userspace underlay, its addresses (before any step, or after steps)."""
        return dict(external_ids=external_ids, **({"underlay": _underlay.view(self.underlay, steps)} if self.nic else {}))

    def plan(self, before):
        steps = plan_chassis(before["external_ids"], self.wanted, self.params["state"])
        if self.nic:
            try:
                steps = _underlay.plan(self.underlay, self.nic, self.params["underlay_bridge"]) + steps
            except InputError as exc:
                raise InputError("chassis %s: %s" % (self.params["system_id"], exc)) from None
        return steps

    def predict(self, before, steps):
        return self.state(chassis_after(before["external_ids"], steps), steps)

    def apply(self, steps):
        _underlay.apply(self.db, [s for s in steps if s.kind in _underlay.KINDS], self.params["timeout"])
        keys = [s for s in steps if s.kind in ("set-key", "del-key")]

        def build(txn, idl):
            del txn, idl
            root = self.db.root()
            ids = dict(root.external_ids)
            for kind, key, detail in keys:
                if kind == "set-key":
                    ids[key] = detail["value"]
                else:
                    ids.pop(key, None)
            root.external_ids = ids

        if keys:
            self.db.transact(build, wait=False)

    def describe(self, step):
        return _underlay.describe(step) or describe_chassis(step)

    def result(self, after):
        return dict(chassis=after["external_ids"])

    def close(self):
        if self.db is not None:
            self.db.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            system_id=dict(type="str", required=True),
            remote=dict(type="str", required=True),
            encap_type=dict(type="str", default="geneve", choices=["geneve", "vxlan"]),
            encap_ip=dict(type="str", required=True),
            bridge_datapath_type=dict(type="str", default="auto", choices=["auto", "system", "netdev"]),
            underlay_interface=dict(type="str"),
            underlay_bridge=dict(type="str", default="br-phy"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            ovsdb=dict(type="str", default=_ovsdb.DEFAULT_REMOTE),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _ovsdb.HAS_OVS, "ovs (python-ovs)", _ovsdb.OVS_IMPORT_ERROR)
    _converge.require(module, netlink.HAS_PYROUTE2, "pyroute2", netlink.PYROUTE2_IMPORT_ERROR)
    _converge.run(module, Chassis)


if __name__ == "__main__":
    main()
