# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults the next run repairs, on real daemons in Docker-in-Docker hosts, with the outage measured where traffic
stops (printed): dockerd restarted without systemd (pipework and multihost), Open vSwitch's daemons restarted, a
host rebooted (the segment works as soon as the repairing run ends), a run killed with SIGKILL while it wires,
and two runs of the same play against one host at once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, ansible_env, run_playbook  # pylint: disable=import-error
from dind_lab import Lab, ping  # pylint: disable=import-error

IMAGES = ("encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
          "encompass/tomcat7:latest")
BIN = Path(sys.executable).parent
POLICY_TASK = "Admit only the stack's own paths to its services (stack_policy off removes the policy)"


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    lab = Lab(2).up()
    try:
        lab.tmp = tmp_path_factory.mktemp("faults")
        lab.names = list(lab.hosts)
        lab.inventory_path = lab.inventory(lab.tmp / "inventory.json",
                                           {n: {"net_multihost_underlay_ip": a} for n, a in lab.hosts.items()})
        lab.single = lab.inventory(lab.tmp / "single.json", {}, only=lab.names[:1])
        ready = run_playbook("host.yml", "-i", str(lab.inventory_path))
        assert ready.rc == 0, ready.stdout[-3000:]
        lab.load_image(*IMAGES)
        yield lab
    finally:
        lab.down()


def site(lab, mode, inventory=None, **kwargs):
    return run_playbook("site.yml", "-i", str(inventory or lab.inventory_path), extra_vars={"net_mode": mode}, **kwargs)


def reachable(lab, host, container, address, port=27017):
    script = "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()"
    return lab.in_container(host, container, "python3", "-c", script, address, str(port), check=False).returncode == 0


def wiring(lab, host):
    """Every interface this collection made (host ends, container ends) and every address inside the stack's containers."""
    links = json.loads(lab.exec(host, "ip", "-j", "link").stdout)
    ours = sorted(l["ifname"] for l in links if "encompass.netlab" in (l.get("ifalias") or "") or l["ifname"].startswith("nlt"))
    inside = {}
    for name in ("MongoDB", "ElasticSearch", "Tomcat"):
        out = lab.exec(host, "docker", "exec", name, "ip", "-j", "addr", check=False).stdout
        inside[name] = sorted("%s %s/%d" % (l["ifname"], a["local"], a["prefixlen"]) for l in json.loads(out or "[]")
                              for a in l["addr_info"] if l["ifname"] != "lo" and a.get("scope") != "link")
    rules = lab.exec(host, "sh", "-c", "iptables-save | grep -c -- '-A FORWARD -i docker0 -o docker0 -j ACCEPT' || true").stdout.strip()
    return ours, inside, rules


def test_dockerd_restarted_pipework_repaired(lab):
    host = lab.names[0]
    assert site(lab, "pipework", lab.single).rc == 0
    assert reachable(lab, host, "Tomcat", "172.17.200.10")
    stopped = time.monotonic()
    lab.exec(host, "start-stop-daemon", "--stop", "--pidfile", "/var/run/docker.pid", "--retry", "20")
    repaired = site(lab, "pipework", lab.single)
    assert repaired.rc == 0, repaired.stdout[-3000:]
    assert reachable(lab, host, "Tomcat", "172.17.200.10")
    print("pipework: dockerd stopped -> static addresses answer again after the next run: %.1f s" % (time.monotonic() - stopped))
    ours, inside, rules = wiring(lab, host)
    assert len([i for i in ours if i.startswith("ve")]) == 3 and not [i for i in ours if i.startswith("nlt")], ours
    assert all(len([a for a in addrs if a.startswith("eth1 ")]) == 1 for addrs in inside.values()), inside
    assert site(lab, "pipework", lab.single).changed == 0


