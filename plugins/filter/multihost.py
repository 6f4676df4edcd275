# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address and MTU planning for one L2 segment across Docker hosts (pure logic)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

# Bytes a tunnel adds to every frame it carries (outer IPv4 + tunnel header + inner Ethernet); OVN's Geneve
# carries an 8-byte option (the logical ports) on every packet.
OVERHEAD = {"gre": 38, "vxlan": 50, "geneve": 50, "ovn-geneve": 58}
GRE_KEY = 4


def tunnel_mtu(underlay_mtu, tunnel_type="gre", key=None):
    """The largest inner MTU a tunnel of this type carries over an underlay of underlay_mtu."""
    if tunnel_type not in OVERHEAD:
        raise AnsibleFilterError("tunnel_mtu: unknown tunnel type %r (want gre, vxlan, geneve or ovn-geneve)" % (tunnel_type,))
    try:
        underlay_mtu = int(underlay_mtu)
    except (TypeError, ValueError):
        raise AnsibleFilterError("tunnel_mtu: underlay MTU %r is not a number" % (underlay_mtu,)) from None
    mtu = underlay_mtu - OVERHEAD[tunnel_type] - (GRE_KEY if tunnel_type == "gre" and key is not None else 0)
    if mtu < 576:
        raise AnsibleFilterError("tunnel_mtu: an underlay MTU of %d leaves %d for containers; raise it" % (underlay_mtu, mtu))
    return mtu


def multihost_plan(hosts, supernet="172.18.0.0/16", host_prefix=24):
    """Per host: docker0's address and the container range, from a stable index, with no overlaps.

    hosts: {name: index} (index >= 1, stable: adding a host never renumbers the others).
    Host i gets docker0 = supernet's address i (all on one shared subnet, so every container sees
    every other directly) and containers from the i-th /host_prefix subnet; subnet 0 holds the docker0
    addresses, so container ranges never contain one.
    """
    try:
        net = ipaddress.ip_network(str(supernet), strict=True)
    except ValueError:
        raise AnsibleFilterError("multihost_plan: supernet %r is not a network in CIDR form (e.g. 172.18.0.0/16)" % (supernet,)) from None
    if net.version != 4:
        raise AnsibleFilterError("multihost_plan: supernet %s must be IPv4 (docker0's bip)" % net)
    host_prefix = int(host_prefix)
    if not net.prefixlen < host_prefix <= 30:
        raise AnsibleFilterError("multihost_plan: host_prefix %d must be longer than the supernet's /%d and at most 30"
                                 % (host_prefix, net.prefixlen))
    if not isinstance(hosts, dict) or not hosts:
        raise AnsibleFilterError("multihost_plan: want a non-empty dict of host name to index")
    slots = 2 ** (host_prefix - net.prefixlen) - 1  # subnet 0 is docker0's
    first_subnet_size = 2 ** (32 - host_prefix)
    if len(hosts) > slots:
        raise AnsibleFilterError("multihost_plan: %s has room for %d hosts with /%d each, not %d; use a larger supernet"
                                 " or a longer host_prefix" % (net, slots, host_prefix, len(hosts)))
    seen = {}
    plan = {}
    for name, index in sorted(hosts.items(), key=lambda kv: str(kv[0])):
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise AnsibleFilterError("multihost_plan: host %s has index %r, not a number" % (name, index)) from None
        if not 1 <= index <= min(slots, first_subnet_size - 2):
            raise AnsibleFilterError("multihost_plan: host %s has index %d, out of range 1 to %d for %s with /%d per host"
                                     % (name, index, min(slots, first_subnet_size - 2), net, host_prefix))
        if index in seen:
            raise AnsibleFilterError("multihost_plan: hosts %s and %s both have index %d; give each host its own"
                                     % (seen[index], name, index))
        seen[index] = name
        subnet = ipaddress.ip_network((int(net.network_address) + index * first_subnet_size, host_prefix))
        plan[name] = {
            "index": index,
            "bip": "%s/%d" % (net.network_address + index, net.prefixlen),
            "fixed_cidr": str(subnet),
        }
    return plan


