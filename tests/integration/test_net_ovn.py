# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OVN mode's segment on three Docker-in-Docker hosts (playbooks/segment.yml; the stack itself is the Molecule
scenario ovn's): growing from two hosts to three changes nothing on the hosts already there but what OVN does
itself (measured: the OVS rows that changed), restarts no container; a stopped host leaves the others talking (no
spanning tree to reconverge); the stopped host rejoins on the next run; a host taken out of the play leaves the
southbound database; teardown removes the switch and stops OVN's daemons, also while one host's daemons are down.
First the southbound database is moved from plain TCP to SSL with role-based access control, and every certificate
is renewed, without a lost ping. Containers on the switch are probes on ports of their own
(net_ovn_extra_ports), attached with veth_attach."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab  # pylint: disable=import-error


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    lab = Lab(3).up()
    try:
        lab.tmp = tmp_path_factory.mktemp("ovn")
        lab.names = list(lab.hosts)
        ready = run_playbook("host.yml", "-i", str(lab.inventory(lab.tmp / "all.json")))
        assert ready.rc == 0, ready.stdout[-3000:]
        lab.load_image()
        yield lab
    finally:
        lab.down()


def probe_port(lab, host):
    """The switch port and address of the probe container on host (index i: 172.29.i.50)."""
    index = lab.names.index(host) + 1
    address = "172.29.%d.50" % index
    mac = "0a:6e:ac:1d:%02x:32" % index
    return {"name": "probe-%d" % index, "addresses": ["%s %s" % (mac, address)]}, address, mac


def segment(lab, hosts, playbook="segment.yml", **more):
    """The ovn segment on the named hosts only, with stable indexes; the switch has a port for every lab host's probe
    from the start, so a host joining adds no port."""
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": lab.names.index(name) + 1}
                 for name in hosts}
    inventory = lab.inventory(lab.tmp / ("inventory-%d.json" % len(hosts)), host_vars, only=hosts)
    extra = {"net_mode": "ovn", "net_ovn_placement": {"mongodb": hosts[0], "elasticsearch": hosts[0], "tomcat": hosts[0]},
             "net_ovn_extra_ports": [probe_port(lab, h)[0] for h in lab.names], **more}
    result = run_playbook(playbook, "-i", str(inventory), extra_vars=extra)
    assert result.rc == 0, json.dumps(result.first_failure(), indent=1)[:4000] if result.first_failure() else (result.stdout + result.stderr)[-4000:]
    return result


def attach_probe(lab, host):
    """A plain container on the switch through its port (as net_ovn's attach does it for the stack)."""
    port, address, mac = probe_port(lab, host)
    lab.exec(host, "sh", "-c", "docker start probe 2>/dev/null || docker run -d --name probe --restart unless-stopped "
             "encompass/netlab-base:bookworm sleep infinity")
    task = {"encompass.netlab.veth_attach": {"container": "probe", "bridge": "br-int", "address": address + "/16", "mac": mac,
                                             "mtu": 1442, "tx_checksum_offload": False,
                                             "external_ids": {"iface-id": port["name"]}},
            "delegate_to": host}
    play = [{"hosts": host, "gather_facts": False, "tasks": [task]}]
    path = lab.tmp / "attach.json"
    path.write_text(json.dumps(play))
    result = run_playbook(str(path), "-i", str(lab.tmp / "all.json"))
    assert result.rc == 0, result.first_failure()
    return address


def changed_by_host(result):
    found = {}
    for task in result.tasks:
        for host, outcome in task["hosts"].items():
            if outcome.get("changed"):
                found.setdefault(host, []).append(task["task"]["name"].split(" : ", 1)[-1])
    return found


def ovs_rows(lab, host):
    out = lab.exec(host, "ovs-vsctl", "--format=json", "--columns=name,type,options", "list", "Interface").stdout
    return {row[0]: (row[1], json.dumps(row[2])) for row in json.loads(out)["data"]}


def started(lab, host):
    return lab.exec(host, "docker", "inspect", "-f", "{{.State.StartedAt}}", "probe", check=False).stdout.strip()


def reaches(lab, host, address, count=3):
    return lab.in_container(host, "probe", "ping", "-c", str(count), "-W", "1", address, check=False).returncode == 0


PKI = "/etc/ovn/netlab-pki"
# An OVSDB list_dbs request to the central's southbound port from another host: plain, over TLS without a
# certificate, or with that host's own key and certificate. Prints the answer's result, or why there was none.
ASK = """
import json, socket, ssl, sys
host, how = sys.argv[1], sys.argv[2]
try:
    sock = socket.create_connection((host, 6642), 3)
    sock.settimeout(3)
    if how != "plain":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.load_verify_locations("%(pki)s/ca.pem")
        if how == "certificate":
            context.load_cert_chain("%(pki)s/chassis.pem", "%(pki)s/chassis.key")
        sock = context.wrap_socket(sock)
    sock.sendall(b'{"method": "list_dbs", "params": [], "id": 0}')
    data = sock.recv(65536)
    print(json.dumps(json.loads(data)["result"]) if data else "closed")
except (OSError, ValueError) as exc:
    print("no answer: %%s %%s" %% (type(exc).__name__, exc))
""" % {"pki": PKI}


