# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A service of one's own is data: a fourth entry in stack_services (a small image of its own, not built by the
collection) is run, addressed, reached from Tomcat, filtered by the policy and drawn in every mode, on two
Docker-in-Docker hosts (the single-host modes on the first), with no code of its own; taken out of stack_services,
its container goes. Replicas (stack_replicas) likewise: a second Elasticsearch in every mode, listed in Tomcat's
JAVA_OPTS and reached; one added starts one container and restarts only Tomcat, and removed leaves nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import BASE_IMAGE, Lab  # pylint: disable=import-error

ROOT = Path(__file__).resolve().parents[2]
STACK_IMAGES = ("encompass/elastic_search:latest", "encompass/mongodb:latest", "encompass/tomcat7:latest")
CACHE_IMAGE = "encompass/netlab-test-cache:1"
# The seed's three as the stack role defines them, and a fourth: a TCP service on 6379 that Tomcat reaches as "cache".
SERVICES = yaml.safe_load((ROOT / "roles" / "stack" / "defaults" / "main.yml").read_text(encoding="utf-8"))["stack_services"]
FOURTH = dict(SERVICES, cache={"container": "Cache", "image": CACHE_IMAGE, "ports": [6379], "alias": "cache",
                               "properties": [{"name": "cache.hosts", "port": 6379}], "sources": ["tomcat"]})
SETENV = "/etc/encompass-netlab/tomcat/setenv.sh"


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("services")
    dockerfile = 'FROM %s\nEXPOSE 6379\nCMD ["python3", "-m", "http.server", "6379"]\n' % BASE_IMAGE
    subprocess.run(["docker", "build", "-q", "--label", "org.encompass.netlab.lab=image", "-t", CACHE_IMAGE, "-"],
                   input=dockerfile.encode(), capture_output=True, check=True)
    lab = Lab(2).up()
    try:
        names = list(lab.hosts)
        host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": index + 1}
                     for index, name in enumerate(names)}
        lab.one = lab.inventory(tmp / "one.json", host_vars, only=names[:1])
        lab.both = lab.inventory(tmp / "both.json", host_vars)
        ready = run_playbook("host.yml", "-i", str(lab.both))
        assert ready.rc == 0, ready.stdout[-3000:]
        lab.load_image(BASE_IMAGE, CACHE_IMAGE, *STACK_IMAGES)
        lab.tmp = tmp
        yield lab
    finally:
        lab.down()
        subprocess.run(["docker", "rmi", CACHE_IMAGE], capture_output=True, check=False)


def site(lab, inventory, mode, **extra):
    out = lab.tmp / ("report-" + mode)
    result = run_playbook("site.yml", "-i", str(inventory), extra_vars=dict(
        {"net_mode": mode, "stack_services": FOURTH, "stack_replicas": {"elasticsearch": 2}, "verify_report_dir": str(out)},
        **extra))
    return result, out


def java_opt(setenv, name):
    """The value of -D<name>= in setenv.sh's JAVA_OPTS."""
    return setenv.split(" -D%s=" % name, 1)[1].split()[0].rstrip('"')


def started(lab, host):
    """Container name -> the time Docker last started it."""
    names = lab.exec(host, "docker", "ps", "-q").stdout.split()
    out = lab.exec(host, "docker", "inspect", "-f", "{{.Name}} {{.State.StartedAt}}", *names).stdout.split("\n")
    return dict(line.lstrip("/").split() for line in out if line.strip())


def running(lab, host):
    return set(lab.exec(host, "docker", "ps", "--format", "{{.Names}}").stdout.split())


def switch_ports(lab, hosts):
    """ovn: the logical port (iface-id) of every interface on each host's integration bridge, as port -> hosts."""
    out = {}
    for host in hosts:
        rows = json.loads(lab.exec(host, "ovs-vsctl", "--format=json", "--columns=external_ids", "find", "Interface",
                                   'type=""').stdout)["data"]
        for row in rows:
            port = dict(row[0][1]).get("iface-id")
            if port:
                out.setdefault(port, []).append(host)
    return out


@pytest.mark.parametrize("mode, multi", [("portmap", False), ("link", False), ("pipework", False),
                                         ("multihost", True), ("ovn", True)])