def host_indexes(members, given=None, recorded=None):
    """A stable index (1 or more) for every host of a segment, the same in every run, limited or not.

    members: the segment's hosts (the inventory's, not only the hosts a --limit leaves in the play).
    given: host -> index from the inventory (0 or None: none given).
    recorded: the index maps the hosts of this run recorded earlier (each host records the whole segment's);
      a host's own record counts first.
    A given index wins; else the recorded one; a host that has neither takes the lowest index nobody holds, in
    sorted order (so a fresh segment is numbered by position, as before records existed). Fails when a given index
    is another host's, given or recorded: renumbering a host renumbers its containers.
    """
    if not isinstance(members, (list, tuple)) or not members:
        raise AnsibleFilterError("host_indexes: want a non-empty list of the segment's hosts")
    members = sorted(set(str(m) for m in members))
    given = {str(h): i for h, i in (given or {}).items()}
    indexes, owner = {}, {}
    for host in members:
        value = given.get(host)
        if value in (None, "", 0, "0"):
            continue
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise AnsibleFilterError("host_indexes: host %s has index %r, not a number" % (host, value)) from None
        if value < 1:
            raise AnsibleFilterError("host_indexes: host %s has index %d; indexes start at 1" % (host, value))
        if value in owner:
            raise AnsibleFilterError("host_indexes: hosts %s and %s both have index %d; give each host its own"
                                     % (owner[value], host, value))
        indexes[host], owner[value] = value, host
    known = {}
    for entry in recorded or []:
        own, plan = (entry.get("host"), entry.get("indexes")) if isinstance(entry, dict) and "indexes" in entry else (None, entry)
        for host, value in sorted((plan or {}).items(), key=lambda kv: (kv[0] != own, kv[0])):
            try:
                value = int(value)
            except (TypeError, ValueError):
                continue
            if value >= 1 and (host == own or host not in known):
                known[host] = value
    for host in members:
        if host in indexes or host not in known:
            continue
        value = known[host]
        if value in owner:
            raise AnsibleFilterError("host_indexes: host %s is recorded with index %d, which host %s now has; give %s"
                                     " another index (or set %s's to %d)" % (host, value, owner[value], owner[value], host, value))
        indexes[host], owner[value] = value, host
    # A host that left the segment keeps its index reserved until every record has forgotten it.
    reserved = set(owner) | {v for h, v in known.items() if h not in members}
    free = (i for i in range(1, len(members) + len(reserved) + 2) if i not in reserved)
    for host in members:
        if host not in indexes:
            indexes[host] = next(free)
    return indexes


def stack_placement(members, services, overrides=None, variable="placement", spread=None):
    """Which host of a segment runs each service's container: the overrides where given, else by position.

    members: the segment's hosts, in the order positions count (the sorted inventory).
    services: the services, in the stack's order; service i runs on host i, or on the first host when there are
      fewer hosts than services (so the seed's MongoDB, Elasticsearch and Tomcat take the first three hosts). Given
      the stack's containers (service_replicas: entry -> {replica_of, replica, ...}), replica k of a service runs
      k - 1 hosts after its first container, round the segment.
    overrides: service -> host, for some or all services (or replicas, S-k).
    variable: the name the overrides were given under, for the error message.
    spread: service -> the hosts its containers take in turn (stack_hosts), for some or all services.
    Fails, naming the variable, on a service the stack does not have or a host outside the segment.
    """
    if not isinstance(members, (list, tuple)) or not members:
        raise AnsibleFilterError("stack_placement: want a non-empty list of the segment's hosts")
    members = [str(m) for m in members]
    instances = services if isinstance(services, dict) else {str(s): {} for s in (services or [])}
    if not instances:
        raise AnsibleFilterError("stack_placement: want the list of the stack's services")
    services = [str(s) for s in instances]
    overrides = {} if overrides in (None, "") else overrides
    if not isinstance(overrides, dict):
        raise AnsibleFilterError("stack_placement: %s must map services to hosts, got %r. Nothing was changed."
                                 % (variable, overrides))
    spread = {} if spread in (None, "") else spread
    owners = {str((spec or {}).get("replica_of", s)) for s, spec in instances.items()}
    if not isinstance(spread, dict) or [h for h in spread.values() if not isinstance(h, list) or not h] \
            or [s for s in spread if str(s) not in owners] \
            or [h for hosts in spread.values() for h in hosts if str(h) not in members]:
        raise AnsibleFilterError(
            "stack_hosts must map services of the stack (%s) to lists of hosts of the inventory (%s), got %r. Nothing"
            " was changed." % (", ".join(sorted(owners)), ", ".join(members), spread))
    placement = {}
    first = {}
    for index, service in enumerate(services):
        spec = instances[service] or {}
        owner = str(spec.get("replica_of", service))
        k = int(spec.get("replica", 1))
        if owner in spread:
            hosts = [str(h) for h in spread[owner]]
            placement[service] = hosts[(k - 1) % len(hosts)]
        elif k == 1:
            placement[service] = members[index] if index < len(members) else members[0]
        else:
            placement[service] = members[(members.index(first[owner]) + k - 1) % len(members)]
        if service in overrides and str(overrides[service]) in members:
            placement[service] = str(overrides[service])
        first.setdefault(owner, placement[service])
    unknown = sorted(str(s) for s in overrides if str(s) not in placement)
    outside = sorted(str(h) for h in overrides.values() if str(h) not in members)
    if unknown or outside:
        raise AnsibleFilterError(
            "%s must map %s to hosts of the inventory (%s); got %s: %s. Nothing was changed."
            % (variable, ", ".join(services), ", ".join(members), overrides,
               "; ".join((["%s not a service of the stack" % ", ".join(unknown)] if unknown else [])
                         + (["%s not a host of the inventory" % ", ".join(outside)] if outside else []))))
    placement.update((str(s), str(h)) for s, h in overrides.items())
    return placement


class FilterModule:
    def filters(self):
        return {"host_indexes": host_indexes, "multihost_plan": multihost_plan,
                "stack_placement": stack_placement, "tunnel_mtu": tunnel_mtu}
