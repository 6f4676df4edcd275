# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report's drawings, rendered by the real Graphviz: the SVG is parsed back and every edge checked."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.topology import mesh_endpoints, topology_dot, topology_mermaid, topology_summary

SVG = "{http://www.w3.org/2000/svg}"


def iface(name, address, bridge, peer, up=True, mtu=1450):
    return dict(name=name, kind="veth", mac="02:00:00:00:00:01", mtu=mtu, up=up, addresses=[address],
                host_peer=peer, attached_to=bridge, attached_kind="ovs_bridge")


def host(underlay, remote, containers, port, key="7"):
    return dict(
        host_interfaces=[dict(name="br0", kind="tun", mac="x", mtu=1500, up=True, addresses=[underlay + "/24"])],
        linux_bridges=[dict(name="docker0", mtu=1450, up=True, addresses=["172.18.0.1/16"], ports=["br-stack.1"])],
        vxlan=[], docker=None, ovn=None, notes=[],
        ovs=dict(ovn={}, bridges=[dict(name="br-stack.1", datapath_type="netdev", ports=[
            dict(name="gre-x", tag=None, interfaces=[dict(name="gre-x", type="gre", options={"remote_ip": remote, "key": key},
                                                          iface_id=None)]),
            dict(name=port, tag=10, interfaces=[dict(name=port, type="system", options={}, iface_id=None)]),
            dict(name="br-stack.1", tag=None, interfaces=[dict(name="br-stack.1", type="internal", options={}, iface_id=None)]),
        ])]),
        containers=containers,
    )


def lab(mongo_up=True):
    return dict(mode="multihost", hosts={
        "docker-1.example": host("10.99.0.11", "10.99.0.12", [
            dict(name="Tomcat", image="t", state="running", interfaces=[iface("eth0", "192.168.0.3/24", "br-stack.1", "nlv1")])], "nlv1"),
        "docker-2.example": host("10.99.0.12", "10.99.0.11", [
            dict(name="Mongo.DB", image="m", state="running",
                 interfaces=[iface("eth0", "192.168.0.2/24", "br-stack.1", "nlv2", up=mongo_up)])], "nlv2"),
    }, probes=[
        dict(kind="tcp", answered=mongo_up, **{"from": dict(host="docker-1.example", container="Tomcat"),
                                               "to": dict(address="192.168.0.2", port="27017")}),
        dict(kind="http", answered=True, **{"from": dict(host="docker-1.example", container=None),
                                            "to": dict(address="192.168.0.3", port=8080)}),
    ])


def render(dot_text):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz (dot) is missing: apt-get install graphviz (.ci/run installs it)")
    svg = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True).stdout
    edges = {}
    for group in ET.fromstring(svg).iter(SVG + "g"):
        if "edge" in group.get("class", "").split():
            title = group.find(SVG + "title").text
            edges[title] = (group.get("class"), " ".join(t.text or "" for t in group.iter(SVG + "text")))
    clusters = [g.find(SVG + "title").text for g in ET.fromstring(svg).iter(SVG + "g") if g.get("class") == "cluster"]
    return edges, clusters


def test_a_graph_that_tripped_dots_ranking_is_drawn():
    """A report of three OVN hosts with Tomcat's probes alone (a converged run draws no mesh probes): Graphviz 2.43's dot
    failed on it ("trouble in init_rank") until the graph asked for its newer ranking (newrank)."""
    data = json.loads((Path(__file__).parent / "fixtures" / "ovn-three-hosts.json").read_text(encoding="utf-8"))
    edges, clusters = render(topology_dot(data))
    assert len(clusters) == 3
    assert sorted(cls for cls, dummy in edges.values() if "probe" in cls) == ["edge probe-answered"] * 3


def test_the_svg_shows_each_path_with_its_result():
    edges, clusters = render(topology_dot(lab(mongo_up=False)))
    assert sorted(clusters) == ["cluster_docker-1.example", "cluster_docker-2.example"]
    probe = edges["docker-1.example/Tomcat->docker-2.example/Mongo.DB"]
    assert probe[0] == "edge probe-failed" and "tcp 192.168.0.2:27017 FAILED" in probe[1]
    status = edges["docker-1.example->docker-1.example/Tomcat"]
    assert status[0] == "edge probe-answered" and "answered" in status[1]
    link = edges["docker-2.example/Mongo.DB->docker-2.example/br-stack.1"]
    assert "eth0 192.168.0.2/24 VLAN 10 MTU 1450 (down)" in link[1]
    # The OVS bridge's internal interface joined to docker0.
    assert edges["docker-1.example/docker0->docker-1.example/br-stack.1"] == ("edge", "port br-stack.1")
    # One tunnel edge per pair of hosts, dashed, with its type and key.
    tunnels = [title for title, (dummy, text) in edges.items() if text == "gre key 7"]
    assert tunnels == ["docker-1.example/br-stack.1->docker-2.example/br-stack.1"]


def test_a_tunnel_only_one_host_lists_is_drawn_broken():
    data = lab()
    data["hosts"]["docker-2.example"]["ovs"]["bridges"][0]["ports"].pop(0)  # its GRE port deleted
    edges, dummy = render(topology_dot(data))
    assert edges["docker-1.example/br-stack.1->docker-2.example/br-stack.1"][1] == "gre key 7 (only on docker-1.example)"
    whole, dummy = render(topology_dot(lab()))
    assert whole["docker-1.example/br-stack.1->docker-2.example/br-stack.1"][1] == "gre key 7"


