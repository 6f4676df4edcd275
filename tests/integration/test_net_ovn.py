# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OVN mode on three Docker-in-Docker hosts: growing from two hosts to three changes nothing on the hosts
already there but what OVN does itself (measured: the OVS rows that changed), restarts no container; a stopped
host leaves the others talking (no spanning tree to reconverge); the stopped host rejoins on the next run;
teardown removes the ports and the switch; bad input fails before any change."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab  # pylint: disable=import-error

STACK_IMAGES = ("encompass/elastic_search:latest", "encompass/mongodb:latest", "encompass/tomcat7:latest")


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    lab = Lab(3).up()
    try:
        lab.tmp = tmp_path_factory.mktemp("ovn")
        lab.names = list(lab.hosts)
        # The hosts' Docker engines must run before images can be loaded into them.
        ready = run_playbook("host.yml", "-i", str(lab.inventory(lab.tmp / "all.json")))
        assert ready.rc == 0, ready.stdout[-3000:]
        for image in ("encompass/netlab-base:bookworm",) + STACK_IMAGES:
            lab.load_image(image)
        yield lab
    finally:
        lab.down()


def site(lab, hosts, placement, playbook="site.yml", **extra):
    """site.yml in ovn mode on the named hosts only, with stable indexes and a fixed placement."""
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": lab.names.index(name) + 1}
                 for name in hosts}
    inventory = lab.inventory(lab.tmp / ("inventory-%d.json" % len(hosts)), host_vars, only=hosts)
    extra_vars = dict({"net_mode": "ovn", "net_ovn_placement": placement}, **extra)
    return run_playbook(playbook, "-i", str(inventory), extra_vars=extra_vars)


def changed_by_host(result):
    found = {}
    for task in result.tasks:
        for host, outcome in task["hosts"].items():
            if outcome.get("changed"):
                found.setdefault(host, []).append(task["task"]["name"].split(" : ", 1)[-1])
    return found


def ovs_rows(lab, host):
    """Every OVS port and interface with its type and the options OVN's tunnels carry."""
    out = lab.exec(host, "ovs-vsctl", "--format=json", "--columns=name,type,options", "list", "Interface").stdout
    return {row[0]: (row[1], json.dumps(row[2])) for row in json.loads(out)["data"]}


def started(lab, host):
    out = lab.exec(host, "docker", "ps", "-q", check=False).stdout.split()
    if not out:
        return {}
    info = json.loads(lab.exec(host, "docker", "inspect", *out).stdout)
    return {c["Name"]: c["State"]["StartedAt"] for c in info}


def dockerd_pid(lab, host):
    return lab.exec(host, "cat", "/var/run/docker.pid").stdout.strip()


def connect(lab, host, container, address, port, timeout=2, tries=3):
    """A TCP connection from inside container; the first packets of a new flow through OVS can be lost."""
    script = ("import socket, sys\nfor attempt in range(%d):\n    try:\n        socket.create_connection((sys.argv[1], int(sys.argv[2])),"
              " %d).close()\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit(1)" % (tries, timeout))
    return lab.in_container(host, container, "python3", "-c", script, address, str(port), check=False).returncode == 0


def test_grow_stop_rejoin_and_teardown(lab):
    h1, h2, h3 = lab.names
    two = {"mongodb": h1, "elasticsearch": h2, "tomcat": h1}
    first = site(lab, [h1, h2], two)
    assert first.rc == 0, first.first_failure()
    again = site(lab, [h1, h2], two)
    assert again.rc == 0 and again.changed == 0, changed_by_host(again)

    before = {h: (ovs_rows(lab, h), started(lab, h), dockerd_pid(lab, h)) for h in (h1, h2)}
    grown = site(lab, [h1, h2, h3], two)
    assert grown.rc == 0, grown.first_failure()
    changed = changed_by_host(grown)
    # Nothing of ours changes on the hosts already there; the new host is set up from scratch.
    assert not changed.get(h1) and not changed.get(h2), changed
    assert changed.get(h3)
    for host in (h1, h2):
        rows, containers, pid = before[host]
        now = ovs_rows(lab, host)
        added = {n: t for n, t in now.items() if n not in rows}
        # What OVN did by itself: one Geneve tunnel to the new chassis on br-int, nothing else.
        assert [t[0] for t in added.values()] == ["geneve"] and lab.hosts[h3] in json.dumps(added), added
        assert {n: t for n, t in rows.items() if n not in now} == {}, "rows removed"
        assert started(lab, host) == containers and dockerd_pid(lab, host) == pid, "a container or dockerd restarted"
        print("OVN added on %s when %s joined: %s" % (host, h3, added))

    # Tomcat on the third host: its paths to MongoDB (h1) do not cross h2.
    three = {"mongodb": h1, "elasticsearch": h2, "tomcat": h3}
    moved = site(lab, [h1, h2, h3], three)
    assert moved.rc == 0, moved.first_failure()
    mongodb = json.loads(lab.exec(h1, "docker", "exec", "MongoDB", "ip", "-j", "-4", "addr", "show", "eth1").stdout)
    moved_address = mongodb[0]["addr_info"][0]["local"]
    assert connect(lab, h3, "Tomcat", moved_address, 27017)

    # A stopped host: the other two keep talking at once (probe every 0.2 s across the stop).
    subprocess.run(["docker", "stop", "-t", "0", h2], capture_output=True, check=True)
    stopped_at = time.monotonic()
    failures = 0
    while time.monotonic() - stopped_at < 5:
        failures += not connect(lab, h3, "Tomcat", moved_address, 27017, timeout=1, tries=1)
        time.sleep(0.2)
    assert failures == 0, "Tomcat lost MongoDB %d times while another host was down" % failures

    # The stopped host rejoins on the next run (its daemons and containers come back, and the switch is whole).
    subprocess.run(["docker", "start", h2], capture_output=True, check=True)
    rejoined = site(lab, [h1, h2, h3], three)
    assert rejoined.rc == 0, json.dumps(rejoined.first_failure(), indent=1)[:6000]
    assert any(t["task"]["name"].endswith("Every endpoint is reachable") for t in rejoined.tasks)
    assert site(lab, [h1, h2, h3], three).changed == 0

    # A host taken out of the play (and down): its chassis leaves the southbound database on the next run.
    subprocess.run(["docker", "stop", "-t", "0", h3], capture_output=True, check=True)
    shrunk = site(lab, [h1, h2], two)
    assert shrunk.rc == 0, shrunk.first_failure()
    chassis = json.loads(lab.exec(h1, "ovn-sbctl", "--format=json", "--columns=name", "list", "Chassis").stdout)["data"]
    assert sorted(row[0] for row in chassis) == sorted([h1, h2])
    assert "remove chassis %s" % h3 in json.dumps(shrunk.tasks)

    gone = site(lab, [h1, h2], two, playbook="teardown.yml")
    assert gone.rc == 0, gone.first_failure()
    switches = lab.exec(h1, "ovn-nbctl", "--format=json", "list", "Logical_Switch").stdout
    assert json.loads(switches)["data"] == []
    assert all(started(lab, h) == {} for h in (h1, h2))
