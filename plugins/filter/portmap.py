# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ports the portmap mode publishes, as Docker takes them (pure logic)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def portmap_published(ports, addresses=None, bridge_address=""):
    """{service: ["[ADDRESS:]HOST:CONTAINER", ...]} for docker_container's published_ports.

    ports: service -> {container port: host port} (net_portmap_ports).
    addresses: service -> {container port: where} (net_portmap_addresses); where is an IPv4 address, `bridge`
      (bridge_address, docker0's) or `all` (every address: no address in the string). A port not named is on the bridge.
    bridge_address: docker0's address; empty before it is known (the plan), and the ports on it then have none.
    """
    if not isinstance(ports, dict) or [p for p in ports.values() if not isinstance(p, dict)]:
        raise AnsibleFilterError("portmap_published: want service -> {container port: host port}, got %r" % (ports,))
    addresses = addresses or {}
    if not isinstance(addresses, dict):
        raise AnsibleFilterError("portmap_published: want service -> {container port: address}, got %r" % (addresses,))
    published = {}
    for service, mapping in ports.items():
        given = addresses.get(service) or {}
        items = []
        for port, host_port in mapping.items():
            where = str(given.get(str(port), "bridge"))
            address = "" if where == "all" else (str(bridge_address or "") if where == "bridge" else where)
            items.append("%s%s:%s" % (address + ":" if address else "", host_port, port))
        published[service] = items
    return published


class FilterModule:
    def filters(self):
        return {"portmap_published": portmap_published}
