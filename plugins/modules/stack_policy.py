#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_policy
short_description: Admit only the declared sources to the stack's service ports, with nftables, in every mode
version_added: 0.1.0
description:
  - Keeps one nftables table of this collection (O(table), in the C(inet) and C(bridge) families) equal to
    O(rules). Each rule names a service's endpoints (address and port) and the only sources that may reach them;
    any other packet to an endpoint is dropped.
  - The C(bridge) table's C(forward) chain sees frames a Linux bridge forwards between its ports (container to
    container on C(docker0) or a user's bridge, and what a tunnel or an Open vSwitch patch brings onto it); the
    C(inet) table's C(forward) chain sees what the host routes to a container (after Docker's DNAT of a published
    port) and its C(input) chain what reaches the host itself (a published port's C(docker-proxy)).
  - The chains only drop. A drop in any base chain is final in netfilter, so the table adds to the host's own
    policy (Docker's C(DOCKER-USER) and C(icc=false), a firewall of the user's) and never weakens it; nothing of
    Docker's or the user's tables is read or changed.
  - Read and written through nft's JSON interface (C(nft -j)), as one transaction, so a packet never meets a
    half-made policy. Whatever else is found in the table (a rule or chain added by hand) is replaced.
  - Traffic that never enters netfilter is not seen - between ports of one Open vSwitch bridge, or between
    macvlan devices of one parent; OVN mode filters its switch with ACLs instead (M(encompass.netlab.ovn_switch)).
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
  rules:
    description:
      - One rule per service. An empty list, with O(state=present), leaves the tables with no rule.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The service (it names the rule, by its comment C(encompass.netlab NAME PROTOCOL)).
        type: str
        required: true
      endpoints:
        description:
          - The service's addresses and ports. A rule without endpoints (a service that does not run on this host)
            is not made.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description: An IPv4 address of the service (a container's, or the host address a port is published on).
            type: str
            required: true
          port:
            description: The port at that address.
            type: int
            required: true
          protocol:
            description: The transport protocol.
            type: str
            choices: [tcp, udp]
            default: tcp
      sources:
        description:
          - The IPv4 addresses that may reach the endpoints; an empty list lets nothing reach them.
          - Left out (null), the sources the table's rule of this name holds now are kept - for a run that cannot
            see the source's host (a C(--limit) that leaves it out); where there is no such rule yet, the rule is
            not made and RV(rules_not_made) says so.
        type: list
        elements: str
  state:
    description: V(absent) deletes the tables.
    type: str
    choices: [present, absent]
    default: present
  table:
    description: The name of the tables (in both families).
    type: str
    default: encompass_netlab
requirements:
  - nft (Debian package C(nftables)) on the host
notes:
  - Needs root (CAP_NET_ADMIN).
seealso:
  - module: encompass.netlab.veth_attach
  - module: encompass.netlab.ovn_switch
"""

EXAMPLES = r"""
- name: Only Tomcat reaches MongoDB and Elasticsearch
  encompass.netlab.stack_policy:
    rules:
      - name: mongodb
        endpoints:
          - {address: 172.17.0.3, port: 27017}
          - {address: 172.17.0.3, port: 27018}
        sources: [172.17.0.4]
      - name: elasticsearch
        endpoints:
          - {address: 172.17.0.2, port: 9200}
          - {address: 172.17.0.2, port: 9300}
        sources: [172.17.0.4]

- name: Remove the policy
  encompass.netlab.stack_policy:
    state: absent
"""

RETURN = r"""
tables:
  description:
    - The policy after the task (in check mode, as the real run would leave it), by family and chain; each rule with
      its name, protocol, endpoints (V(ADDRESS:PORT)) and sources. Empty when the tables do not exist.
  returned: always
  type: dict
  sample: {"bridge": {"forward": [{"name": "mongodb", "protocol": "tcp", "endpoints": ["172.17.0.3:27017"],
           "sources": ["172.17.0.4"]}]}}
rules_not_made:
  description: The rules not made because their sources were left out and the table held no rule of that name.
  returned: always
  type: list
  elements: str
changes:
  description: What the task changed or, in check mode, would change.
  returned: always
  type: list
  elements: str
  sample: ["write the policy table encompass_netlab (bridge, inet) with 2 rules in each chain"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (nft not installed yet on a fresh host).
  returned: in check mode, when something is pending
  type: list
  elements: str
"""

import json

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _nft
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, StepFailure


class Policy(Target):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.table = self.params["table"]
        if not _nft.NAME.match(self.table):
            raise InputError("stack_policy: table %r: %s" % (self.table, _nft.NAME_RULE))
        try:
            self.model = _nft.check_rules(self.params["rules"])
        except ValueError as exc:
            raise InputError("%s; nothing was changed" % exc) from None
        self.nft = module.get_bin_path("nft")
        self.not_made = []
        self.families = set()
        if self.nft is None and self.params["state"] == "absent":
            self.notes = []  # without nft there is no table to remove
        elif self.nft is None and module.check_mode:
            # A fresh host: the host role's apt task (simulated in check mode) installs nftables before this runs.
            self.notes = ["nft (Debian package nftables) is not installed yet; the real run writes the whole policy"]
        elif self.nft is None:
            raise InputError("stack_policy: nft is not installed on this host; install the Debian package nftables"
                             " (the role encompass.netlab.host does). Nothing was changed")

    def run_nft(self, args, data=None):
        rc, out, err = self.module.run_command([self.nft, "-j"] + args, data=data, binary_data=data is not None)
        if rc != 0:
            raise StepFailure("nft %s failed on table %s: %s; nothing of the policy was changed (one transaction)."
                              " Check that the kernel has nf_tables and that the task runs as root"
                              % (" ".join(args), self.table, (err or out).strip()))
        return json.loads(out) if out.strip() else {}

    def read(self):
        if self.nft is None:
            return {}
        tables = _nft.read_tables(self.run_nft(["list", "ruleset"]), self.table)
        self.families = set(tables)
        return tables

    def wanted(self, before):
        """The model with left-out sources taken from the table; rules without endpoints or sources dropped."""
        found = _nft.current_sources(before)
        model = {}
        for name, protocols in self.model.items():
            for protocol, rule in protocols.items():
                sources = rule["sources"]
                if sources is None:
                    sources = found.get((name, protocol))
                    if sources is None:
                        self.not_made.append("%s %s: its sources are unknown to this run and the table holds no rule for it"
                                             % (name, protocol))
                        continue
                if rule["endpoints"]:
                    model.setdefault(name, {})[protocol] = dict(endpoints=rule["endpoints"], sources=sources)
        return model

    def plan(self, before):
        if self.params["state"] == "absent":
            return [Step("delete", self.table, sorted(before))] if before else []
        model = self.wanted(before)
        if before == _nft.model_view(model):
            return []
        return [Step("write", self.table, model)]

    def predict(self, before, steps):
        if not steps:
            return before
        step = steps[0]
        return {} if step.kind == "delete" else _nft.model_view(step.detail)

    def apply(self, steps):
        step = steps[0]
        if step.kind == "delete":
            batch = _nft.render_delete(self.table, self.families)
        else:
            batch = _nft.render(self.table, step.detail, self.families)
        self.run_nft(["-f", "-"], data=json.dumps(batch))

    def settle(self, predicted):
        after = self.read()
        if after != predicted:
            raise StepFailure("table %s reads back as %s after the write, not as %s; report this with the output of"
                              " nft -j list ruleset" % (self.table, after, predicted))
        return after

    def describe(self, step):
        if step.kind == "delete":
            return "delete the policy table %s (%s)" % (self.table, ", ".join(step.detail))
        count = sum(len(protocols) for protocols in step.detail.values())
        return "write the policy table %s (bridge, inet) with %d rule%s in each chain: %s" % (
            self.table, count, "" if count == 1 else "s",
            "; ".join("%s %s to %d endpoint(s) from %s" % (name, protocol, len(rule["endpoints"]),
                                                           ", ".join(rule["sources"]) or "nothing")
                      for name, protocols in sorted(step.detail.items()) for protocol, rule in sorted(protocols.items()))
            or "none")

    def result(self, after):
        return dict(tables=after, rules_not_made=self.not_made)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                endpoints=dict(type="list", elements="dict", default=[], options=dict(
                    address=dict(type="str", required=True),
                    port=dict(type="int", required=True),
                    protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
                )),
                sources=dict(type="list", elements="str"),
            )),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            table=dict(type="str", default="encompass_netlab"),
        ),
        supports_check_mode=True,
    )
    _converge.run(module, Policy)


if __name__ == "__main__":
    main()