def ask(lab, host, central, how):
    return lab.exec(host, "python3", "-c", ASK, lab.hosts[central], how).stdout.strip()


def listeners(lab, host):
    """The TCP listeners of OVN's database ports (6641, 6642) on a host, as ADDRESS:PORT."""
    out = lab.exec(host, "ss", "-Hltn").stdout.split("\n")
    return sorted(line.split()[3] for line in out if line.strip() and line.split()[3].rsplit(":", 1)[-1] in ("6641", "6642"))


def serial(lab, host):
    return lab.exec(host, "openssl", "x509", "-noout", "-serial", "-in", PKI + "/chassis.pem").stdout.strip()


def pings_lost_during(lab, host, address, action):
    """Pings every 0.2 s from host's probe to address while action() runs: how many went unanswered."""
    lab.exec(host, "docker", "exec", "-d", "probe", "sh", "-c", "ping -i 0.2 -W 1 %s > /tmp/during.log 2>&1" % address)
    time.sleep(0.5)
    action()
    lab.exec(host, "docker", "exec", "probe", "pkill", "ping", check=False)
    log = lab.exec(host, "docker", "exec", "probe", "cat", "/tmp/during.log").stdout
    answered = sorted(int(seq) for seq in re.findall(r"icmp_seq=(\d+) ", log))
    assert len(answered) > 10, log[-2000:]
    # Every request up to the last answered one should have its answer.
    return answered[-1] - len(set(answered))


def moved_to_ssl(lab, h1, h2, addresses):
    """A segment wired with the southbound database on plain TCP (as before SSL was the default) is moved to SSL by
    the next run: the central then listens on its underlay address, port 6642, only, answers no plain and no
    certificate-less request, a chassis's own credentials cannot delete another chassis, and the probes keep
    reaching each other. A run that renews every certificate loses no ping."""
    assert "0.0.0.0:6642" in listeners(lab, h1) and "0.0.0.0:6641" in listeners(lab, h1)
    assert json.loads(ask(lab, h2, h1, "plain")) == ["OVN_Southbound", "_Server"], "the plain database did not answer"

    moved = segment(lab, [h1, h2])
    assert moved.changed > 0
    assert listeners(lab, h1) == ["%s:6642" % lab.hosts[h1]] and listeners(lab, h2) == []
    assert not ask(lab, h2, h1, "plain").startswith("["), "the southbound database answers plain OVSDB"
    refused = ask(lab, h2, h1, "tls")
    assert not refused.startswith("["), "the southbound database answers a TLS client without a certificate"
    assert json.loads(ask(lab, h2, h1, "certificate")) == ["OVN_Southbound", "_Server"]
    print("plain: %s; TLS without a certificate: %s" % (ask(lab, h2, h1, "plain"), refused))
    assert lab.exec(h2, "stat", "-c", "%a", PKI + "/chassis.key").stdout.strip() == "600"
    assert lab.exec(h2, "test", "-e", PKI + "/ca.key", check=False).returncode != 0, "the CA's key left the central"
    assert lab.exec(h2, "openssl", "x509", "-noout", "-subject", "-in", PKI + "/chassis.pem").stdout.strip() == "subject=CN = %s" % h2

    # Role-based access control: h2's own credentials may not delete h1's chassis.
    deleted = lab.exec(h2, "timeout", "20", "ovn-sbctl", "--db=ssl:%s:6642" % lab.hosts[h1], "--private-key=%s/chassis.key" % PKI,
                       "--certificate=%s/chassis.pem" % PKI, "--ca-cert=%s/ca.pem" % PKI, "chassis-del", h1, check=False)
    print("chassis-del %s with %s's certificate: rc %d %s" % (h1, h2, deleted.returncode, deleted.stderr.strip()))
    assert deleted.returncode != 0 and "RBAC" in deleted.stderr, deleted.stderr
    chassis = json.loads(lab.exec(h1, "ovn-sbctl", "--format=json", "--columns=name", "list", "Chassis").stdout)["data"]
    assert sorted(row[0] for row in chassis) == sorted([h1, h2])
    assert reaches(lab, h1, addresses[h2]) and reaches(lab, h2, addresses[h1])

    # The central serving plain TCP while its options say SSL (a run that ended between writing them and the
    # restart): the next run reads what the databases serve, and restarts them.
    ctl = "/usr/share/ovn/scripts/ovn-ctl"
    lab.exec(h1, ctl, "stop_northd")
    lab.exec(h1, ctl, "start_northd", "--db-nb-create-insecure-remote=yes", "--db-sb-create-insecure-remote=yes")
    # (The southbound port is taken by the listener row first; the northbound database is open on every address.)
    assert "0.0.0.0:6641" in listeners(lab, h1), listeners(lab, h1)
    segment(lab, [h1, h2])
    assert listeners(lab, h1) == ["%s:6642" % lab.hosts[h1]]
    assert json.loads(ask(lab, h2, h1, "certificate")) == ["OVN_Southbound", "_Server"]
    again = segment(lab, [h1, h2])
    assert again.changed == 0, changed_by_host(again)

    # Every certificate within the renewal days: the run signs them anew; the daemons read the new files themselves.
    before = {h: serial(lab, h) for h in (h1, h2)}
    lost = pings_lost_during(lab, h1, addresses[h2], lambda: segment(lab, [h1, h2], net_ovn_cert_renew_days=400))
    assert all(serial(lab, h) != before[h] for h in (h1, h2)), "a certificate was not renewed"
    assert lost == 0, "%d pings lost while the certificates were renewed" % lost
    assert json.loads(ask(lab, h2, h1, "certificate")) == ["OVN_Southbound", "_Server"]


