#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovn_switch
short_description: Declare an OVN logical switch with its ports and ACLs in the northbound database
version_added: 0.1.0
description:
  - Declares one OVN logical switch, its logical switch ports (addresses, port security, external ids) and its
    ACLs, through the OVSDB protocol (python-ovs) on the northbound database; no C(ovn-nbctl) command is run
    and no text is parsed.
  - Reads the switch, computes the difference, and applies it in one transaction unless in check mode; then
    waits until C(ovn-northd) (O(wait=sb)) or every chassis too (O(wait=hv)) has taken it, as C(ovn-nbctl --wait) does.
  - The switch, its ports and its ACLs are marked in their C(external_ids); the module never changes or removes
    what it did not make. With O(exclusive), ports and ACLs it made that are no longer listed are removed.
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
    description: The logical switch's name, 1 to 63 of letters, digits and C(_), C(.), C(:), C(-).
    type: str
    required: true
  subnet:
    description:
      - The switch's IP network (C(other_config:subnet)); every address of its ports must lie inside it.
    type: str
  ports:
    description: The logical switch ports.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The port's name; a container's interface is bound to it by C(external_ids:iface-id) on its OVS interface.
        type: str
        required: true
      addresses:
        description: C(MAC IP...) entries (or C(unknown), C(router), C(dynamic)).
        type: list
        elements: str
        default: []
      port_security:
        description: The MAC and addresses the port may send from; defaults to O(ports[].addresses).
        type: list
        elements: str
      external_ids:
        description: Further C(external_ids) of the port.
        type: dict
        default: {}
      options:
        description:
          - The port's C(options), all of them (the module owns its ports) - for one,
            V(requested-chassis), the chassis that alone may bind the port (so that an interface left on another host,
            a container moved away, never claims it).
        type: dict
        default: {}
  acls:
    description:
      - ACLs of the switch. OVN allows replies of connections an C(allow-related) ACL let through.
    type: list
    elements: dict
    default: []
    suboptions:
      direction:
        description: V(from-lport) (traffic a port sends) or V(to-lport) (traffic to a port).
        type: str
        required: true
        choices: [from-lport, to-lport]
      priority:
        description: 0 to 32767; the highest matching ACL decides.
        type: int
        required: true
      match:
        description: An OVN match expression, for example C(outport == "db" && ip4.src == 10.0.0.5 && tcp.dst == 27017).
        type: str
        required: true
      action:
        description: What a matching packet gets.
        type: str
        required: true
        choices: [allow, allow-related, allow-stateless, drop, reject]
      name:
        description: A name for the ACL (logged with it).
        type: str
  exclusive:
    description: Remove the ports and ACLs this module made on the switch that are not listed.
    type: bool
    default: true
  state:
    description: V(present) makes the switch match; V(absent) removes it with its ports and ACLs (only one this module made).
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - After a change, wait until V(sb) C(ovn-northd) has compiled it, V(hv) every chassis has applied it too, or V(none).
    type: str
    choices: [none, sb, hv]
    default: sb
  nb:
    description: The northbound database (V(unix:PATH), V(tcp:HOST:PORT), V(ssl:HOST:PORT)).
    type: str
    default: unix:/var/run/ovn/ovnnb_db.sock
  timeout:
    description: Seconds to wait for the database and for the change to take effect.
    type: int
    default: 10
requirements:
  - ovs (python-ovs)
