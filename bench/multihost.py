# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The multihost overlays compared on Docker-in-Docker hosts (docs/lab.md): RTT (ping, 20 probes) and TCP
throughput (100 MiB) between two containers on one host, across kernel VXLAN, OVS GRE and OVS VXLAN,
each as a ratio to the same-host figure of the same run; then the time a three-host RSTP mesh takes
to let the two survivors reach each other after the root bridge's host is stopped.
Figures are printed, never asserted.
Run: .venv/bin/python bench/multihost.py   (needs root, dockerd and the lab images: make images)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from dind_lab import Lab, multihost_playbook, tcp_transfer  # noqa: E402  pylint: disable=wrong-import-position,import-error

BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "playbooks" / "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
MIB = 1024 * 1024
SIZE = 100 * MIB


def converge(lab, tmp, **role_vars):
    names = list(lab.hosts)
    host_vars = {name: dict(net_multihost_underlay_ip=lab.hosts[name], net_multihost_index=i + 1, **role_vars)
                 for i, name in enumerate(names)}
    inventory = lab.inventory(Path(tmp) / "inventory.json", host_vars)
    playbook = multihost_playbook(Path(tmp) / "multihost.yml")
    proc = subprocess.run([str(BIN / "ansible-playbook"), str(playbook), "-i", str(inventory)], cwd=ROOT / "playbooks",
                          env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("net_multihost failed:\n%s" % proc.stdout[-3000:])


def rtt(lab, src, dst_ip):
    """Average RTT in ms of 20 pings (after one to warm the path)."""
    lab.in_container(src[0], src[1], "ping", "-c", "3", "-W", "1", dst_ip, check=False)
    out = lab.in_container(src[0], src[1], "ping", "-q", "-c", "20", "-i", "0.2", dst_ip).stdout
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


def measure(lab, src_host, dst_host):
    """(RTT ms, Mbit/s) from a fresh container on src_host to one on dst_host."""
    lab.run_container(src_host, "bench-a")
    dst_ip = lab.run_container(dst_host, "bench-b")
    latency = rtt(lab, (src_host, "bench-a"), dst_ip)
    received, seconds = tcp_transfer(lab, (src_host, "bench-a"), (dst_host, "bench-b"), dst_ip, SIZE)
    assert received == SIZE, "the transfer lost data: %d of %d bytes" % (received, SIZE)
    for host in sorted({src_host, dst_host}):
        lab.exec(host, "docker", "rm", "-f", "bench-a", "bench-b", check=False)
    return latency, SIZE * 8 / seconds / 1e6


def overlays():
    rows = []
    lab = Lab(2).up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            (h1, h2) = list(lab.hosts)
            # Kernel VXLAN first: once OVS's userspace datapath owns the NIC (br-phy), the kernel's
            # packets would go through it too.
            converge(lab, tmp, net_multihost_overlay="kernel_vxlan")
            lab.load_image()
            rows.append(("same host", measure(lab, h1, h1)))
            rows.append(("kernel VXLAN", measure(lab, h1, h2)))
            converge(lab, tmp, net_multihost_overlay="ovs", net_multihost_tunnel_type="gre")
            rows.append(("OVS GRE", measure(lab, h1, h2)))
            converge(lab, tmp, net_multihost_overlay="ovs", net_multihost_tunnel_type="vxlan")
            rows.append(("OVS VXLAN", measure(lab, h1, h2)))
    finally:
        lab.down()
    base_rtt, base_tput = rows[0][1]
    print("two containers, 20 pings and %d MiB over TCP (ratios to the same-host figures of this run):" % (SIZE // MIB))
    print("  %-13s %9s %7s %12s %7s" % ("path", "RTT ms", "ratio", "Mbit/s", "ratio"))
    for name, (latency, tput) in rows:
        print("  %-13s %9.3f %7.2f %12.0f %7.3f" % (name, latency, latency / base_rtt, tput, tput / base_tput))


def recovery():
    lab = Lab(3).up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            converge(lab, tmp, net_multihost_overlay="ovs", net_multihost_tunnel_type="gre")
            lab.load_image()
            names = list(lab.hosts)
            addresses = {host: lab.run_container(host, "bench") for host in names}
            time.sleep(8)  # let RSTP settle
            root = None
            for host in names:
                ids = lab.exec(host, "ovs-vsctl", "get", "Bridge", "br0", "rstp_status:rstp_bridge_id",
                               "rstp_status:rstp_root_id").stdout.split()
                if ids[0] == ids[1]:
                    root = host
            survivors = [h for h in names if h != root]
            assert lab.in_container(survivors[0], "bench", "ping", "-c", "3", "-W", "1", addresses[survivors[1]],
                                    check=False).returncode == 0
            subprocess.run(["docker", "kill", root], capture_output=True, check=True)
            stopped = time.monotonic()
            while lab.in_container(survivors[0], "bench", "ping", "-c", "1", "-W", "1", addresses[survivors[1]],
                                   check=False).returncode != 0:
                if time.monotonic() - stopped > 60:
                    print("mesh3: no recovery within 60 s")
                    return
            print("mesh3 (OVS GRE, RSTP): root bridge's host stopped; the survivors reach each other after %.1f s"
                  % (time.monotonic() - stopped))
    finally:
        lab.down()


def main():
    overlays()
    recovery()


if __name__ == "__main__":
    main()
