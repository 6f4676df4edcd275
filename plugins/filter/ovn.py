# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address planning for the stack's containers on one OVN logical switch (pure logic)."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import stack_addresses
from ansible_collections.encompass.netlab.plugins.module_utils._veth import default_mac

# The first service's place in its host's block; each next service (the stack's order) takes the next one.
FIRST_OFFSET = 10


def ovn_addresses(placement, indexes, subnet="172.29.0.0/16", host_prefix=24, offsets=None, slots=None):
    """{service: {address: CIDR, mac: MAC}} for the services placed on hosts with stable indexes.

    placement: service -> host, in the stack's order (stack_services'): the i-th service has offset 10 + i in its
    host's block (the seed's MongoDB 10, Elasticsearch 11, Tomcat 12), unless offsets gives it one.
    slots: service -> its slot (service_view's slots): offset 10 + slot instead of its position, so that a replica
    added or removed moves no other container's address.
    """
    if not isinstance(placement, dict):
        raise AnsibleFilterError("ovn_addresses: want the placement, service to host, got %r" % (placement,))
    slots = slots or {}
    offsets = dict({service: FIRST_OFFSET + int(slots.get(service, i)) for i, service in enumerate(placement)},
                   **(offsets or {}))
    try:
        taken = {}
        for service in placement:
            if offsets[service] in taken:
                raise InputError("%s and %s have the same address offset %s" % (taken[offsets[service]], service, offsets[service]))
            taken[offsets[service]] = service
        missing = sorted(set(placement.values()) - set(indexes))
        if missing:
            raise InputError("no index for host %s" % ", ".join(missing))
        planned = stack_addresses(placement, {h: int(i) for h, i in indexes.items()}, str(subnet), int(host_prefix), offsets)
    except (InputError, ValueError) as exc:
        raise AnsibleFilterError("ovn_addresses: %s" % exc) from None
    return {service: {"address": cidr, "mac": default_mac(cidr)} for service, cidr in planned.items()}


def ovn_switch(addresses, switch, containers, placement=None, policy=None, probe_port=None):
    """The stack's logical switch as one plan: its ports, its ACLs and each host's attachments.

    addresses: service -> {address, mac} (ovn_addresses), in the stack's order.
    switch: the switch's name; service S's port is <switch>-S.
    containers: service -> container name (stack_containers), in the stack's order.
    placement: service -> inventory host; attachments lists, by host, what veth_attach attaches there.
    policy: service -> {ports, sources} (stack_policy_services): only the sources reach a service's ports.
    probe_port: the TCP port the stack's containers reach each other on (verify's transfer), besides ICMP.
    Returns {ports: [{name, addresses, external_ids, options}] (options: requested-chassis, the host placed on), acls: [{direction, priority, action, match}],
    attachments: {host: [{container, address, mac, external_ids}]}}.
    """
    if not isinstance(addresses, dict) or not isinstance(containers, dict):
        raise AnsibleFilterError("ovn_switch: want the planned addresses and the containers, by service")
    unknown = sorted(set(addresses) - set(containers))
    if unknown:
        raise AnsibleFilterError("ovn_switch: %s has an address but no container" % ", ".join(unknown))
    names = {service: "%s-%s" % (switch, service) for service in containers}
    ips = {service: str(planned["address"]).split("/", 1)[0] for service, planned in addresses.items()}
    # Only the chassis of the host a container is placed on binds its port (the chassis are named after the inventory
    # hosts): an interface left on a host the container moved away from never claims it.
    ports = [dict({"name": names[service], "addresses": ["%s %s" % (planned["mac"], ips[service])],
                   "external_ids": {"encompass-netlab-container": containers[service]}},
                  **({"options": {"requested-chassis": str(placement[service])}} if service in (placement or {}) else {}))
             for service, planned in addresses.items()]
    acls = []
    for service, rule in sorted((policy or {}).items()):
        if service not in names:
            continue
        sources = [ips[source] for source in rule.get("sources", []) if source in ips]
        acls.append({"direction": "to-lport", "priority": 1001, "action": "allow-related",
                     "match": 'outport == "%s" && ip4.src == %s && tcp.dst == {%s}' % (
                         names[service], sources[0] if len(sources) == 1 else "{%s}" % ", ".join(sources),
                         ", ".join(str(port) for port in rule.get("ports", [])))})
    every_port = "{%s}" % ", ".join(json.dumps(name) for name in names.values())
    acls.append({"direction": "to-lport", "priority": 1001, "action": "allow-related",
                 "match": "outport == %s && ip4.src == {%s} && (icmp4 || tcp.dst == %s)" % (
                     every_port, ", ".join(ips.values()), probe_port)})
    acls.append({"direction": "to-lport", "priority": 1000, "action": "drop", "match": "outport == %s && ip" % every_port})
    attachments = {}
    for service, host in (placement or {}).items():
        if service in addresses:
            attachments.setdefault(str(host), []).append({
                "container": containers[service], "address": addresses[service]["address"], "mac": addresses[service]["mac"],
                "external_ids": {"iface-id": names[service]}})
    return {"ports": ports, "acls": acls, "attachments": attachments}


def ovn_hosts(names, underlay_ips, indexes, centrals):
    """Each host of the segment -> {underlay_ip, index, central}, from its inventory variables.

    names: the segment's hosts. underlay_ips and indexes: one pair a host, in names' order, [the ovn variable, the
    multihost one] (net_ovn_underlay_ip else net_multihost_underlay_ip; net_ovn_index else net_multihost_index): the
    first that is set wins ('' and 0 when neither is). centrals: net_ovn_central of each host ('' when unset).
    """
    if not all(isinstance(x, list) and len(x) == len(names or []) for x in (underlay_ips, indexes, centrals)) \
            or not isinstance(names, list):
        raise AnsibleFilterError("ovn_hosts: give the hosts' names and, in their order, their underlay addresses,"
                                 " indexes and central flags")
    out = {}
    for name, given_ips, given_indexes, central in zip(names, underlay_ips, indexes, centrals):
        out[name] = {"underlay_ip": next((ip for ip in given_ips if ip), ""),
                     "index": next((index for index in given_indexes if index), 0), "central": central or ""}
    return out


class FilterModule:
    def filters(self):
        return {"ovn_addresses": ovn_addresses, "ovn_hosts": ovn_hosts, "ovn_switch": ovn_switch}
