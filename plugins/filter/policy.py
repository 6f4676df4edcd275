# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's network policy for one host, from what the hosts read of themselves (pure logic): the rules the module
encompass.netlab.stack_policy keeps on that host."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError


def _ipv4(addresses):
    """The IPv4 addresses (no prefix) of a list of CIDR addresses, in order, without repeats."""
    out = []
    for text in addresses or []:
        try:
            address = ipaddress.ip_interface(str(text)).ip
        except ValueError:
            continue
        if address.version == 4 and not address.is_loopback and str(address) not in out:
            out.append(str(address))
    return out


def _container_addresses(read, name, segment=None):
    """Every IPv4 address of the container name in a netlab_info read (None: the read has no such running container).

    segment: the mode's planned addresses ({interface, addresses: {container name: CIDR}}): a container the plan gives
    an address on that interface has that address there, whatever the read shows (check mode reads the containers
    before the run moves them; a real run reads them after, when both agree)."""
    segment = segment or {}
    planned = (segment.get("addresses") or {}).get(name)
    interface = segment.get("interface")
    for container in (read or {}).get("containers") or []:
        if container.get("name") == name and container.get("state") == "running":
            addresses = [a for iface in container.get("interfaces") or [] if not planned or iface.get("name") != interface
                         for a in iface.get("addresses") or []]
            return _ipv4(addresses + ([planned] if planned else []))
    return None


def _host_addresses(read):
    """Every IPv4 address of the host itself (its interfaces and its Linux bridges, docker0 among them)."""
    links = list((read or {}).get("host_interfaces") or []) + list((read or {}).get("linux_bridges") or [])
    return _ipv4([a for link in links for a in link.get("addresses") or []])


def _published(spec):
    """(host address or None for every address, host port, container port) of a Docker port spec
    [ADDRESS:]HOSTPORT:CONTAINERPORT[/tcp]; None for a spec that publishes no fixed host port."""
    spec = str(spec)
    if spec.endswith("/udp"):
        return None
    parts = spec[:-4].split(":") if spec.endswith("/tcp") else spec.split(":")
    if len(parts) == 2:
        address, host_port, container_port = None, parts[0], parts[1]
    elif len(parts) == 3:
        address, host_port, container_port = parts[0] or None, parts[1], parts[2]
    else:
        return None
    if address in ("0.0.0.0", "::"):
        address = None
    try:
        return address, int(host_port), int(container_port)
    except ValueError:
        return None


def _check(services, placement, containers):
    if not isinstance(services, dict):
        raise AnsibleFilterError("policy_rules: the services must be a mapping of service to {ports, sources}, got %r"
                                 % (services,))
    for name, service in services.items():
        if not isinstance(service, dict):
            raise AnsibleFilterError("policy_rules: service %s must be a mapping with ports and sources, got %r" % (name, service))
        ports = service.get("ports")
        if not isinstance(ports, list) or not ports or not all(
                isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports):
            raise AnsibleFilterError("policy_rules: service %s: ports must be a list of port numbers (1 to 65535), got %r"
                                     % (name, ports))
        sources = service.get("sources")
        if not isinstance(sources, list):
            raise AnsibleFilterError("policy_rules: service %s: sources must be a list of services, got %r" % (name, sources))
        for known in [name] + sources:
            if known not in containers or known not in placement:
                raise AnsibleFilterError("policy_rules: service %s names %s, which is not one of the stack's services (%s)"
                                         % (name, known, ", ".join(sorted(containers))))


def policy_rules(services, host, reads, placement, containers, published=None, segment=None):
    """The rules of encompass.netlab.stack_policy for host.

    services: {service: {ports: [int], sources: [service]}}, the services that only their sources may reach;
    reads: {inventory host: netlab_info result} of the hosts in the play (a host left out by --limit has none);
    placement: {service: inventory host}; containers: {service: container name};
    published: {service: ["[ADDRESS:]HOSTPORT:CONTAINERPORT", ...]}, the ports published on the service's host;
    segment: stack_wiring.segment, whose planned addresses stand for what the reads show on its interface.

    A service that runs on host gets its container's addresses (every interface) and the host addresses its ports are
    published on as endpoints; its sources are the addresses of the source services' containers, wherever they run.
    Sources on a host the play leaves out are unknown: the rule then has sources None (the module keeps the ones the
    host's table holds). A service that runs elsewhere gets no endpoints here (the module makes no rule for it)."""
    _check(services, placement, containers)
    reads = reads or {}
    published = published or {}
    rules = []
    for name in sorted(services):
        service = services[name]
        endpoints = []
        if placement[name] == host:
            addresses = _container_addresses(reads.get(host), containers[name], segment) or []
            for port in service["ports"]:
                endpoints += [{"address": a, "port": port} for a in addresses]
            for spec in published.get(name) or []:
                parsed = _published(spec)
                if parsed is None or parsed[2] not in service["ports"]:
                    continue
                on = [parsed[0]] if parsed[0] else _host_addresses(reads.get(host))
                endpoints += [{"address": a, "port": parsed[1]} for a in _ipv4(on)]
        sources = []
        for source in service["sources"]:
            if placement[source] not in reads:
                sources = None
                break
            found = _container_addresses(reads[placement[source]], containers[source], segment) or []
            sources += [a for a in found if a not in sources]
        unique = []
        for endpoint in endpoints:
            if endpoint not in unique:
                unique.append(endpoint)
        rules.append({"name": name, "endpoints": unique, "sources": sources})
    return rules


def policy_missing(services, host, reads, placement, containers):
    """The containers this host's rules depend on (its services' and their sources', on any host of the play) that the
    reads do not show running: check mode, before the real run makes them, cannot know their addresses."""
    _check(services, placement, containers)
    reads = reads or {}
    names = set()
    for name, service in services.items():
        if placement[name] == host:
            names |= {name} | set(service["sources"])
    return sorted(containers[n] for n in names
                  if placement[n] in reads and _container_addresses(reads[placement[n]], containers[n]) is None)


class FilterModule:
    def filters(self):
        return {"policy_rules": policy_rules, "policy_missing": policy_missing}
