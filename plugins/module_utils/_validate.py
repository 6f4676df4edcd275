# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validators every module shares: each returns the value in canonical form or raises InputError
with a message that names the option and says what a good value looks like."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
MTU_MIN, MTU_MAX = 68, 65535


def ifname(value, what="name"):
    """A Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.', '..' or 'lo')."""
    if not isinstance(value, str) or not _IFNAME.match(value) or value in (".", "..", "lo"):
        raise InputError("%s %r is not a valid interface name (1 to 15 of A-Z a-z 0-9 _ . -)" % (what, value))
    return value


def mtu(value, what="mtu"):
    """An MTU in the range Linux accepts on Ethernet-like devices, or None."""
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError("%s %r is not a number (%d to %d)" % (what, value, MTU_MIN, MTU_MAX)) from None
    if not MTU_MIN <= number <= MTU_MAX:
        raise InputError("%s %d is out of range (%d to %d)" % (what, number, MTU_MIN, MTU_MAX))
    return number


def in_range(value, low, high, what):
    if value is not None and not low <= int(value) <= high:
        raise InputError("%s %s is out of range (%d to %d)" % (what, value, low, high))
    return None if value is None else int(value)


def ip_address(value, what="address"):
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise InputError("%s %r is not an IP address" % (what, value)) from None


def ipv4_address(value, what="address"):
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        raise InputError("%s %r is not an IPv4 address" % (what, value)) from None


def ip_interface(value, what="address"):
    """An address with its prefix length (CIDR); neither the network nor the broadcast address of it."""
    text = str(value).strip()
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise InputError("%s %r is not an address in CIDR form (e.g. 192.168.50.10/24)" % (what, value)) from None
    if "/" not in text:
        raise InputError("%s %r has no prefix length (e.g. %s/24)" % (what, value, value))
    net = iface.network
    if iface.version == 4 and net.prefixlen < 31 and iface.ip in (net.network_address, net.broadcast_address):
        raise InputError("%s %s is the network or broadcast address of %s" % (what, value, net))
    return iface


def ip_network(value, what="network"):
    try:
        return ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise InputError("%s %r is not a network in CIDR form" % (what, value)) from None


def mac(value, what="mac"):
    """A unicast MAC address, lower case with colons."""
    text = str(value).lower().replace("-", ":")
    if not _MAC.match(text) or int(text[:2], 16) & 1:
        raise InputError("%s %r is not a unicast MAC address" % (what, value))
    return text
