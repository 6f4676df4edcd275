# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import ipaddress
import itertools

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.multihost import multihost_plan, stack_placement, tunnel_mtu


def test_two_hosts():
    assert multihost_plan({"a": 1, "b": 2}) == {
        "a": {"index": 1, "bip": "172.18.0.1/16", "fixed_cidr": "172.18.1.0/24"},
        "b": {"index": 2, "bip": "172.18.0.2/16", "fixed_cidr": "172.18.2.0/24"},
    }


def test_adding_a_host_renumbers_nobody():
    before = multihost_plan({"a": 1, "b": 2})
    after = multihost_plan({"a": 1, "b": 2, "c": 3})
    assert {k: after[k] for k in before} == before


@pytest.mark.parametrize("supernet, prefix, count", [("172.18.0.0/16", 24, 40), ("10.0.0.0/8", 16, 30), ("192.168.0.0/20", 24, 15)])
def test_no_collisions_by_construction(supernet, prefix, count):
    plan = multihost_plan({"h%d" % i: i for i in range(1, count + 1)}, supernet, prefix)
    net = ipaddress.ip_network(supernet)
    ranges = [ipaddress.ip_network(p["fixed_cidr"]) for p in plan.values()]
    bips = [ipaddress.ip_interface(p["bip"]) for p in plan.values()]
    assert all(r.subnet_of(net) for r in ranges)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(ranges, 2))
    assert len({b.ip for b in bips}) == count and all(b.network == net for b in bips)
    assert not any(b.ip in r for b in bips for r in ranges)


@pytest.mark.parametrize(
    "hosts, supernet, prefix, message",
    [
        ({"a": 1, "b": 1}, "172.18.0.0/16", 24, "hosts a and b both have index 1"),
        ({"a": 0}, "172.18.0.0/16", 24, "index 0, out of range 1 to 254"),
        ({"a": 256}, "172.18.0.0/16", 24, "out of range"),
        ({"a": "x"}, "172.18.0.0/16", 24, "not a number"),
        ({"h%d" % i: i for i in range(1, 5)}, "172.18.0.0/23", 24, "has room for 1 hosts with /24 each, not 4"),
        ({"h1": 2}, "172.18.0.0/23", 24, "out of range 1 to 1"),
        ({"a": 1}, "172.18.0.1/16", 24, "not a network in CIDR form"),
        ({"a": 1}, "2001:db8::/64", 96, "must be IPv4"),
        ({"a": 1}, "172.18.0.0/24", 24, "host_prefix 24 must be longer"),
        ({}, "172.18.0.0/16", 24, "non-empty dict"),
    ],
)
def test_bad_plans(hosts, supernet, prefix, message):
    with pytest.raises(AnsibleFilterError, match=message):
        multihost_plan(hosts, supernet, prefix)


@pytest.mark.parametrize("underlay, kind, key, mtu", [(1500, "gre", None, 1462), (1500, "gre", 7, 1458), (1500, "vxlan", None, 1450),
                                                      (1600, "vxlan", 5, 1550), (1500, "geneve", None, 1450)])
def test_tunnel_mtu(underlay, kind, key, mtu):
    assert tunnel_mtu(underlay, kind, key) == mtu


def test_tunnel_mtu_errors():
    with pytest.raises(AnsibleFilterError, match="unknown tunnel type"):
        tunnel_mtu(1500, "ipip")
    with pytest.raises(AnsibleFilterError, match="raise it"):
        tunnel_mtu(600, "vxlan")
    with pytest.raises(AnsibleFilterError, match="not a number"):
        tunnel_mtu("big")


from ansible_collections.encompass.netlab.plugins.filter.multihost import host_indexes  # noqa: E402  pylint: disable=wrong-import-position


def test_a_fresh_segment_is_numbered_by_position():
    assert host_indexes(["c", "a", "b"]) == {"a": 1, "b": 2, "c": 3}


def test_given_indexes_win_and_the_rest_fill_the_gaps():
    assert host_indexes(["a", "b", "c"], {"b": 1, "a": 0, "c": None}) == {"b": 1, "a": 2, "c": 3}


