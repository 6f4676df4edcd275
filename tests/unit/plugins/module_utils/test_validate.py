# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The validators every module shares."""

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError


@pytest.mark.parametrize("name", ["eth1", "br-phy", "ve0123456789ab", "a", "x" * 15, "vx.42", "tun_1"])
def test_good_interface_names(name):
    assert valid.ifname(name) == name


@pytest.mark.parametrize("name", ["", "x" * 16, "lo", ".", "..", "eth 1", "eth/1", "eth:1", None, 42])
def test_bad_interface_names(name):
    with pytest.raises(InputError, match="is not a valid interface name"):
        valid.ifname(name, "ifname")


@pytest.mark.parametrize("value, expected", [(None, None), (68, 68), ("1500", 1500), (65535, 65535)])
def test_mtu(value, expected):
    assert valid.mtu(value) == expected


@pytest.mark.parametrize("value, message", [(67, "mtu 67 is out of range (68 to 65535)"), (65536, "out of range"),
                                            ("big", "mtu 'big' is not a number")])
def test_bad_mtu(value, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        valid.mtu(value)


def test_addresses_and_networks():
    assert str(valid.ip_interface("10.0.0.5/24")) == "10.0.0.5/24"
    assert str(valid.ip_interface("10.0.0.1/31")) == "10.0.0.1/31"
    assert str(valid.ip_network("10.0.0.5/24")) == "10.0.0.0/24"
    assert str(valid.ip_address(" 2001:db8::1 ")) == "2001:db8::1"
    for bad, message in (("10.0.0.0/24", "network or broadcast"), ("10.0.0.255/24", "network or broadcast"),
                         ("10.0.0.5", "no prefix length"), ("10.0.0.300/24", "not an address in CIDR form")):
        with pytest.raises(InputError, match=message):
            valid.ip_interface(bad)
    with pytest.raises(InputError, match="is not an IP address"):
        valid.ip_address("10.0.0")


def test_mac():
    assert valid.mac("0A-6E-00-00-00-01") == "0a:6e:00:00:00:01"
    for bad in ("01:00:5e:00:00:01", "0a:6e:00:00:00", "zz:00:00:00:00:00"):
        with pytest.raises(InputError, match="not a unicast MAC"):
            valid.mac(bad)