def test_a_fourth_service_runs_is_reached_and_drawn_in_every_mode(lab, mode, multi):
    names = list(lab.hosts)
    # In the multi-host modes the fourth service is placed on the second host, away from Tomcat (first host).
    placement = {"net_%s_placement" % mode: {"cache": names[1]}} if multi else {}
    result, out = site(lab, lab.both if multi else lab.one, mode, **placement)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cache_host = names[1] if multi else names[0]
    assert "Cache" in running(lab, cache_host)
    if multi:
        assert "Cache" not in running(lab, names[0])
    # Tomcat's JAVA_OPTS name it, its status page and the probe from inside Tomcat reach it.
    setenv = lab.exec(names[0], "cat", SETENV).stdout
    assert " -Dcache.hosts=" in setenv, setenv
    report = json.loads((out / "topology.json").read_text(encoding="utf-8"))
    assert all(p["answered"] for p in report["probes"]), report["probes"]
    probes = {p["name"]: p for p in report["probes"]}
    assert probes["cache.hosts"]["answered"] and probes["cache.hosts"]["to"]["port"] == "6379", probes
    # The second Elasticsearch (stack_replicas): one host after the first round the segment, listed after it in
    # -Des.node.hosts, both probed from inside Tomcat.
    assert "ElasticSearch-2" in running(lab, names[0])
    if multi:
        assert "ElasticSearch" in running(lab, names[1]) and "ElasticSearch" not in running(lab, names[0])
    nodes = java_opt(setenv, "es.node.hosts").split(",")
    es_probes = [p for p in report["probes"] if p["name"] == "es.node.hosts"]
    assert len(nodes) == 2 and len(set(nodes)) == 2 and len(es_probes) == 2, (nodes, es_probes)
    if mode == "link":
        links = lab.exec(names[0], "docker", "inspect", "-f", "{{json .HostConfig.Links}}", "Tomcat").stdout
        assert "/ElasticSearch-2:/Tomcat/es-2" in links, links
    if mode == "pipework":
        # Slot 1 + 4 services: .15, after the four services' .10 to .13 (and Tomcat's slot for a second Tomcat).
        assert nodes == ["172.17.200.11", "172.17.200.15"], nodes
    if mode == "portmap":
        assert nodes[1].endswith(":10200"), nodes  # a thousand ports up on the same host
    # Addressed the way the mode addresses the others, and drawn.
    address = probes["cache.hosts"]["to"]["address"]
    if mode == "pipework":
        assert address == "172.17.200.13"  # after MongoDB .10, Elasticsearch .11, Tomcat .12
    if mode == "ovn":
        assert address.endswith(".13")
    if mode == "portmap":
        published = lab.exec(names[0], "docker", "port", "Cache").stdout
        assert "6379/tcp ->" in published, published
    assert "Cache" in (out / "topology.dot").read_text(encoding="utf-8")
    # The policy filters it as it filters the seed's services: only Tomcat reaches 6379.
    rules = lab.exec(cache_host, "nft", "list", "ruleset").stdout
    assert "6379" in rules, rules[-3000:]
    # A second run changes nothing.
    again = site(lab, lab.both if multi else lab.one, mode, **placement)[0]
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()


@pytest.mark.parametrize("mode, multi", [("pipework", False), ("ovn", True)])
def test_a_replica_added_starts_one_container_and_removed_leaves_nothing(lab, mode, multi):
    """A third Elasticsearch, then back to the seed: one of each service, and the fourth service taken out of
    stack_services (its container goes, and its property from Tomcat's JAVA_OPTS)."""
    names = list(lab.hosts)
    inventory = lab.both if multi else lab.one
    # In ovn, Cache moves here from the second host, where the test above placed it: its interface leaves the second
    # host's integration bridge (the prune phase, before the container goes), and every port is on one host, its own.
    result = site(lab, inventory, mode)[0]
    assert result.rc == 0, result.stdout[-4000:]
    if multi:
        ports = switch_ports(lab, names)
        assert ports["netlab-cache"] == [names[0]] and all(len(on) == 1 for on in ports.values()), ports
        assert len(ports) == 5, ports  # MongoDB, Elasticsearch and its second, Tomcat, Cache
    before = {host: started(lab, host) for host in (names if multi else names[:1])}
    setenv = lab.exec(names[0], "cat", SETENV).stdout
    # A third Elasticsearch: one container more, Tomcat restarted once with three nodes, nothing else touched.
    result, out = site(lab, inventory, mode, stack_replicas={"elasticsearch": 3})
    assert result.rc == 0, result.stdout[-4000:]
    after = {host: started(lab, host) for host in before}
    new = {(host, name) for host in after for name in set(after[host]) - set(before[host])}
    assert new == {(names[0] if not multi else names[1], "ElasticSearch-3")}, new
    restarted = {name for host in after for name in after[host] if name in before[host] and after[host][name] != before[host][name]}
    assert restarted == {"Tomcat"}, restarted
    nodes = java_opt(lab.exec(names[0], "cat", SETENV).stdout, "es.node.hosts").split(",")
    assert nodes[:2] == java_opt(setenv, "es.node.hosts").split(",") and len(set(nodes)) == 3, nodes
    report = json.loads((out / "topology.json").read_text(encoding="utf-8"))
    assert len([p for p in report["probes"] if p["name"] == "es.node.hosts" and p["answered"]]) == 3, report["probes"]
    # Back to the seed, one of each: the replicas' containers go, with their addresses and interfaces, and so does the
    # fourth service, taken out of stack_services (and out of Tomcat's JAVA_OPTS); a second run changes nothing.
    result = site(lab, inventory, mode, stack_replicas={}, stack_services=SERVICES)[0]
    assert result.rc == 0, result.stdout[-4000:]
    for host in before:
        assert not {n for n in running(lab, host) if n.startswith("ElasticSearch-") or n == "Cache"}, running(lab, host)
    assert {"MongoDB", "ElasticSearch", "Tomcat"} <= set().union(*(running(lab, host) for host in before))
    setenv = lab.exec(names[0], "cat", SETENV).stdout
    assert "," not in java_opt(setenv, "es.node.hosts") and " -Dcache.hosts=" not in setenv, setenv
    if multi:  # no interface is left on the hosts' integration bridges for them (ovn's switch ports follow the plan)
        ports = switch_ports(lab, names)
        assert sorted(ports) == ["netlab-elasticsearch", "netlab-mongodb", "netlab-tomcat"], ports
        assert all(len(on) == 1 for on in ports.values()), ports
    again = site(lab, inventory, mode, stack_replicas={}, stack_services=SERVICES)[0]
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