def test_recorded_indexes_survive_a_limited_run():
    recorded = [{"host": "b", "indexes": {"a": 1, "b": 2, "c": 3}}]
    # Only b is in the play; its record keeps everybody's number, and a new host takes a free one.
    assert host_indexes(["a", "b", "c", "d"], {}, recorded) == {"a": 1, "b": 2, "c": 3, "d": 4}


def test_removing_a_host_renumbers_nobody():
    recorded = [{"host": "a", "indexes": {"a": 1, "b": 2, "c": 3}}, {"host": "c", "indexes": {"a": 1, "b": 2, "c": 3}}]
    assert host_indexes(["a", "c"], {}, recorded) == {"a": 1, "c": 3}


def test_a_hosts_own_record_counts_first():
    recorded = [{"host": "a", "indexes": {"a": 1, "b": 5}}, {"host": "b", "indexes": {"a": 1, "b": 2}}]
    assert host_indexes(["a", "b"], {}, recorded) == {"a": 1, "b": 2}


def test_a_new_host_does_not_take_the_index_of_one_that_left_but_is_still_recorded():
    recorded = [{"host": "a", "indexes": {"a": 1, "gone": 2}}]
    assert host_indexes(["a", "new"], {}, recorded) == {"a": 1, "new": 3}


def test_a_given_index_that_another_host_holds_fails():
    with pytest.raises(AnsibleFilterError, match="host b is recorded with index 2, which host c now has"):
        host_indexes(["a", "b", "c"], {"c": 2}, [{"host": "a", "indexes": {"a": 1, "b": 2}}])


@pytest.mark.parametrize("given, message", [
    ({"a": 1, "b": 1}, "both have index 1"),
    ({"a": -1}, "indexes start at 1"),
    ({"a": "x"}, "not a number"),
])
def test_bad_given_indexes(given, message):
    with pytest.raises(AnsibleFilterError, match=message):
        host_indexes(["a", "b"], given)


def test_no_hosts():
    with pytest.raises(AnsibleFilterError, match="non-empty list"):
        host_indexes([])


SEED = ["mongodb", "elasticsearch", "tomcat"]


@pytest.mark.parametrize("members, placed", [
    (["a"], ["a", "a", "a"]),
    (["a", "b"], ["a", "b", "a"]),
    (["a", "b", "c"], ["a", "b", "c"]),
    (["a", "b", "c", "d"], ["a", "b", "c"]),
])
def test_services_are_placed_by_position(members, placed):
    assert stack_placement(members, SEED) == dict(zip(SEED, placed))


def test_overrides_win_for_the_services_they_name():
    assert stack_placement(["a", "b", "c"], SEED, {"tomcat": "a"}) == {"mongodb": "a", "elasticsearch": "b", "tomcat": "a"}
    assert stack_placement(["a", "b"], SEED, None) == stack_placement(["a", "b"], SEED, {})


def test_a_fourth_service_is_placed_like_the_others():
    assert stack_placement(["a", "b", "c", "d"], SEED + ["cache"])["cache"] == "d"
    assert stack_placement(["a", "b"], SEED + ["cache"])["cache"] == "a"


@pytest.mark.parametrize("overrides, message", [
    ({"tomcat": "nowhere"}, "net_x_placement must map mongodb, elasticsearch, tomcat to hosts of the inventory (a, b);"
                            " got {'tomcat': 'nowhere'}: nowhere not a host of the inventory. Nothing was changed."),
    ({"MongoDB": "a"}, "MongoDB not a service of the stack"),
    ({"redis": "x"}, "redis not a service of the stack; x not a host of the inventory"),
    (["tomcat"], "net_x_placement must map services to hosts, got ['tomcat']"),
])
def test_bad_placements(overrides, message):
    with pytest.raises(AnsibleFilterError) as err:
        stack_placement(["a", "b"], SEED, overrides, variable="net_x_placement")
    assert message in str(err.value)


@pytest.mark.parametrize("members, services", [([], SEED), (None, SEED), (["a"], [])])
def test_placement_needs_hosts_and_services(members, services):
    with pytest.raises(AnsibleFilterError):
        stack_placement(members, services)
