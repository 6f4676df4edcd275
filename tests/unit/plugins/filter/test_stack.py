# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.multihost import stack_placement
from ansible_collections.encompass.netlab.plugins.filter.pipework import static_addresses
from ansible_collections.encompass.netlab.plugins.filter.stack import link_sources, service_replicas, service_view

CONTAINERS = {"mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat"}
ALIASES = {"mongodb": "db", "elasticsearch": "es"}


def test_the_seeds_sources_in_the_aliases_order():
    assert link_sources(ALIASES, CONTAINERS, {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h3"}) == [
        {"service": "mongodb", "name": "MongoDB", "alias": "db", "host": "h1", "link": "MongoDB:db"},
        {"service": "elasticsearch", "name": "ElasticSearch", "alias": "es", "host": "h2", "link": "ElasticSearch:es"},
    ]


def test_renamed_containers_and_no_placement():
    renamed = dict(CONTAINERS, mongodb="mongo-1")
    assert [(s["name"], s["host"], s["link"]) for s in link_sources(ALIASES, renamed)] == [
        ("mongo-1", None, "mongo-1:db"), ("ElasticSearch", None, "ElasticSearch:es")]


@pytest.mark.parametrize("aliases, containers, message", [
    ({"redis": "cache"}, CONTAINERS, "service redis has link alias cache but no container"),
    ({"mongodb": "db", "elasticsearch": "db"}, CONTAINERS, "services mongodb and elasticsearch both have link alias db"),
    (["db"], CONTAINERS, "want a dict of service to link alias"),
    (ALIASES, None, "want a dict of service to container name"),
])
def test_bad_sources(aliases, containers, message):
    with pytest.raises(AnsibleFilterError) as err:
        link_sources(aliases, containers)
    assert message in str(err.value)


# service_view: the stack role's own definition, read from its defaults, gives what the roles spelled before.
DEFAULTS = Path(__file__).resolve().parents[4] / "roles" / "stack" / "defaults" / "main.yml"
DEFAULT_VARS = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
# The names the defaults template in from the six seed variables (stack_mongodb_container, ...), filled in as Ansible would.
SERVICES = {
    service: {key: (DEFAULT_VARS[value.strip("{} ")] if isinstance(value, str) and value.startswith("{{") else value)
              for key, value in spec.items()}
    for service, spec in DEFAULT_VARS["stack_services"].items()
}


def own(spec, name):
    """A definition with the container and image every service needs."""
    return dict({"container": name, "image": name.lower() + ":latest"}, **spec)


def test_the_seeds_definition_gives_the_seeds_aliases_policy_and_ports():
    assert service_view(SERVICES, "aliases", CONTAINERS) == {"elasticsearch": "es", "mongodb": "db"}
    assert service_view(SERVICES, "policy") == {"mongodb": {"ports": [27017, 27018], "sources": ["tomcat"]},
                                                "elasticsearch": {"ports": [9200, 9300], "sources": ["tomcat"]}}
    assert service_view(SERVICES, "ports") == {"elasticsearch": {"9200": 9200, "9300": 9300},
                                               "mongodb": {"27017": 27017, "27018": 27018}, "tomcat": {"8080": 8080}}


def test_the_seeds_containers_and_images_in_the_order_that_places_them():
    # The order places the containers (service i on host i) and numbers the static addresses: MongoDB first.
    assert list(service_view(SERVICES, "containers").items()) == list(CONTAINERS.items())
    assert service_view(SERVICES, "images") == {"mongodb": "encompass/mongodb:latest",
                                                "elasticsearch": "encompass/elastic_search:latest",
                                                "tomcat": "encompass/tomcat7:latest"}
    run = service_view(SERVICES, "run")
    assert run["elasticsearch"]["env"] == {"CLUSTER_NAME": "encsearchdb", "cluster.name": "encsearchdb",
                                           "discovery.type": "single-node"}
    assert run["mongodb"] == {"container": "MongoDB", "image": "encompass/mongodb:latest", "env": {}}
    # A number is written as Docker reads it, a string.
    assert service_view({"a": own({"env": {"PORT": 6379}}, "A")}, "run")["a"]["env"] == {"PORT": "6379"}


def test_the_seeds_properties_in_the_services_order_with_their_link_variables():
    assert [(p["name"], p["port"], p["form"], e["address_variable"], e["port_variable"])
            for p in service_view(SERVICES, "properties") for e in p["endpoints"]] == [
        ("db.encompass.hosts", 27017, "address:port", "DB_PORT_27017_TCP_ADDR", "DB_PORT_27017_TCP_PORT"),
        ("db.audit.hosts", 27018, "address:port", "DB_PORT_27018_TCP_ADDR", "DB_PORT_27018_TCP_PORT"),
        ("es.node.hosts", 9200, "address", "ES_PORT_9200_TCP_ADDR", "ES_PORT_9200_TCP_PORT"),
    ]


def test_a_fourth_service_is_one_more_entry():
    services = dict(SERVICES, cache={"container": "Cache", "image": "example/cache:1", "ports": [6379], "alias": "my-cache",
                                     "sources": ["tomcat"], "properties": [{"name": "cache.hosts", "port": 6379}]})
    assert service_view(services, "containers")["cache"] == "Cache"
    assert service_view(services, "aliases")["cache"] == "my-cache"
    assert service_view(services, "policy")["cache"] == {"ports": [6379], "sources": ["tomcat"]}
    assert service_view(services, "properties")[-1]["endpoints"] == [
        {"service": "cache", "address_variable": "MY_CACHE_PORT_6379_TCP_ADDR", "port_variable": "MY_CACHE_PORT_6379_TCP_PORT"}]
    assert service_view({"tomcat": {"container": "T", "image": "t"}}, "ports") == {"tomcat": {}}


@pytest.mark.parametrize("services, view, containers, message", [
    (SERVICES, "hosts", None, "no view 'hosts'"),
    ([], "ports", None, "want a dict of service to its definition"),
    (SERVICES, "aliases", {"mongodb": "MongoDB"}, "defines mongodb, elasticsearch, tomcat, but the stack's containers are mongodb"),
    ({"a": "x"}, "ports", None, "a: want a dict"),
    ({"a": {"port": 1}}, "ports", None, "a: unknown key port"),
    ({"a": {"ports": [0]}}, "ports", None, "a: ports want a list of distinct TCP ports 1 to 65535"),
    ({"a": {"ports": [80, 80]}}, "ports", None, "a: ports want a list of distinct"),
    ({"a": {"ports": ["80"]}}, "ports", None, "a: ports want a list of distinct"),
    ({"a": own({"alias": "x"}, "A"), "b": own({"alias": "X"}, "B")}, "aliases", None, "b: alias wants a link alias of its own, got 'X' (a has it)"),
    ({"a": {"sources": ["c"]}}, "policy", None, "a: sources want a list of the stack's services (a), got ['c']"),
    ({"a": {"ports": [1], "alias": "x", "properties": [{"name": "p", "port": 2}]}}, "properties", None,
     "a: a property wants a name, one of the service's ports (1)"),
    ({"a": {"ports": [1], "alias": "x", "properties": [{"name": "p", "port": 1, "form": "url"}]}}, "properties", None,
     "a property wants a name"),
    ({"a": {"ports": [1], "properties": [{"name": "p", "port": 1}]}}, "properties", None,
     "a: property p needs the service's alias"),
    ({"a": {}}, "ports", None, "a: container wants a container name of letters, digits"),
    ({"a": {"container": "bad name", "image": "x"}}, "ports", None, "a: container wants a container name"),
    ({"a": own({}, "X"), "b": own({}, "X")}, "containers", None, "b: container wants a name of its own, got 'X' (a has it)"),
    ({"a": {"container": "A", "image": " "}}, "images", None, "a: image wants the image's name"),
    ({"a": own({"env": {"K": ["v"]}}, "A")}, "run", None, "a: env wants a dict of variable name to a string"),
    ({"a": own({"env": "K=v"}, "A")}, "run", None, "a: env wants a dict"),
    ({"a": own({"env": {"DEBUG": True}}, "A")}, "run", None, "quote true, false and yes, as Docker wants"),
])
def test_a_definition_the_filter_cannot_read_fails_naming_it(services, view, containers, message):
    with pytest.raises(AnsibleFilterError) as err:
        service_view(services, view, containers)
    assert message in str(err.value) and str(err.value).endswith("Nothing was changed.")


# service_replicas: stack_replicas expands the definition into the stack's containers (stack_instances).
def test_no_replicas_is_the_definition_itself():
    instances = service_replicas(SERVICES, {})
    assert list(instances) == list(SERVICES)
    for view in ("aliases", "containers", "images", "policy", "properties", "ports", "run"):
        assert service_view(instances, view) == service_view(SERVICES, view)
    assert service_view(instances, "slots") == {"mongodb": 0, "elasticsearch": 1, "tomcat": 2}


def test_replicas_are_named_after_their_service_and_listed_in_every_property():
    instances = service_replicas(SERVICES, {"elasticsearch": 3, "mongodb": 2})
    assert service_view(instances, "containers") == {
        "mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat",
        "mongodb-2": "MongoDB-2", "elasticsearch-2": "ElasticSearch-2", "elasticsearch-3": "ElasticSearch-3"}
    assert service_view(instances, "aliases") == {"mongodb": "db", "elasticsearch": "es", "mongodb-2": "db-2",
                                                  "elasticsearch-2": "es-2", "elasticsearch-3": "es-3"}
    properties = service_view(instances, "properties")
    assert [p["name"] for p in properties] == ["db.encompass.hosts", "db.audit.hosts", "es.node.hosts"]
    assert [e["address_variable"] for e in properties[2]["endpoints"]] == [
        "ES_PORT_9200_TCP_ADDR", "ES_2_PORT_9200_TCP_ADDR", "ES_3_PORT_9200_TCP_ADDR"]
    assert properties[2]["service"] == "elasticsearch" and properties[2]["form"] == "address"
    assert service_view(instances, "policy")["elasticsearch-3"] == {"ports": [9200, 9300], "sources": ["tomcat"]}
    # portmap publishes every replica on one host: a thousand ports up a replica.
    assert service_view(instances, "ports")["elasticsearch-3"] == {"9200": 11200, "9300": 11300}
    assert service_view(instances, "run")["mongodb-2"] == {
        "container": "MongoDB-2", "image": "encompass/mongodb:latest", "env": {}}


def test_a_replica_added_moves_no_other_containers_address():
    before = service_view(service_replicas(SERVICES, {"elasticsearch": 3, "mongodb": 2}), "slots")
    after = service_view(service_replicas(SERVICES, {"elasticsearch": 3, "mongodb": 3}), "slots")
    assert {k: v for k, v in after.items() if k in before} == before and after["mongodb-3"] == 6
    assert static_addresses("172.17.0.1/16", after)["mongodb-3"] == "172.17.200.16/16"
    assert static_addresses("172.17.0.1/16", after)["elasticsearch-3"] == "172.17.200.17/16"
    # In a small subnet the block is as long as the highest slot.
    assert static_addresses("10.0.0.0/28", {"a": 0, "b": 2}) == {"a": "10.0.0.12/28", "b": "10.0.0.14/28"}


def test_a_replica_of_a_source_is_a_source_too():
    services = dict(SERVICES, cache=own({"ports": [6379], "sources": ["mongodb"]}, "Cache"))
    assert service_view(service_replicas(services, {"mongodb": 2}), "policy")["cache"] == {
        "ports": [6379], "sources": ["mongodb", "mongodb-2"]}


def test_replicas_spread_over_the_hosts_or_take_the_hosts_given():
    instances = service_replicas(SERVICES, {"elasticsearch": 3, "mongodb": 2})
    assert stack_placement(["a", "b", "c"], instances) == {
        "mongodb": "a", "elasticsearch": "b", "tomcat": "c", "mongodb-2": "b", "elasticsearch-2": "c", "elasticsearch-3": "a"}
    # The first container moved by the mode's placement: its replicas follow it round the segment.
    assert stack_placement(["a", "b", "c"], instances, {"elasticsearch": "a"})["elasticsearch-2"] == "b"
    placed = stack_placement(["a", "b", "c"], instances, {"elasticsearch-3": "c"}, "placement", {"elasticsearch": ["c", "b"]})
    assert [placed[s] for s in ("elasticsearch", "elasticsearch-2", "elasticsearch-3", "mongodb-2")] == ["c", "b", "c", "b"]
    # One host: every container there.
    assert set(stack_placement(["a"], instances).values()) == {"a"}


@pytest.mark.parametrize("replicas, message", [
    ({"redis": 2}, "stack_replicas: want a count of containers (1 or more) for services of stack_services"),
    ({"mongodb": 0}, "mongodb: 0"),
    ({"mongodb": "2"}, "mongodb: '2'"),
    ({"mongodb": True}, "mongodb: True"),
    (["mongodb"], "stack_replicas: want a dict of service to a count"),
    ({"tomcat": 2}, "tomcat runs one container"),
    ({"mongodb": 65}, "mongodb-40: its port 27017 would be published on 66017, past 65535"),
])
def test_bad_replicas_fail_naming_them(replicas, message):
    with pytest.raises(AnsibleFilterError) as err:
        service_view(service_replicas(SERVICES, replicas), "ports")
    assert message in str(err.value) and str(err.value).endswith("Nothing was changed.")


def test_a_replica_cannot_take_a_services_name_or_the_collections_keys():
    with pytest.raises(AnsibleFilterError) as err:
        service_replicas(dict(SERVICES, **{"mongodb-2": own({}, "Other")}), {"mongodb": 2})
    assert "mongodb: its replica 2 would be mongodb-2, a service of its own" in str(err.value)
    with pytest.raises(AnsibleFilterError) as err:
        service_replicas(dict(SERVICES, cache=own({"slot": 9}, "Cache")))
    assert "cache: slot are the collection's" in str(err.value)
    with pytest.raises(AnsibleFilterError) as err:
        stack_placement(["a", "b"], service_replicas(SERVICES, {"mongodb": 2}), {}, "placement", {"mongodb": ["z"]})
    assert "stack_hosts must map services of the stack" in str(err.value)
