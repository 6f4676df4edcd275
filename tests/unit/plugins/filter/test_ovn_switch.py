# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.ovn import ovn_addresses, ovn_switch

CONTAINERS = {"mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat"}
PLACEMENT = {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h3"}
POLICY = {"mongodb": {"ports": [27017, 27018], "sources": ["tomcat"]},
          "elasticsearch": {"ports": [9200, 9300], "sources": ["tomcat"]}}
EVERY_PORT = '{"netlab-mongodb", "netlab-elasticsearch", "netlab-tomcat"}'


def plan(containers=None, placement=None, policy=None):
    containers, placement = containers or CONTAINERS, placement or PLACEMENT
    addresses = ovn_addresses(placement, {"h1": 1, "h2": 2, "h3": 3})
    return ovn_switch(addresses, "netlab", containers, placement, POLICY if policy is None else policy, 5201)


def test_the_seeds_ports_and_acls_as_ovn_reads_them():
    switch = plan()
    # Only the chassis of the host the container is placed on (named after it) binds its port.
    assert switch["ports"][0] == {"name": "netlab-mongodb", "addresses": ["0a:6e:ac:1d:01:0a 172.29.1.10"],
                                  "external_ids": {"encompass-netlab-container": "MongoDB"},
                                  "options": {"requested-chassis": "h1"}}
    assert [p["name"] for p in switch["ports"]] == ["netlab-mongodb", "netlab-elasticsearch", "netlab-tomcat"]
    assert [(a["priority"], a["action"], a["match"]) for a in switch["acls"]] == [
        (1001, "allow-related", 'outport == "netlab-elasticsearch" && ip4.src == 172.29.3.12 && tcp.dst == {9200, 9300}'),
        (1001, "allow-related", 'outport == "netlab-mongodb" && ip4.src == 172.29.3.12 && tcp.dst == {27017, 27018}'),
        (1001, "allow-related", "outport == %s && ip4.src == {172.29.1.10, 172.29.2.11, 172.29.3.12} && (icmp4 || tcp.dst == 5201)"
         % EVERY_PORT),
        (1000, "drop", "outport == %s && ip" % EVERY_PORT),
    ]
    assert all(a["direction"] == "to-lport" for a in switch["acls"])


def test_each_host_attaches_what_is_placed_on_it():
    switch = plan(placement={"mongodb": "h1", "elasticsearch": "h1", "tomcat": "h2"})
    assert [a["container"] for a in switch["attachments"]["h1"]] == ["MongoDB", "ElasticSearch"]
    assert switch["attachments"]["h2"] == [{"container": "Tomcat", "address": "172.29.2.12/16", "mac": "0a:6e:ac:1d:02:0c",
                                            "external_ids": {"iface-id": "netlab-tomcat"}}]
    assert "h3" not in switch["attachments"]


def test_a_fourth_service_and_two_sources():
    containers = dict(CONTAINERS, cache="Cache")
    policy = dict(POLICY, cache={"ports": [6379], "sources": ["tomcat", "mongodb"]})
    switch = plan(containers, dict(PLACEMENT, cache="h2"), policy)
    assert switch["ports"][-1]["addresses"] == ["0a:6e:ac:1d:02:0d 172.29.2.13"]
    assert switch["acls"][0]["match"] == 'outport == "netlab-cache" && ip4.src == {172.29.3.12, 172.29.1.10} && tcp.dst == {6379}'


def test_an_address_without_a_container_fails():
    with pytest.raises(AnsibleFilterError, match="redis has an address but no container"):
        ovn_switch({"redis": {"address": "172.29.1.10/16", "mac": "x"}}, "netlab", CONTAINERS)
