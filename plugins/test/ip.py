# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress


def ip_interface(value, version=None):
    """True for an address with a prefix length (C(172.18.0.1/16)); a network address is not one."""
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        return False
    if version is not None and iface.version != int(version):
        return False
    # A network or (IPv4) broadcast address cannot be given to an interface.
    if iface.network.prefixlen < iface.max_prefixlen - 1 and iface.ip in (iface.network.network_address, iface.network.broadcast_address):
        return False
    return True


def ip_network(value, version=None):
    """True for a network in CIDR form with no host bits set (C(172.18.1.0/24))."""
    if not isinstance(value, str) or "/" not in value:
        return False
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return version is None or net.version == int(version)


def ip_subnet_of(value, supernet):
    """True when the network value lies inside supernet (both in CIDR form; host bits ignored)."""
    try:
        inner = ipaddress.ip_network(value, strict=False)
        outer = ipaddress.ip_network(supernet, strict=False)
    except (TypeError, ValueError):
        return False
    return inner.version == outer.version and inner.subnet_of(outer)


class TestModule:
    def tests(self):
        return {
            "ip_interface": ip_interface,
            "ip_network": ip_network,
            "ip_subnet_of": ip_subnet_of,
        }
