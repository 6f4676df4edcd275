#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ovn_sb_chassis
short_description: Keep only the listed chassis of this collection in the OVN southbound database
version_added: 0.1.0
description:
  - Removes from the southbound database every chassis that M(encompass.netlab.ovn_chassis) set up (the token
    C(encompass-netlab) in its C(ovn-cms-options)) and that is not listed in O(keep), with its C(Encap) and
    C(Chassis_Private) rows, as C(ovn-sbctl chassis-del) does; other chassis are never touched.
  - Other chassis stop sending to a removed one at once; its tunnels go from every other host.
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
  keep:
    description: The chassis names (C(system-id)) that stay, normally the hosts of the play.
    type: list
    elements: str
    required: true
  sb:
    description: The southbound database (V(unix:PATH), V(tcp:HOST:PORT), V(ssl:HOST:PORT)).
    type: str
    default: unix:/var/run/ovn/ovnsb_db.sock
  timeout:
    description: Seconds to wait for the database.
    type: int
    default: 10
requirements:
  - ovs (python-ovs)
notes:
  - A removed host that still runs C(ovn-controller) registers again; stop it or take the host down.
seealso:
  - module: encompass.netlab.ovn_chassis
"""

EXAMPLES = r"""
- name: The chassis of hosts no longer in the play leave the overlay
  encompass.netlab.ovn_sb_chassis:
    keep: "{{ ansible_play_hosts_all }}"
  delegate_to: "{{ ovn_central_host }}"
  run_once: true
"""

RETURN = r"""
chassis:
  description: This collection's chassis in the southbound database after the task, by name, with their encapsulations.
  returned: always
  type: dict
  sample: {docker1: [geneve 10.99.0.11], docker2: [geneve 10.99.0.12]}
changes:
  description: The chassis removed or, in check mode, that would be.
  returned: always
  type: list
  elements: str
  sample: ["remove chassis docker3 (geneve 10.99.0.13)"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["the southbound database is not reachable yet: no chassis to remove can be known"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import CMS_TOKEN, name


def ours(row):
    options = ",".join(getattr(row, column).get("ovn-cms-options", "") for column in ("other_config", "external_ids"))
    return CMS_TOKEN in options.split(",")


class SouthboundChassis(Target):
    def __init__(self, module):
        self.params = module.params
        self.keep = [name(value, "keep") for value in self.params["keep"]]
        self.db = _converge.pending_in_check_mode(
            module, self, "the southbound database is not reachable yet: no chassis to remove can be known",
            lambda: _ovsdb.Ovsdb(self.params["sb"], self.params["timeout"], database="OVN_Southbound"))

    def read(self):
        if self.db is None:
            return {}
        return {row.name: sorted("%s %s" % (e.type, e.ip) for e in row.encaps) for row in self.db.rows("Chassis") if ours(row)}

    def plan(self, before):
        return [Step("del-chassis", chassis, {"encaps": encaps}) for chassis, encaps in sorted(before.items()) if chassis not in self.keep]

    def predict(self, before, steps):
        gone = {s.name for s in steps}
        return {k: v for k, v in before.items() if k not in gone}

    def apply(self, steps):
        gone = {s.name for s in steps}

        def build(txn, idl):
            del txn, idl
            for row in self.db.rows("Chassis_Private"):
                if row.name in gone:
                    row.delete()
            for row in self.db.rows("Chassis"):
                if row.name in gone:
                    for encap in list(row.encaps):
                        encap.delete()
                    row.delete()

        self.db.transact(build, wait=False)

    def describe(self, step):
        return "remove chassis %s (%s)" % (step.name, ", ".join(step.detail["encaps"]) or "no encapsulation")

    def result(self, after):
        return dict(chassis=after)

    def close(self):
        if self.db is not None:
            self.db.close()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            keep=dict(type="list", elements="str", required=True),
            sb=dict(type="str", default=_ovsdb.SB_REMOTE),
            timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _ovsdb.HAS_OVS, "ovs (python-ovs)", _ovsdb.OVS_IMPORT_ERROR)
    _converge.run(module, SouthboundChassis)


if __name__ == "__main__":
    main()
