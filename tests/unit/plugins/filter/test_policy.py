# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.policy import policy_missing, policy_rules

SERVICES = {"mongodb": {"ports": [27017, 27018], "sources": ["tomcat"]},
            "elasticsearch": {"ports": [9200, 9300], "sources": ["tomcat"]}}
CONTAINERS = {"mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat"}
ONE_HOST = {"mongodb": "h1", "elasticsearch": "h1", "tomcat": "h1"}


def container(name, *addresses, state="running"):
    return {"name": name, "state": state, "interfaces": [
        {"name": "eth%d" % i, "addresses": [address]} for i, address in enumerate(addresses)]}


def read(*containers, host=("10.99.0.11/24",), bridges=("172.17.0.1/16",)):
    return {"containers": list(containers),
            "host_interfaces": [{"name": "eth0", "addresses": list(host)}],
            "linux_bridges": [{"name": "docker0", "addresses": list(bridges)}]}


def endpoints(rule):
    return sorted((e["address"], e["port"]) for e in rule["endpoints"])


def test_pipework_every_address_of_a_container_is_an_endpoint_and_tomcats_every_address_a_source():
    h1 = read(container("MongoDB", "172.17.0.2/16", "172.17.200.10/16"), container("ElasticSearch", "172.17.0.3/16"),
              container("Tomcat", "172.17.0.4/16", "172.17.200.12/16", "fe80::1/64"))
    rules = {r["name"]: r for r in policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS)}
    assert endpoints(rules["mongodb"]) == [("172.17.0.2", 27017), ("172.17.0.2", 27018),
                                           ("172.17.200.10", 27017), ("172.17.200.10", 27018)]
    assert rules["mongodb"]["sources"] == ["172.17.0.4", "172.17.200.12"]
    assert endpoints(rules["elasticsearch"]) == [("172.17.0.3", 9200), ("172.17.0.3", 9300)]


def test_the_planned_addresses_stand_for_what_the_segments_interface_shows():
    """Check mode reads the containers before the run moves their static addresses (eth1) to another subnet: the rules
    follow the plan, as the real run's read will; eth0 (Docker's) is kept, and a container the plan has no address
    for keeps what it has."""
    h1 = read(container("MongoDB", "172.17.0.2/16", "10.77.0.10/24"), container("ElasticSearch", "172.17.0.3/16"),
              container("Tomcat", "172.17.0.4/16", "10.77.0.12/24"))
    segment = {"interface": "eth1", "addresses": {"MongoDB": "10.78.0.10/24", "ElasticSearch": "10.78.0.11/24",
                                                  "Tomcat": "10.78.0.12/24"}}
    rules = {r["name"]: r for r in policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS, None, segment)}
    assert endpoints(rules["mongodb"]) == [("10.78.0.10", 27017), ("10.78.0.10", 27018),
                                           ("172.17.0.2", 27017), ("172.17.0.2", 27018)]
    # ElasticSearch has no eth1 yet (the attach phase adds it): the planned address joins the one it has.
    assert endpoints(rules["elasticsearch"]) == [("10.78.0.11", 9200), ("10.78.0.11", 9300),
                                                 ("172.17.0.3", 9200), ("172.17.0.3", 9300)]
    assert rules["mongodb"]["sources"] == ["172.17.0.4", "10.78.0.12"]
    # Without a plan for a container (a mode whose addresses Docker gives), the read is the truth.
    unplanned = policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS, None, {"interface": "eth0", "addresses": {}})
    assert unplanned == policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS)