def test_a_run_killed_while_wiring_is_finished_by_the_next(lab):
    """The run is killed (SIGKILL, the whole process group) as soon as the first interface it wires appears."""
    host = lab.names[0]
    assert run_playbook("teardown.yml", "-i", str(lab.single)).rc == 0
    proc = subprocess.Popen([str(BIN / "ansible-playbook"), "-i", str(lab.single), "site.yml", "-e", "net_mode=pipework"],
                            cwd=ROOT / "playbooks", env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    started = time.monotonic()
    wired = "ip -o link | grep -c 'alias encompass.netlab' || true"
    while proc.poll() is None and lab.exec(host, "sh", "-c", wired).stdout.strip() in ("", "0"):
        time.sleep(0.1)
    subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
    assert proc.wait() == -9, "the run ended before it wired anything"
    print("killed %.1f s into the run, %s interface(s) wired" % (time.monotonic() - started, lab.exec(host, "sh", "-c", wired).stdout.strip()))
    finished = site(lab, "pipework", lab.single)
    assert finished.rc == 0, finished.stdout[-3000:]
    ours, inside, rules = wiring(lab, host)
    assert len([i for i in ours if i.startswith("ve")]) == 3 and not [i for i in ours if i.startswith("nlt")], ours
    assert all(len([a for a in addrs if a.startswith("eth1 ")]) == 1 for addrs in inside.values()), inside
    assert site(lab, "pipework", lab.single).changed == 0


def test_two_runs_at_once_make_nothing_twice(lab):
    """The collection's modules take a host-wide lock (flock on /run/encompass-netlab/host.lock) from reading to
    applying, so two runs serialise there; the containers are Docker's, whose names are unique."""
    host = lab.names[0]
    assert run_playbook("teardown.yml", "-i", str(lab.single)).rc == 0
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    procs = [subprocess.Popen([str(BIN / "ansible-playbook"), "-i", str(lab.single), "site.yml", "-e", "net_mode=pipework"],
                              cwd=ROOT / "playbooks", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for dummy in range(2)]
    outputs = [p.communicate()[0] for p in procs]
    ours, inside, rules = wiring(lab, host)
    assert len([i for i in ours if i.startswith("ve")]) == 3 and not [i for i in ours if i.startswith("nlt")], ours
    assert all(len([a for a in addrs if a.startswith("eth1 ")]) == 1 for addrs in inside.values()), inside
    assert rules in ("0", "1"), "the FORWARD rule was added %s times" % rules
    print("two runs at once: exit codes %s" % [p.returncode for p in procs])
    assert any(p.returncode == 0 for p in procs), outputs[0][-2000:]
    settled = site(lab, "pipework", lab.single)
    assert settled.rc == 0 and site(lab, "pipework", lab.single).changed == 0


def outage(lab, src, dst_ip, action, repair):
    """The longest time src's pings to dst_ip (every 0.2 s) went unanswered, from before the fault until after the
    repairing run; asserts that the segment answers as soon as the repairing run ends."""
    host, container = src
    lab.exec(host, "docker", "exec", "-d", container, "sh", "-c", "ping -D -i 0.2 -W 1 %s > /tmp/outage.log 2>&1" % dst_ip)
    time.sleep(1)
    action()
    repaired = repair()
    assert repaired.rc == 0, json.dumps(repaired.first_failure())[:3000]
    if not ping(lab, src, dst_ip, count=2):
        ended, diagnosis = time.monotonic(), {}
        for what, argv in {"neighbours": ["docker", "exec", container, "ip", "neigh"],
                           "tunnel neighbours": ["ovs-appctl", "tnl/neigh/show"],
                           "pings": ["docker", "exec", container, "tail", "-5", "/tmp/outage.log"]}.items():
            diagnosis[what] = lab.exec(host, *argv, check=False).stdout
        while not ping(lab, src, dst_ip, count=1) and time.monotonic() - ended < 30:
            pass
        raise AssertionError("the segment does not answer right after the repairing run (answered %.1f s later): %s"
                             % (time.monotonic() - ended, json.dumps(diagnosis, indent=1)))
    time.sleep(1)
    lab.exec(host, "docker", "exec", container, "pkill", "ping", check=False)
    log = lab.exec(host, "docker", "exec", container, "cat", "/tmp/outage.log").stdout
    answered = [float(line[1:line.index("]")]) for line in log.splitlines() if line.startswith("[") and "bytes from" in line]
    return max(later - earlier for earlier, later in zip(answered, answered[1:]))


def test_multihost_faults_are_repaired_by_the_next_run(lab):
    h1, h2 = lab.names
    assert site(lab, "multihost").rc == 0
    lab.run_container(h1, "probe")
    docker0_h2 = json.loads(lab.exec(h2, "ip", "-j", "-4", "addr", "show", "docker0").stdout)[0]["addr_info"][0]["local"]

    def es_address():
        return lab.exec(h2, "docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "ElasticSearch").stdout.strip()

    def repair():
        # The network's part of the next run: the host phase (daemons) and the segment (tunnels, docker0 announced).
        return run_playbook("segment.yml", "-i", str(lab.inventory_path), extra_vars={"net_mode": "multihost"})

    assert ping(lab, (h1, "probe"), es_address(), count=3)
    faults = {
        "dockerd restarted on %s" % h2:
            lambda: lab.exec(h2, "start-stop-daemon", "--stop", "--pidfile", "/var/run/docker.pid", "--retry", "20"),
        "ovsdb-server and ovs-vswitchd restarted on %s" % h2:
            lambda: lab.exec(h2, "/usr/share/openvswitch/scripts/ovs-ctl", "restart", "--system-id=random"),
        # docker0 comes back with another MAC; the run announces it, so the others need not wait for their neighbour
        # entries to expire (measured before the announcement: about 6 s after the run).
        "%s rebooted" % h2: lambda: subprocess.run(["docker", "restart", "-t", "0", h2], capture_output=True, check=True),
    }
    for what, fault in faults.items():
        print("fault: %s" % what, flush=True)
        seconds = outage(lab, (h1, "probe"), docker0_h2, fault, repair)
        assert ping(lab, (h1, "probe"), es_address(), count=3), what
        print("multihost: %s -> %s's docker0 did not answer %s for at most %.1f s (until the repairing run)"
              % (what, h2, h1, seconds))
    # The stack's policy lives in the kernel and is site.yml's, not the segment's: the rebooted host lost it, and its
    # containers came back with addresses of their own; the next full run writes it again, and changes nothing else.
    final = site(lab, "multihost")
    assert final.rc == 0 and set(final.changed_tasks()) <= {POLICY_TASK}, final.changed_tasks()
    assert "encompass_netlab" in lab.exec(h2, "nft", "list", "tables").stdout
