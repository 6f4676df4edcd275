# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OVN mode against the OVS tunnel mesh (multihost) and Docker Swarm's overlay, on Docker-in-Docker hosts.
Figures are printed, never asserted; ratios are against the same-host figure of the same run.

For each of multihost and ovn, on six hosts: the wall time of the run that adds host N (N = 2, 4, 6) and how many
tasks changed on the hosts already there; then RTT and TCP throughput between containers on two hosts; then how
long two survivors cannot reach each other while a third host is killed. For Docker Swarm (the overlay users
pick instead): setup time, RTT and throughput between two hosts.
With the argument `ssl`, only what SSL costs: ovn with its southbound database over SSL (the default) and over plain
TCP (net_ovn_ssl=false), each grown from 2 to 4 hosts in the same run.
Run: .venv/bin/python bench/ovn.py [ssl]   (needs root and dockerd; make images first)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error
from dind_lab import Lab, ping, tcp_transfer  # noqa: E402  pylint: disable=wrong-import-position,import-error

MIB = 1024 * 1024
SIZE = 50 * MIB
STACK_IMAGES = ("encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
                "encompass/tomcat7:latest")


def rtt(lab, src, dst_ip, count=20):
    out = lab.in_container(src[0], src[1], "ping", "-c", str(count), "-i", "0.05", "-q", dst_ip, check=False).stdout
    found = re.search(r"= [\d.]+/([\d.]+)/", out)
    return float(found.group(1)) if found else float("nan")


def throughput(lab, src, dst, dst_ip):
    best = 0.0
    for dummy in range(2):
        received, seconds = tcp_transfer(lab, src, dst, dst_ip, SIZE)
        if received == SIZE and seconds > 0:
            best = max(best, SIZE * 8 / seconds / 1e6)
    return best


def same_host(lab, host):
    """Two plain containers on one host's docker0: the baseline every ratio is against."""
    a, b = lab.run_container(host, "bench-a"), lab.run_container(host, "bench-b")
    del a
    return rtt(lab, (host, "bench-a"), b), throughput(lab, (host, "bench-a"), (host, "bench-b"), b)


def inventory(lab, tmp, hosts):
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": list(lab.hosts).index(name) + 1}
                 for name in hosts}
    return lab.inventory(Path(tmp) / ("inventory-%d.json" % len(hosts)), host_vars, only=hosts)


def changed_elsewhere(result, new_host):
    """Changed tasks on the hosts already there (not the topology report, which the controller rewrites)."""
    return sum(1 for task in result.tasks for host, outcome in task["hosts"].items()
               if outcome.get("changed") and host != new_host and not task["task"]["name"].startswith("Write topology"))


def prepare(lab, tmp):
    """Every host of the lab a Docker host (host.yml) with the stack's images loaded."""
    ready = run_playbook("host.yml", "-i", str(lab.inventory(Path(tmp) / "all.json")))
    if ready.rc != 0:
        raise SystemExit("host.yml failed:\n" + ready.stdout[-3000:])
    for image in STACK_IMAGES:
        lab.load_image(image)


def grow(lab, tmp, mode, placement, extra=None):
    """Add hosts one by one up to all of the lab's; return {N: (seconds, changed tasks on the hosts already there)}."""
    names = list(lab.hosts)
    figures = {}
    for count in range(2, len(names) + 1):
        start = time.monotonic()
        result = run_playbook("site.yml", "-i", str(inventory(lab, tmp, names[:count])),
                              extra_vars=dict({"net_mode": mode, "net_multihost_placement": placement,
                                               "net_ovn_placement": placement}, **(extra or {})))
        seconds = time.monotonic() - start
        if result.rc != 0:
            raise SystemExit("%s with %d hosts failed:\n%s" % (mode, count, result.stdout[-3000:]))
        figures[count] = (seconds, changed_elsewhere(result, names[count - 1]) if count > 2 else None)
    return figures


def segment_address(lab, host, container, interface):
    out = lab.in_container(host, container, "ip", "-j", "-4", "addr", "show", "dev", interface).stdout
    return json.loads(out)[0]["addr_info"][0]["local"]


def outage(lab, src, dst_ip, victim):
    """Seconds during which src cannot reach dst_ip after victim (a third host) is killed (probes every 0.1 s, 15 s)."""
    subprocess.run(["docker", "kill", victim], capture_output=True, check=False)
    killed = time.monotonic()
    lost = 0.0
    while time.monotonic() - killed < 15:
        start = time.monotonic()
        if not ping(lab, src, dst_ip, count=1):
            lost += time.monotonic() - start
        time.sleep(0.1)
    return lost


def rstp_root(lab, names):
    """The host whose OVS bridge is the spanning tree's root (the worst host to lose in a mesh), or None."""
    for name in names:
        ids = lab.exec(name, "ovs-vsctl", "get", "Bridge", "br0", "rstp_status:rstp_bridge_id", "rstp_status:rstp_root_id",
                       check=False).stdout.split()
        if len(ids) == 2 and ids[0] == ids[1]:
            return name
    return None