notes:
  - ovsdbapp (OpenStack's OVN library) would add threads and dependencies for what three tables need; python-ovs
    is already the collection's OVSDB library and reads the server's own schema, so any OVN version works.
seealso:
  - module: encompass.netlab.ovn_chassis
  - module: encompass.netlab.veth_attach
"""

EXAMPLES = r"""
- name: The stack's switch, one port per container, only Tomcat may reach MongoDB
  encompass.netlab.ovn_switch:
    name: netlab
    subnet: 172.29.0.0/16
    nb: tcp:10.99.0.11:6641
    ports:
      - {name: netlab-mongodb, addresses: ["0a:6e:ac:1d:01:0a 172.29.1.10"]}
      - {name: netlab-tomcat, addresses: ["0a:6e:ac:1d:03:0c 172.29.3.12"]}
    acls:
      - {direction: to-lport, priority: 1001, action: allow-related,
         match: 'outport == "netlab-mongodb" && ip4.src == 172.29.3.12 && tcp.dst == {27017, 27018}'}
      - {direction: to-lport, priority: 1000, action: drop, match: 'outport == "netlab-mongodb" && ip'}

- name: Remove it, its ports and its ACLs
  encompass.netlab.ovn_switch:
    name: netlab
    state: absent
"""

RETURN = r"""
switch:
  description: What this module manages on the switch after the task (in check mode, as it would be); null when absent.
  returned: always
  type: dict
  contains:
    subnet:
      description: The switch's subnet, or null.
      type: str
    ports:
      description: The ports by name, each with C(addresses), C(port_security), C(external_ids) and C(options).
      type: dict
    acls:
      description: The ACLs, each with C(direction), C(priority), C(match), C(action) and C(name).
      type: list
      elements: dict
  sample:
    subnet: 172.29.0.0/16
    ports: {netlab-mongodb: {addresses: ["0a:6e:ac:1d:01:0a 172.29.1.10"], port_security: ["0a:6e:ac:1d:01:0a 172.29.1.10"], external_ids: {},
                             options: {requested-chassis: docker1}}}
    acls: []
changes:
  description: The steps performed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["add logical switch netlab subnet 172.29.0.0/16", "add logical switch port netlab-mongodb: ..."]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["the northbound database is not reachable yet: the run makes the switch, its ports and ACLs"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import (
    describe_switch, normalise_switch, plan_switch, predict_switch, view_switch)

MANAGER = "ovn_switch"


def ours(row):
    return row.external_ids.get(_ovsdb.MANAGED_BY) == MANAGER


def external_ids(row):
    return {k: v for k, v in row.external_ids.items() if k != _ovsdb.MANAGED_BY}


class LogicalSwitch(Target):
    def __init__(self, module):
        self.params = module.params
        try:
            self.desired = normalise_switch(self.params)
        except InputError as exc:
            raise InputError("logical switch %s: %s" % (self.params["name"], exc)) from None
        self.db = _converge.pending_in_check_mode(
            module, self, "the northbound database is not reachable yet: the run makes the switch, its ports and ACLs",
            lambda: _ovsdb.Ovsdb(self.params["nb"], self.params["timeout"], database="OVN_Northbound"))

    def read(self):
        name = self.desired["name"]
        if self.db is None:
            self.elsewhere = {}
            return None
        switch_of = {port.uuid: ls.name for ls in self.db.rows("Logical_Switch") for port in ls.ports}
        self.elsewhere = {row.name: switch_of.get(row.uuid) for row in self.db.rows("Logical_Switch_Port")
                          if getattr(row, "name", None) in self.desired["ports"] and switch_of.get(row.uuid) != name}
        row = self.db.find("Logical_Switch", name)
        if row is None:
            return None
        return dict(
            managed=ours(row), subnet=row.other_config.get("subnet"),
            ports={p.name: dict(addresses=sorted(p.addresses), port_security=sorted(p.port_security),
                                external_ids=external_ids(p), options=dict(p.options), managed=ours(p)) for p in row.ports},
            acls=[dict(direction=a.direction, priority=a.priority, match=a.match, action=a.action,
                       name=_ovsdb.single(a.name, "")) for a in row.acls if ours(a)])

    def plan(self, before):
        try:
            return plan_switch(before, self.desired, self.params["state"], self.params["exclusive"], self.elsewhere)
        except InputError as exc:
            raise InputError("logical switch %s: %s" % (self.desired["name"], exc)) from None

    def predict(self, before, steps):
        return predict_switch(self.desired, self.params["state"], self.params["exclusive"], before)

    def apply(self, steps):
        self.db.transact(lambda txn, idl: [_converge.dispatch(self, step, txn, idl) for step in steps], wait=self.params["wait"])

    def switch(self):
        return self.db.find("Logical_Switch", self.desired["name"])

    def do_add_switch(self, txn, idl, step):
        row = txn.insert(idl.tables["Logical_Switch"])
        row.name = step.name
        row.external_ids = {_ovsdb.MANAGED_BY: MANAGER}
        if step.detail["subnet"]:
            row.other_config = {"subnet": step.detail["subnet"]}

    def do_set_subnet(self, txn, idl, step):
        config = dict(self.switch().other_config)
        config.pop("subnet", None)
        self.switch().other_config = dict(config, **({"subnet": step.detail["subnet"]} if step.detail["subnet"] else {}))

    def do_del_switch(self, txn, idl, step):
        self.switch().delete()

    def do_add_port(self, txn, idl, step):
        row = txn.insert(idl.tables["Logical_Switch_Port"])
        row.name = step.name
        self.fill_port(row, step.detail)
        self.switch().addvalue("ports", row)

    def do_set_port(self, txn, idl, step):
        self.fill_port(self.db.find("Logical_Switch_Port", step.name), step.detail)

    @staticmethod
    def fill_port(row, detail):
        row.addresses = detail["addresses"]
        row.port_security = detail["port_security"]
        row.external_ids = dict(detail["external_ids"], **{_ovsdb.MANAGED_BY: MANAGER})
        row.options = detail["options"]

    def do_del_port(self, txn, idl, step):
        row = self.db.find("Logical_Switch_Port", step.name)
        self.switch().delvalue("ports", row)
        row.delete()

    def do_add_acl(self, txn, idl, step):
        acl = step.detail
        row = txn.insert(idl.tables["ACL"])
        row.direction, row.priority, row.match, row.action = acl["direction"], acl["priority"], acl["match"], acl["action"]
        row.name = [acl["name"]] if acl["name"] else []
        row.external_ids = {_ovsdb.MANAGED_BY: MANAGER}
        self.switch().addvalue("acls", row)

    def do_del_acl(self, txn, idl, step):
        switch = self.switch()
        # The ACLs this transaction inserted are in switch.acls too; they are never the ones to delete.
        for row in [r for r in switch.acls if r.uuid not in txn._txn_rows]:  # pylint: disable=protected-access
            if ours(row) and (row.direction, row.priority, row.match, row.action, _ovsdb.single(row.name, "")) == (
                    step.detail["direction"], step.detail["priority"], step.detail["match"], step.detail["action"], step.detail["name"]):
                switch.delvalue("acls", row)
                row.delete()

    def describe(self, step):
        return describe_switch(step)

    def view(self, state):
        return view_switch(state) or {}

    def result(self, after):
        return dict(switch=view_switch(after))

    def close(self):
        if self.db is not None:
            self.db.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            subnet=dict(type="str"),
            ports=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                addresses=dict(type="list", elements="str", default=[]),
                port_security=dict(type="list", elements="str"),
                external_ids=dict(type="dict", default={}),
                options=dict(type="dict", default={}),
            )),
            acls=dict(type="list", elements="dict", default=[], options=dict(
                direction=dict(type="str", required=True, choices=["from-lport", "to-lport"]),
                priority=dict(type="int", required=True),
                match=dict(type="str", required=True),
                action=dict(type="str", required=True, choices=["allow", "allow-related", "allow-stateless", "drop", "reject"]),
                name=dict(type="str"),
            )),
            exclusive=dict(type="bool", default=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="str", default="sb", choices=["none", "sb", "hv"]),
            nb=dict(type="str", default=_ovsdb.NB_REMOTE),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _ovsdb.HAS_OVS, "ovs (python-ovs)", _ovsdb.OVS_IMPORT_ERROR)
    _converge.run(module, LogicalSwitch)


if __name__ == "__main__":
    main()
