# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.multihost import tunnel_mtu
from ansible_collections.encompass.netlab.plugins.filter.ovn import ovn_addresses, ovn_hosts
from ansible_collections.encompass.netlab.plugins.module_utils._veth import default_mac


def test_addresses_and_the_mac_veth_attach_derives():
    planned = ovn_addresses({"mongodb": "a", "elasticsearch": "b", "tomcat": "c"}, {"a": 1, "b": 2, "c": 3})
    assert planned["tomcat"] == {"address": "172.29.3.12/16", "mac": "0a:6e:ac:1d:03:0c"}
    assert all(p["mac"] == default_mac(p["address"]) for p in planned.values())


def test_a_fourth_service_takes_the_next_offset_and_given_offsets_win():
    placement = {"mongodb": "a", "elasticsearch": "a", "tomcat": "b", "cache": "a"}
    planned = ovn_addresses(placement, {"a": 1, "b": 2})
    assert [planned[s]["address"] for s in placement] == ["172.29.1.10/16", "172.29.1.11/16", "172.29.2.12/16", "172.29.1.13/16"]
    assert ovn_addresses(placement, {"a": 1, "b": 2}, offsets={"cache": 40})["cache"]["address"] == "172.29.1.40/16"


@pytest.mark.parametrize("placement, indexes, offsets, message", [
    ({"mongodb": "a", "cache": "a"}, {"a": 1}, {"cache": 10}, "mongodb and cache have the same address offset 10"),
    ({"mongodb": "a"}, {"a": 1}, {"mongodb": 300}, "offset 300 of mongodb does not fit a /24 block"),
    (["mongodb"], {"a": 1}, None, "want the placement, service to host"),
])
def test_bad_offsets(placement, indexes, offsets, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ovn_addresses(placement, indexes, offsets=offsets)


@pytest.mark.parametrize("placement, indexes, subnet, message", [
    ({"mongodb": "a"}, {"b": 1}, "172.29.0.0/16", "no index for host a"),
    ({"mongodb": "a"}, {"a": 1}, "172.29.0.0/33", "ovn_addresses"),
    ({"mongodb": "a"}, {"a": 2}, "172.29.0.0/24", "blocks of /24 must be longer than the subnet's /24"),
])
def test_bad_plans(placement, indexes, subnet, message):
    with pytest.raises(AnsibleFilterError, match=message):
        ovn_addresses(placement, indexes, subnet)


def test_ovn_geneve_carries_an_option():
    assert tunnel_mtu(1500, "ovn-geneve") == 1442 and tunnel_mtu(1500, "geneve") == 1450


def test_ovn_hosts_take_the_ovn_variable_else_the_multihost_one():
    hosts = ovn_hosts(["h1", "h2", "h3"], [["10.0.0.1", "10.9.0.1"], ["", "10.9.0.2"], [None, ""]],
                      [[3, 1], [0, 2], [None, 0]], ["h1", None, ""])
    assert hosts == {"h1": {"underlay_ip": "10.0.0.1", "index": 3, "central": "h1"},
                     "h2": {"underlay_ip": "10.9.0.2", "index": 2, "central": ""},
                     "h3": {"underlay_ip": "", "index": 0, "central": ""}}
    assert list(hosts) == ["h1", "h2", "h3"]


@pytest.mark.parametrize("args", [
    (["h1"], [], [[0, 0]], [""]),            # a list shorter than the hosts
    (["h1"], [["a", "b"]], [[0, 0]], None),
    (None, [], [], []),
])
def test_ovn_hosts_refuse_lists_that_do_not_match_the_hosts(args):
    with pytest.raises(AnsibleFilterError, match="ovn_hosts: give the hosts' names"):
        ovn_hosts(*args)