def mesh_mode(mode):
    lab = Lab(6, subnet="10.99.5.0/24").up()
    names = list(lab.hosts)
    placement = {"mongodb": names[0], "elasticsearch": names[1], "tomcat": names[0]}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prepare(lab, tmp)
            figures = grow(lab, tmp, mode, placement)
            interface = "eth1" if mode == "ovn" else "eth0"
            src, dst = (names[0], "MongoDB"), (names[1], "ElasticSearch")
            dst_ip = segment_address(lab, dst[0], dst[1], interface)
            base_rtt, base_tput = same_host(lab, names[0])
            cross = rtt(lab, src, dst_ip), throughput(lab, src, dst, dst_ip)
            root = rstp_root(lab, names) if mode == "multihost" else None
            victim = root if root not in (None, *names[:2]) else names[2]
            lost = outage(lab, src, dst_ip, victim)
            what = "%s (%s)" % (victim, "the RSTP root" if victim == root else "RSTP root: %s" % root) if mode == "multihost" else victim
            return figures, (base_rtt, base_tput), cross, (lost, what)
    finally:
        lab.down()


def swarm():
    lab = Lab(2, subnet="10.99.6.0/24").up()
    names = list(lab.hosts)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run_playbook("host.yml", "-i", str(lab.inventory(Path(tmp) / "all.json")))
            lab.load_image()
            start = time.monotonic()
            lab.exec(names[0], "docker", "swarm", "init", "--advertise-addr", lab.hosts[names[0]])
            token = lab.exec(names[0], "docker", "swarm", "join-token", "-q", "worker").stdout.strip()
            lab.exec(names[1], "docker", "swarm", "join", "--token", token, "%s:2377" % lab.hosts[names[0]])
            lab.exec(names[0], "docker", "network", "create", "-d", "overlay", "--attachable", "bench-overlay")
            for host, name in ((names[0], "sw-a"), (names[1], "sw-b")):
                lab.exec(host, "docker", "run", "-d", "--name", name, "--network", "bench-overlay",
                         "encompass/netlab-base:bookworm", "sleep", "3600")
            setup = time.monotonic() - start
            dst_ip = segment_address(lab, names[1], "sw-b", "eth0")
            base = same_host(lab, names[0])
            cross = rtt(lab, (names[0], "sw-a"), dst_ip), throughput(lab, (names[0], "sw-a"), (names[1], "sw-b"), dst_ip)
            return setup, base, cross
    finally:
        lab.down()


def ssl_cost(count=4):
    """{ssl: {N: (seconds, changed elsewhere)}} for ovn grown from 2 to count hosts, over SSL and over plain TCP."""
    figures = {}
    for ssl in (True, False):
        lab = Lab(count, subnet="10.99.5.0/24").up()
        names = list(lab.hosts)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                prepare(lab, tmp)
                placement = {"mongodb": names[0], "elasticsearch": names[1], "tomcat": names[0]}
                figures[ssl] = grow(lab, tmp, "ovn", placement, {"net_ovn_ssl": ssl})
        finally:
            lab.down()
    print("\nOVN, the run that adds host N (site.yml wall time), southbound database over SSL and over plain TCP:")
    for hosts in sorted(figures[True]):
        with_ssl, plain = figures[True][hosts][0], figures[False][hosts][0]
        print("  N=%d   SSL %6.1f s   plain TCP %6.1f s   SSL/plain %.2f" % (hosts, with_ssl, plain, with_ssl / plain))


def main():
    if sys.argv[1:] == ["ssl"]:
        ssl_cost()
        return
    results = {mode: mesh_mode(mode) for mode in ("multihost", "ovn")}
    sw_setup, sw_base, sw_cross = swarm()
    print("\nAdding a host (site.yml; OVS GRE mesh vs OVN), wall time and changed tasks on the hosts already there:")
    for count in (2, 4, 6):
        row = "  N=%d" % count
        for mode in ("multihost", "ovn"):
            seconds, changed = results[mode][0][count]
            row += "   %-9s %6.1f s, %s changed elsewhere" % (mode, seconds, "-" if changed is None else changed)
        print(row)
    print("\nBetween two hosts (50 MiB TCP, 20 pings), against two containers on one host's docker0 in the same run:")
    for mode in ("multihost", "ovn"):
        dummy, (b_rtt, b_tput), (c_rtt, c_tput), (lost, victim) = results[mode]
        print("  %-9s RTT %.3f ms (%.1fx same host %.3f)   TCP %.0f Mbit/s (%.2f of same host %.0f)   outage while %s"
              " is killed: %.1f s" % (mode, c_rtt, c_rtt / b_rtt, b_rtt, c_tput, c_tput / b_tput, b_tput, victim, lost))
    print("  %-9s RTT %.3f ms (%.1fx same host %.3f)   TCP %.0f Mbit/s (%.2f of same host %.0f)   set up in %.1f s"
          % ("swarm", sw_cross[0], sw_cross[0] / sw_base[0], sw_base[0], sw_cross[1], sw_cross[1] / sw_base[1], sw_base[1], sw_setup))


if __name__ == "__main__":
    main()