def test_portmap_a_port_published_on_an_address_and_one_on_every_address():
    h1 = read(container("MongoDB", "172.17.0.2/16"), container("ElasticSearch", "172.17.0.3/16"),
              container("Tomcat", "172.17.0.4/16"))
    published = {"mongodb": ["172.17.0.1:27017:27017", "172.17.0.1:27018:27018"],
                 "elasticsearch": ["19200:9200/tcp", "0.0.0.0:9300:9300", "9301:9301"], "tomcat": ["8080:8080"]}
    rules = {r["name"]: r for r in policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS, published)}
    assert ("172.17.0.1", 27017) in endpoints(rules["mongodb"]) and ("172.17.0.1", 27018) in endpoints(rules["mongodb"])
    es = endpoints(rules["elasticsearch"])
    # Published on every address: each of the host's own addresses, with the host port; 9301 is not the service's.
    assert {("10.99.0.11", 19200), ("172.17.0.1", 19200), ("10.99.0.11", 9300), ("172.17.0.1", 9300)} <= set(es)
    assert not [e for e in es if e[1] == 9301]


def test_multihost_sources_come_from_the_host_tomcat_runs_on_and_other_hosts_get_no_endpoints():
    placement = {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h3"}
    reads = {"h1": read(container("MongoDB", "172.18.1.2/16")), "h2": read(container("ElasticSearch", "172.18.2.2/16")),
             "h3": read(container("Tomcat", "172.18.3.2/16"))}
    on_h1 = {r["name"]: r for r in policy_rules(SERVICES, "h1", reads, placement, CONTAINERS)}
    assert endpoints(on_h1["mongodb"]) == [("172.18.1.2", 27017), ("172.18.1.2", 27018)]
    assert on_h1["mongodb"]["sources"] == ["172.18.3.2"]
    assert on_h1["elasticsearch"]["endpoints"] == []
    on_h3 = policy_rules(SERVICES, "h3", reads, placement, CONTAINERS)
    assert all(rule["endpoints"] == [] for rule in on_h3)


def test_a_limit_that_leaves_tomcats_host_out_keeps_the_sources_the_table_holds():
    placement = {"mongodb": "h1", "elasticsearch": "h1", "tomcat": "h3"}
    rules = policy_rules(SERVICES, "h1", {"h1": read(container("MongoDB", "172.18.1.2/16"))}, placement, CONTAINERS)
    assert [r["sources"] for r in rules] == [None, None]


def test_a_source_that_does_not_run_admits_nothing_and_a_stopped_service_has_no_endpoints():
    h1 = read(container("MongoDB", "172.17.0.2/16", state="exited"), container("ElasticSearch", "172.17.0.3/16"))
    rules = {r["name"]: r for r in policy_rules(SERVICES, "h1", {"h1": h1}, ONE_HOST, CONTAINERS)}
    assert rules["elasticsearch"]["sources"] == [] and rules["mongodb"]["endpoints"] == []


def test_what_check_mode_cannot_know_yet():
    placement = {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h3"}
    reads = {"h1": read(container("MongoDB", "172.18.1.2/16")), "h2": read(), "h3": read()}
    assert policy_missing(SERVICES, "h1", reads, placement, CONTAINERS) == ["Tomcat"]
    assert policy_missing(SERVICES, "h2", reads, placement, CONTAINERS) == ["ElasticSearch", "Tomcat"]
    assert policy_missing(SERVICES, "h3", reads, placement, CONTAINERS) == []
    # A host the play leaves out is not asked.
    assert policy_missing(SERVICES, "h1", {"h1": reads["h1"]}, placement, CONTAINERS) == []


@pytest.mark.parametrize("services, message", [
    ({"mongodb": {"ports": [], "sources": ["tomcat"]}}, "ports must be"),
    ({"mongodb": {"ports": [70000], "sources": ["tomcat"]}}, "ports must be"),
    ({"mongodb": {"ports": [27017], "sources": "tomcat"}}, "sources must be a list"),
    ({"mongodb": {"ports": [27017], "sources": ["redis"]}}, "redis, which is not one of the stack's services"),
    ({"redis": {"ports": [6379], "sources": []}}, "names redis"),
    (["mongodb"], "must be a mapping"),
])
def test_bad_services_are_named(services, message):
    with pytest.raises(AnsibleFilterError, match=message):
        policy_rules(services, "h1", {}, ONE_HOST, CONTAINERS)