def test_ssl_grow_stop_rejoin_shrink_and_teardown(lab):
    h1, h2, h3 = lab.names
    segment(lab, [h1, h2], net_ovn_ssl=False)
    addresses = {h: attach_probe(lab, h) for h in (h1, h2)}
    assert reaches(lab, h1, addresses[h2])
    # Moved to SSL, converged (changed=0), certificates renewed; the next run (h3 joins) shows nothing else changes.
    moved_to_ssl(lab, h1, h2, addresses)

    # A third host joins: on the two already there only the segment's record changes (it gains the host); OVN
    # adds one tunnel on each.
    before = {h: (ovs_rows(lab, h), started(lab, h)) for h in (h1, h2)}
    grown = segment(lab, [h1, h2, h3])
    changed = changed_by_host(grown)
    assert changed.get(h1) == changed.get(h2) == ["Record the segment's host indexes"], changed
    assert changed.get(h3)
    for host in (h1, h2):
        rows, since = before[host]
        now = ovs_rows(lab, host)
        added = {n: t for n, t in now.items() if n not in rows}
        assert [t[0] for t in added.values()] == ["geneve"] and lab.hosts[h3] in json.dumps(added), added
        assert {n: t for n, t in rows.items() if n not in now} == {}, "rows removed"
        assert started(lab, host) == since, "a container restarted"
        print("OVN added on %s when %s joined: %s" % (host, h3, added))
    addresses[h3] = attach_probe(lab, h3)
    assert reaches(lab, h3, addresses[h1]) and reaches(lab, h3, addresses[h2])

    # A stopped host: the other two keep talking (a probe every 0.2 s for 5 s across the stop).
    subprocess.run(["docker", "stop", "-t", "0", h2], capture_output=True, check=True)
    stopped_at, lost = time.monotonic(), 0
    while time.monotonic() - stopped_at < 5:
        lost += not reaches(lab, h3, addresses[h1], count=1)
        time.sleep(0.2)
    assert lost == 0, "%s lost %s %d times while %s was down" % (h3, h1, lost, h2)

    # It rejoins on the next run (its daemons start again; its probe, restarted by Docker, is attached again).
    subprocess.run(["docker", "start", h2], capture_output=True, check=True)
    segment(lab, [h1, h2, h3])
    attach_probe(lab, h2)
    assert reaches(lab, h1, addresses[h2]) and reaches(lab, h3, addresses[h2])
    assert segment(lab, [h1, h2, h3]).changed == 0

    # A host taken out of the play (and down) leaves the southbound database.
    subprocess.run(["docker", "stop", "-t", "0", h3], capture_output=True, check=True)
    shrunk = segment(lab, [h1, h2])
    chassis = json.loads(lab.exec(h1, "ovn-sbctl", "--format=json", "--columns=name", "list", "Chassis").stdout)["data"]
    assert sorted(row[0] for row in chassis) == sorted([h1, h2])
    assert "remove chassis %s" % h3 in json.dumps(shrunk.tasks)
    assert reaches(lab, h1, addresses[h2])

    # Teardown while one host's daemons are down (it restarted, and without systemd nothing starts them): the run
    # finishes, tears the rest down, and says what it left on that host, whose record stays for the next teardown.
    subprocess.run(["docker", "restart", "-t", "0", h2], capture_output=True, check=True)
    down = segment(lab, [h1, h2], playbook="teardown.yml")
    assert "%s: the Docker engine does not run" % h2 in json.dumps(down.tasks), json.dumps(down.tasks)[-3000:]
    # The switch is gone from the northbound database (read from its file: the central is stopped), nothing listens.
    switches = lab.exec(h1, "ovsdb-tool", "query", "/var/lib/ovn/ovnnb_db.db",
                        '["OVN_Northbound", {"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}]').stdout
    assert json.loads(switches)[0]["rows"] == [], switches
    assert listeners(lab, h1) == [] and lab.exec(h1, "pgrep", "-x", "ovn-controller", check=False).returncode != 0
    assert lab.exec(h2, "cat", "/etc/encompass-netlab/net_mode").stdout.strip() == "ovn"
    assert lab.exec(h1, "test", "-e", "/etc/encompass-netlab/net_mode", check=False).returncode != 0