def test_all_answered_when_nothing_is_broken():
    edges, dummy = render(topology_dot(lab()))
    classes = [cls for cls, dummy in edges.values() if "probe" in cls]
    assert classes == ["edge probe-answered"] * 2
    assert topology_summary(lab()) == dict(probes=2, answered=2, failed=[])


def test_an_address_on_several_hosts_is_resolved_on_the_probing_host():
    """docker0's range repeats on every host: a probe from a host to 172.30.0.2 means that host's container."""
    data = lab()
    for name, info in data["hosts"].items():
        info["containers"][0]["interfaces"].append(iface("eth1", "172.30.0.2/16", "docker0", "veth" + name[-9]))
    data["probes"] = [dict(kind="http", answered=True, **{"from": dict(host=h, container=None), "to": dict(address="172.30.0.2", port=8080)})
                      for h in ("docker-1.example", "docker-2.example")]
    edges, dummy = render(topology_dot(data))
    assert "docker-1.example->docker-1.example/Tomcat" in edges and "docker-2.example->docker-2.example/Mongo.DB" in edges


def test_summary_names_the_failed_path():
    assert topology_summary(lab(mongo_up=False))["failed"] == ["tcp Tomcat@docker-1.example -> 192.168.0.2:27017"]


@pytest.mark.parametrize("name", ['we"ird', "a.b-c d", "x:y;z", "back\\slash"])
def test_identifiers_are_quoted(name):
    data = lab()
    data["hosts"][name] = data["hosts"].pop("docker-2.example")
    edges, clusters = render(topology_dot(data))
    # Graphviz keeps a backslash of a quoted identifier as it is written (doubled); every other name comes back whole.
    assert "cluster_%s" % name.replace("\\", "\\\\") in clusters
    assert any(title.startswith(name.replace("\\", "\\\\") + "/") for title in edges)


def test_mermaid():
    text = topology_mermaid(lab(mongo_up=False))
    assert text.startswith("flowchart LR\n")
    assert re.search(r'subgraph h0\["docker-1.example"\]', text)
    assert '==>|"tcp 192.168.0.2:27017 FAILED"|' in text
    failed = [line for line in text.splitlines() if "FAILED" in line]
    index = [line for line in text.splitlines() if "-->" in line or "---" in line or "==>" in line or "-.-" in line].index(failed[0])
    assert "linkStyle %d stroke:#c62828" % index in text


@pytest.mark.parametrize("bad", [None, [], {"probes": []}, {"hosts": []}])
def test_bad_input(bad):
    for function in (topology_dot, topology_mermaid, topology_summary):
        with pytest.raises(AnsibleFilterError, match="want the topology report's data"):
            function(bad)


PLACEMENT = {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h1", "elasticsearch-2": "h1"}
NAMES = {"mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat", "elasticsearch-2": "ElasticSearch-2"}
PLANNED = {"MongoDB": "172.29.1.10/16", "ElasticSearch": "172.29.2.11/16", "Tomcat": "172.29.1.12/16",
           "ElasticSearch-2": "172.29.1.15/16"}
RUNNING = [{"Names": ["/MongoDB"], "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}},
           {"Names": ["/Other"], "NetworkSettings": {"Networks": {"mynet": {"IPAddress": "10.1.0.2"}}}}]


def test_mesh_endpoints_with_planned_addresses_are_the_plans_containers_of_the_host():
    # The running containers do not count: the plan says what is on the segment (in its order).
    assert mesh_endpoints("h1", PLACEMENT, NAMES, PLANNED, RUNNING) == [
        {"host": "h1", "name": "MongoDB", "address": "172.29.1.10"},
        {"host": "h1", "name": "Tomcat", "address": "172.29.1.12"},
        {"host": "h1", "name": "ElasticSearch-2", "address": "172.29.1.15"}]
    assert mesh_endpoints("h3", PLACEMENT, NAMES, PLANNED, RUNNING) == []


def test_mesh_endpoints_without_a_plan_are_every_running_container_on_docker0():
    assert mesh_endpoints("h1", PLACEMENT, NAMES, {}, RUNNING) == [
        {"host": "h1", "name": "MongoDB", "address": "172.17.0.2"}, {"host": "h1", "name": "Other", "address": ""}]


def test_mesh_endpoints_name_a_placed_container_without_an_address():
    with pytest.raises(AnsibleFilterError, match="places tomcat on h1 but gives Tomcat no address"):
        mesh_endpoints("h1", PLACEMENT, NAMES, {"MongoDB": "172.29.1.10/16"}, [])


@pytest.mark.parametrize("args", [(None, {}, {}, {}, []), ("h1", [], {}, {}, []), ("h1", {}, {}, None, []),
                                  ("h1", {}, {}, {}, None)])
def test_mesh_endpoints_refuse_input_of_the_wrong_kind(args):
    with pytest.raises(AnsibleFilterError, match="mesh_endpoints: give a host name"):
        mesh_endpoints(*args)
