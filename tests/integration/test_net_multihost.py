# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""net_multihost on two Docker-in-Docker hosts: the topology report against what ip and ovs-vsctl say, with a tunnel
broken on purpose, and a switch to pipework. (The segment itself - planned ranges, MTU, idempotence and check mode,
transfers across it - is the Molecule scenario multihost's; the same segment without the stack grows and shrinks in
test_net_multihost_grow.py.)"""

from __future__ import annotations

import json

import pytest

from conftest import read_report, run_playbook  # pylint: disable=import-error
from dind_lab import Lab, multihost_playbook  # pylint: disable=import-error

# The segment's probes and the topology report, without the stack (every running container of each host).
REPORT_PLAY = [{"hosts": "all", "gather_facts": False, "tasks": [
    {"name": "mode", "ansible.builtin.include_role": {"name": "encompass.netlab.stack", "tasks_from": "mode"}},
    {"name": "plan", "ansible.builtin.include_role": {"name": "encompass.netlab.net_multihost", "tasks_from": "plan"}},
    {"name": "probe", "ansible.builtin.include_role": {"name": "encompass.netlab.verify", "tasks_from": "mesh"}},
    {"name": "report", "ansible.builtin.include_role": {"name": "encompass.netlab.verify", "tasks_from": "report"}},
]}]


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multihost")
    lab = Lab(2).up()
    try:
        host_vars = {name: {"net_multihost_underlay_ip": address} for name, address in lab.hosts.items()}
        lab.inventory_path = lab.inventory(tmp / "inventory.json", host_vars)
        lab.playbook = multihost_playbook(tmp / "multihost.yml")
        yield lab
    finally:
        lab.down()


def report(lab, tmp_path):
    play = tmp_path / "report.yml"
    play.write_text(json.dumps(REPORT_PLAY), encoding="utf-8")
    out = tmp_path / "report"
    result = run_playbook(str(play), "-i", str(lab.inventory_path), extra_vars={"net_mode": "multihost", "verify_report_dir": str(out)})
    data, edges = read_report(out)
    return result, data, edges


def tunnels(lab, host):
    """The host's tunnel interfaces as ovs-vsctl lists them: {name: (type, remote_ip)}."""
    rows = json.loads(lab.exec(host, "ovs-vsctl", "--format=json", "--columns=name,type,options", "list", "Interface").stdout)["data"]
    found = {}
    for name, kind, options in rows:
        options = dict(options[1])
        if "remote_ip" in options:
            found[name] = (kind, options["remote_ip"])
    return found


def test_report_draws_the_tunnel_and_shows_it_broken(lab, tmp_path):
    """The report's tunnels are what ovs-vsctl lists and its addresses what ip says; with one side's GRE port
    deleted, the report is still written, shows every cross-host path failed and the tunnel only on one host."""
    (host_a, host_b) = list(lab.hosts)
    first = run_playbook(str(lab.playbook), "-i", str(lab.inventory_path))
    assert first.rc == 0, first.stdout[-4000:]
    lab.load_image()
    lab.run_container(host_a, "ca")
    lab.run_container(host_b, "cb")
    result, data, edges = report(lab, tmp_path)
    assert result.rc == 0, result.stdout[-3000:]
    for host in (host_a, host_b):
        info = data["hosts"][host]
        mine = {i["name"]: (i["type"], i["options"]["remote_ip"]) for b in info["ovs"]["bridges"] for p in b["ports"]
                for i in p["interfaces"] if "remote_ip" in i["options"]}
        assert mine == tunnels(lab, host) and len(mine) == 1
        for container in info["containers"]:
            seen = json.loads(lab.exec(host, "docker", "exec", container["name"], "ip", "-j", "-4", "addr", "show", "eth0").stdout)[0]
            assert [i["addresses"] for i in container["interfaces"] if i["name"] == "eth0"] == [
                ["%s/%s" % (a["local"], a["prefixlen"]) for a in seen["addr_info"]]]
    tunnel = [e for e in edges if e[2] == "gre"]
    assert len(tunnel) == 1 and sorted(tunnel[0][0].split("->")) == sorted("%s/br0" % h for h in (host_a, host_b))
    probes = [e for e in edges if "probe" in (e[1] or "")]
    assert probes and all(cls == "edge probe-answered" for dummy, cls, dummy in probes)

    port = next(iter(tunnels(lab, host_a)))
    lab.exec(host_a, "ovs-vsctl", "del-port", port)
    try:
        broken, data, edges = report(lab, tmp_path)
        assert broken.rc != 0 and "failed: ping" in broken.stdout
        assert data["probes"] and not [p for p in data["probes"] if p["answered"]]
        assert [e[2] for e in edges if e[2].startswith("gre")] == ["gre (only on %s)" % host_b]
        assert all(cls == "edge probe-failed" for dummy, cls, dummy in edges if "probe" in (cls or ""))
    finally:
        repaired = run_playbook(str(lab.playbook), "-i", str(lab.inventory_path))
    assert repaired.rc == 0 and repaired.changed > 0, repaired.stdout[-3000:]
    again, dummy, dummy = report(lab, tmp_path)
    assert again.rc == 0, again.stdout[-3000:]


