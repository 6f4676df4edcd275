# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Static addresses on a bridge whose subnet is only known once the bridge exists (pure logic)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError

# In a /16 or larger the addresses start at x.y.200.10 (172.17.200.10 on Docker's default docker0): far above what
# Docker's allocator hands out from the bottom of the range.
LARGE_BLOCK = 200 * 256 + 10


def static_addresses(subnet, names):
    """One address per name (in order) inside subnet, in CIDR form with the subnet's prefix: from x.y.200.10 in a
    /16 or larger, else the last usable addresses of the subnet (Docker assigns from the bottom).

    names: a list (the i-th name the i-th address), or name -> slot (its address the slot-th; service_view's slots,
    so that a replica added or removed moves no other container's address).
    """
    try:
        net = ipaddress.ip_interface(str(subnet)).network
    except ValueError:
        raise AnsibleFilterError("static_addresses: %r is not an address or network in CIDR form" % (subnet,)) from None
    if net.version != 4:
        raise AnsibleFilterError("static_addresses: %s is not IPv4" % net)
    slots = dict(names) if isinstance(names, dict) else {name: i for i, name in enumerate(names or [])}
    if not slots:
        raise AnsibleFilterError("static_addresses: no names to give addresses to")
    if [s for s in slots.values() if isinstance(s, bool) or not isinstance(s, int) or s < 0] \
            or len(set(slots.values())) != len(slots):
        raise AnsibleFilterError("static_addresses: want distinct slots 0 or more by name, got %r" % (slots,))
    size = max(slots.values()) + 1
    if net.num_addresses >= 2 ** 16:
        first = int(net.network_address) + LARGE_BLOCK
    else:
        first = int(net.broadcast_address) - size
        if first <= int(net.network_address) + 1:
            raise AnsibleFilterError("static_addresses: %s has no room for %d more addresses; use a larger subnet or give"
                                     " the addresses" % (net, size))
    if first + size > int(net.broadcast_address):
        raise AnsibleFilterError("static_addresses: %s has no room for %d addresses from %s; use a larger subnet or give"
                                 " the addresses" % (net, size, ipaddress.ip_address(first)))
    return {name: "%s/%d" % (ipaddress.ip_address(first + slot), net.prefixlen) for name, slot in slots.items()}


class FilterModule:
    def filters(self):
        return {"static_addresses": static_addresses}
