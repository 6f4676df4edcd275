#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovn_sb_connection
short_description: Declare where the OVN southbound database listens for the chassis, and with which role
version_added: 0.1.0
description:
  - Keeps the southbound database's listeners (C(Connection) rows of C(SB_Global)) this collection made equal to
    O(listeners), through the OVSDB protocol (python-ovs) on the central's unix socket, as
    C(ovn-sbctl set-connection) does, and never touches a listener it did not make.
  - A listener with a role (V(ovn-controller), the default) gets OVSDB's role-based access control, so that a
    chassis's certificate, whose common name is its C(system-id), may change only that chassis's own rows.
  - After a change, waits until C(ovsdb-server) reports each listener bound, and fails naming the listener and
    the server's error when it cannot listen (a missing certificate, an address the host does not have).
  - The database server must have been started with C(--remote=db:OVN_Southbound,SB_Global,connections)
    (C(ovn-ctl)'s default) and, for V(pssl:) listeners, with its private key, certificate and CA certificate.
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
  listeners:
    description:
      - Every listener this collection keeps; an empty list removes all it made.
    type: list
    elements: dict
    required: true
    suboptions:
      target:
        description:
          - Where to listen, as C(ovsdb-server) writes it (V(pssl:PORT:ADDRESS), V(ptcp:PORT:ADDRESS)).
        type: str
        required: true
      role:
        description:
          - The RBAC role of clients connecting here; V("") for none (full access, not for chassis).
        type: str
        default: ovn-controller
      inactivity_probe:
        description: Milliseconds of silence before the server probes a client (0 turns probes off).
        type: int
  sb:
    description: The southbound database (V(unix:PATH)).
    type: str
    default: unix:/var/run/ovn/ovnsb_db.sock
  timeout:
    description: Seconds to wait for the database, and for a listener to be bound.
    type: int
    default: 10
requirements:
  - ovs (python-ovs)
seealso:
  - module: encompass.netlab.ovn_chassis
  - module: encompass.netlab.ovn_sb_chassis
"""

EXAMPLES = r"""
- name: The chassis reach the southbound database over SSL on the underlay only, as ovn-controller
  encompass.netlab.ovn_sb_connection:
    listeners:
      - target: pssl:6642:10.99.0.11
        role: ovn-controller

- name: Remove the listeners this collection made
  encompass.netlab.ovn_sb_connection:
    listeners: []
"""

RETURN = r"""
listeners:
  description: The listeners this collection made, after the task, by target.
  returned: always
  type: dict
  sample: {"pssl:6642:10.99.0.11": {"role": "ovn-controller", "inactivity_probe": null}}
changes:
  description: The listeners added, changed or removed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["add listener pssl:6642:10.99.0.11 (role ovn-controller)"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, StepFailure

MANAGER = "ovn_sb_connection"
TARGET = re.compile(r"^p(ssl|tcp):[0-9]{1,5}(:[0-9A-Fa-f.:\[\]]+)?$")


def wanted(params):
    out = {}
    for item in params["listeners"]:
        target = item["target"]
        if not TARGET.match(target) or not 0 < int(target.split(":")[1]) < 65536:
            raise InputError("listener %s: target must be pssl:PORT[:ADDRESS] or ptcp:PORT[:ADDRESS] with a port 1 to"
                             " 65535" % target)
        if target in out:
            raise InputError("listener %s is listed twice; list each target once" % target)
        out[target] = dict(role=item["role"], inactivity_probe=item["inactivity_probe"])
    return out


class Connections(Target):
    def __init__(self, module):
        self.params = module.params
        self.want = wanted(self.params)
        self.db = _converge.pending_in_check_mode(
            module, self, "the southbound database is not reachable yet: the run adds every listener once it runs",
            lambda: _ovsdb.Ovsdb(self.params["sb"], self.params["timeout"], database="OVN_Southbound"))

    def ours(self):
        return [row for row in self.db.rows("Connection") if row.external_ids.get(_ovsdb.MANAGED_BY) == MANAGER]

    def read(self):
        if self.db is None:
            return {}
        return {row.target: dict(role=row.role, inactivity_probe=_ovsdb.single(row.inactivity_probe)) for row in self.ours()}

    def plan(self, before):
        steps = [Step("del-listener", target, state) for target, state in sorted(before.items()) if target not in self.want]
        for target, state in sorted(self.want.items()):
            if target not in before:
                steps.append(Step("add-listener", target, state))
            elif before[target] != state:
                steps.append(Step("set-listener", target, state))
        return steps

    def predict(self, before, steps):
        return dict(self.want)

    def apply(self, steps):
        by_target = {row.target: row for row in self.ours()}

        def build(txn, idl):
            root = self.db.root()
            for step in steps:
                if step.kind == "del-listener":
                    root.delvalue("connections", by_target[step.name])
                    by_target[step.name].delete()
                    continue
                row = txn.insert(idl.tables["Connection"]) if step.kind == "add-listener" else by_target[step.name]
                row.target = step.name
                row.role = step.detail["role"]
                row.inactivity_probe = [] if step.detail["inactivity_probe"] is None else [step.detail["inactivity_probe"]]
                if step.kind == "add-listener":
                    row.external_ids = {_ovsdb.MANAGED_BY: MANAGER}
                    root.addvalue("connections", row)

        self.db.transact(build, wait=False)
        self.wait_bound([s.name for s in steps if s.kind != "del-listener"])

    def wait_bound(self, targets):
        """ovsdb-server writes a listener's status (bound_port, or last_error) a moment after the change."""
        deadline = time.monotonic() + self.params["timeout"]
        while targets:
            self.db.idl.run()
            rows = {row.target: row for row in self.ours()}
            status = {t: dict(rows[t].status) if t in rows else {} for t in targets}
            errors = {t: s["last_error"] for t, s in status.items() if s.get("last_error") and not s.get("bound_port")}
            if errors:
                raise StepFailure("; ".join("the southbound database cannot listen on %s: %s" % (t, e) for t, e in sorted(errors.items()))
                                  + "; check the central's key and certificates (ovn-ctl --ovn-sb-db-ssl-*) and that the address"
                                  " is the host's. The listener stays in the database until the next run replaces it")
            if all(s.get("bound_port") for s in status.values()):
                return
            if time.monotonic() > deadline:
                raise StepFailure("the southbound database did not report %s bound after %d s; check that ovsdb-server"
                                  " runs with --remote=db:OVN_Southbound,SB_Global,connections (ovn-ctl's default)"
                                  % (", ".join(t for t, s in sorted(status.items()) if not s.get("bound_port")), self.params["timeout"]))
            _ovsdb._poll(self.db.idl, 200)  # pylint: disable=protected-access

    def describe(self, step):
        role = step.detail["role"]
        what = "role %s" % role if role else "no role: full access"
        if step.kind == "add-listener":
            return "add listener %s (%s)" % (step.name, what)
        if step.kind == "set-listener":
            return "set listener %s to %s, inactivity probe %s" % (step.name, what, step.detail["inactivity_probe"])
        return "remove listener %s" % step.name

    def result(self, after):
        return dict(listeners=after)

    def close(self):
        if self.db is not None:
            self.db.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            listeners=dict(type="list", elements="dict", required=True, options=dict(
                target=dict(type="str", required=True),
                role=dict(type="str", default="ovn-controller"),
                inactivity_probe=dict(type="int"),
            )),
            sb=dict(type="str", default=_ovsdb.SB_REMOTE),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _ovsdb.HAS_OVS, "ovs (python-ovs)", _ovsdb.OVS_IMPORT_ERROR)
    _converge.run(module, Connections)


if __name__ == "__main__":
    main()