def test_switching_to_pipework_without_host_docker_bip(lab):
    """multihost set docker0 to 172.18.0.<index>/16; pipework sets nothing, so the host role takes bip out of
    daemon.json again (restarting dockerd, which keeps the address the bridge has), and pipework's addresses follow the
    bridge as the daemon made it - checked again once it runs - so the first run wires what the second accepts. (It
    failed before: pipework's plan checked its default 172.17.200.x against the running docker0 of multihost. Molecule
    sets host_docker_bip everywhere, which hid it.)"""
    lab.load_image("encompass/elastic_search:latest", "encompass/mongodb:latest", "encompass/tomcat7:latest")
    for host in lab.hosts:
        lab.exec(host, "docker", "rm", "-f", "ca", "cb", check=False)
    first = run_playbook("site.yml", "-i", str(lab.inventory_path), extra_vars={"net_mode": "pipework"})
    assert first.rc == 0, json.dumps(first.first_failure(), indent=1)[:4000]
    for host in lab.hosts:
        assert "bip" not in json.loads(lab.exec(host, "cat", "/etc/docker/daemon.json").stdout)
        bridge = json.loads(lab.exec(host, "docker", "network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]["Subnet"]
        pid = lab.exec(host, "docker", "inspect", "-f", "{{.State.Pid}}", "MongoDB").stdout.strip()
        static = "%s.200.10/16" % ".".join(bridge.split(".")[:2])
        eth1 = lab.exec(host, "nsenter", "-t", pid, "-n", "ip", "-4", "-o", "addr", "show", "eth1").stdout
        assert bridge.endswith(".0.0/16") and static in eth1, (bridge, static, eth1)
    again = run_playbook("site.yml", "-i", str(lab.inventory_path), extra_vars={"net_mode": "pipework"})
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert run_playbook("teardown.yml", "-i", str(lab.inventory_path)).rc == 0


def ovs_bridges(lab, host):
    return sorted(lab.exec(host, "ovs-vsctl", "list-br").stdout.split())


def test_a_renamed_bridge_leaves_nothing_of_the_old_one(lab):
    """The segment made with the OVS bridge br0, then with net_multihost_bridge renamed: the run removes br0 and its
    tunnels before it makes the new bridge (the host's record names br0), check mode predicts the same changes, and
    teardown.yml without the new name removes the new bridge (before, br0 and its tunnels stayed)."""
    inventory = str(lab.inventory_path)
    first = run_playbook("segment.yml", "-i", inventory, extra_vars={"net_mode": "multihost"})
    assert first.rc == 0, json.dumps(first.first_failure(), indent=1)[:4000]
    renamed = {"net_mode": "multihost", "net_multihost_bridge": "br-renamed"}
    predicted = run_playbook("segment.yml", "-i", inventory, check=True, extra_vars=renamed)
    moved = run_playbook("segment.yml", "-i", inventory, extra_vars=renamed)
    assert moved.rc == 0, json.dumps(moved.first_failure(), indent=1)[:4000]
    assert predicted.rc == 0, json.dumps(predicted.first_failure(), indent=1)[:4000]
    assert predicted.changed_tasks() == moved.changed_tasks()
    for host in lab.hosts:
        # (br-phy is the lab's underlay on OVS's userspace datapath: docs/lab.md.)
        assert "br0" not in ovs_bridges(lab, host) and "br-renamed" in ovs_bridges(lab, host)
        assert len(tunnels(lab, host)) == 1
    assert run_playbook("segment.yml", "-i", inventory, extra_vars=renamed).changed == 0
    assert run_playbook("teardown.yml", "-i", inventory).rc == 0
    for host in lab.hosts:
        assert "br-renamed" not in ovs_bridges(lab, host) and tunnels(lab, host) == {}
