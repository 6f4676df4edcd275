# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.test.ip import TestModule as IpTestPlugin, ip_interface, ip_network, ip_subnet_of


@pytest.mark.parametrize("value", ["172.18.0.1/16", "10.0.0.5/8", "192.0.2.1/31", "192.0.2.1/32", "2001:db8::1/64", "172.18.255.254/16"])
def test_interface_addresses_pass(value):
    assert ip_interface(value)


@pytest.mark.parametrize(
    "value",
    [
        "172.18.0.0/16",  # network address
        "172.18.255.255/16",  # broadcast address
        "172.18.0.1",  # no prefix
        "300.1.1.1/16",
        "172.18.0.1/33",
        "",
        None,
        17,
        "eth0",
    ],
)
def test_non_interface_values_fail(value):
    assert not ip_interface(value)


def test_interface_version_filter():
    assert ip_interface("172.18.0.1/16", 4)
    assert not ip_interface("172.18.0.1/16", 6)
    assert ip_interface("2001:db8::1/64", "6")


@pytest.mark.parametrize("value", ["172.18.1.0/24", "10.0.0.0/8", "2001:db8::/64", "192.0.2.7/32"])
def test_networks_pass(value):
    assert ip_network(value)


@pytest.mark.parametrize("value", ["172.18.1.1/24", "172.18.1.0", "nonsense/24", None, "172.18.1.0/40"])
def test_non_networks_fail(value):
    assert not ip_network(value)


def test_network_version_filter():
    assert not ip_network("10.0.0.0/8", 6)


@pytest.mark.parametrize(
    "inner, outer, expected",
    [
        ("172.18.1.0/24", "172.18.0.1/16", True),
        ("172.18.0.0/16", "172.18.0.1/16", True),
        ("172.19.1.0/24", "172.18.0.1/16", False),
        ("172.16.0.0/12", "172.18.0.1/16", False),  # larger than the supernet
        ("2001:db8::/64", "172.18.0.1/16", False),  # another IP version
        ("garbage", "172.18.0.1/16", False),
        ("172.18.1.0/24", None, False),
    ],
)
def test_subnet_of(inner, outer, expected):
    assert ip_subnet_of(inner, outer) is expected


def test_plugin_exports_every_test():
    assert set(IpTestPlugin().tests()) == {"ip_interface", "ip_network", "ip_subnet_of"}
