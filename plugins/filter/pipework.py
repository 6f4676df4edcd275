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
    /16 or larger, else the last usable addresses of the subnet (Docker assigns from the bottom)."""
    try:
        net = ipaddress.ip_interface(str(subnet)).network
    except ValueError:
        raise AnsibleFilterError("static_addresses: %r is not an address or network in CIDR form" % (subnet,)) from None
    if net.version != 4:
        raise AnsibleFilterError("static_addresses: %s is not IPv4" % net)
    names = list(names or [])
    if not names:
        raise AnsibleFilterError("static_addresses: no names to give addresses to")
    if net.num_addresses >= 2 ** 16:
        first = int(net.network_address) + LARGE_BLOCK
    else:
        first = int(net.broadcast_address) - len(names)
        if first <= int(net.network_address) + 1:
            raise AnsibleFilterError("static_addresses: %s has no room for %d more addresses; use a larger subnet or give"
                                     " the addresses" % (net, len(names)))
    return {name: "%s/%d" % (ipaddress.ip_address(first + i), net.prefixlen) for i, name in enumerate(names)}


class FilterModule:
    def filters(self):
        return {"static_addresses": static_addresses}
