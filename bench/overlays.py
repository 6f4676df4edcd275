# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every cross-host path between two containers, on the same pair of Docker-in-Docker hosts, in one run.

Paths, in this order (the kernel's paths first: once Open vSwitch's userspace datapath owns the underlay NIC, the
kernel's packets would go through it too):
  same host (two containers on one docker0: the baseline every ratio is against), kernel VXLAN (multihost,
  net_multihost_overlay=kernel_vxlan), Docker Swarm's overlay, the OVS GRE and VXLAN mesh (multihost) and OVN (site.yml
  in ovn mode, MongoDB on one host and Elasticsearch on the other, over their eth1) - each OVS path with Open vSwitch's
  userspace TSO off (the default) and on (other_config:userspace-tso-enable, read when ovs-vswitchd starts: the bench
  stops it and the next run of the playbook starts it again, as it repairs any stopped daemon).
For each path, three rounds of: RTT (20 pings), TCP throughput (SIZE bytes of seeded random data, whose SHA-256 the far
end computes and compares: a path that corrupts or loses data is reported as such, not as fast), and a ping with the
don't-fragment bit at the source container's MTU. Printed: the median and the range of the three, and the ratios to the
same-host medians. Figures are printed, never asserted.
The hosts run Debian 12 (Open vSwitch 3.1) by default, Debian 13 (Open vSwitch 3.5) with --release trixie: its host
image is built first when it is missing or out of date (playbooks/lab_images.yml, lab_images_trixie_host).
Run: .venv/bin/python bench/overlays.py [--release bookworm|trixie]   (needs root, dockerd and the lab images: make images)
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error
from dind_lab import HOST_IMAGE, Lab, multihost_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error

MIB = 1024 * 1024
SIZE = 64 * MIB
ROUNDS = 3
# The stack's policy lets its containers reach each other on ICMP and this port only (verify's transfer; OVN's ACL).
PORT = 5001
STACK_IMAGES = ("encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
                "encompass/tomcat7:latest")

# The far end: hash what one connection brings, send back "<bytes> <sha256>".
SINK = """
import hashlib, socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(1)
server.settimeout(60)
conn, peer = server.accept()
conn.settimeout(60)
digest, total = hashlib.sha256(), 0
while True:
    data = conn.recv(262144)
    if not data:
        break
    digest.update(data)
    total += len(data)
conn.sendall(("%d %s" % (total, digest.hexdigest())).encode())
conn.close()
"""
# The near end: SIZE bytes of seeded random data (made before the clock starts), "<sent sha256> <far end's answer>
# <seconds>".
SOURCE = """
import hashlib, random, socket, sys, time
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = random.Random(7).randbytes(1 << 20)
data = (block * (size // len(block) + 1))[:size]
deadline = time.time() + 15
while True:
    try:
        conn = socket.create_connection((host, port), timeout=10)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
started = time.time()
conn.sendall(data)
conn.shutdown(socket.SHUT_WR)
answer = conn.recv(200).decode()
print(hashlib.sha256(data).hexdigest(), answer, round(time.time() - started, 4))
"""


def playbook(name, lab, tmp, extra_vars, **role_vars):
    """Run a playbook on the lab's two hosts (role_vars on every host); stop the bench with its first failure."""
    host_vars = {host: dict(net_multihost_underlay_ip=lab.hosts[host], net_multihost_index=i + 1, **role_vars)
                 for i, host in enumerate(lab.hosts)}
    result = run_playbook(name, "-i", str(lab.inventory(Path(tmp) / "inventory.json", host_vars)), extra_vars=extra_vars)
    if result.rc != 0:
        raise SystemExit("%s failed: %s\n%s" % (name, json.dumps(result.first_failure()), result.stdout[-3000:]))


def multihost(lab, tmp, **role_vars):
    playbook(str(multihost_playbook(Path(tmp) / "multihost.yml")), lab, tmp, None, **role_vars)


def ovn(lab, tmp):
    (h1, h2) = list(lab.hosts)
    placement = {"mongodb": h1, "elasticsearch": h2, "tomcat": h1}
    # The images loaded into the hosts (bookworm's): a trixie host would build its own base image first, over apt and
    # debootstrap, whose TCP the lab's br-phy does not carry (docs/lab.md); the bench measures paths, not builds.
    playbook("site.yml", lab, tmp, {"net_mode": "ovn", "net_ovn_placement": placement, "stack_base_image": STACK_IMAGES[0]})


def set_tso(lab, enabled):
    """userspace-tso-enable on every host; ovs-vswitchd stopped, so that the next playbook run starts it with it.

    Only ever off -> on here: OVS 3.1 keeps the checksum and TSO offloads an ovs-vswitchd with TSO on gave its internal
    ports' tap devices (br-phy, which holds the underlay address) after it restarts with TSO off, and then fills in no
    checksum of what the host sends through them: ping still passed, TCP did not (OVN's southbound connection timed
    out). Seen in this bench's first version, which turned TSO off again between the paths."""
    for host in lab.hosts:
        lab.exec(host, "ovs-vsctl", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=%s" % str(enabled).lower())
        lab.exec(host, "ovs-appctl", "-t", "ovs-vswitchd", "exit", check=False)


def tso_label(lab, asked):
    """'off', or 'on' when every host's ovs-vswitchd said at its last start that it enabled userspace TSO ('on?' when
    it was asked to and did not say so)."""
    if not asked:
        return "off"
    # Since the last start (its log lines count from 00001 again); a running ovs-vswitchd also says so when it is set,
    # but the ports it has open keep what they had.
    said = [lab.exec(host, "awk", r"/\|00001\|/ {on = 0} /Segmentation Offloading support enabled/ {on = 1} END {print on}",
                     "/var/log/openvswitch/ovs-vswitchd.log", check=False).stdout.strip() for host in lab.hosts]
    return "on" if said == ["1"] * len(said) else "on?"


def one_round(lab, src, dst, dst_ip):
    """(RTT ms or None, Mbit/s or None, 'ok' or what went wrong, whether a DF ping at the MTU passed, the MTU)."""
    out = lab.in_container(src[0], src[1], "ping", "-q", "-c", "20", "-i", "0.05", "-W", "1", dst_ip, check=False).stdout
    found = re.search(r"= [\d.]+/([\d.]+)/", out)
    latency = float(found.group(1)) if found else None
    lab.exec(dst[0], "docker", "exec", "-d", dst[1], "python3", "-c", SINK, str(PORT))
    proc = lab.in_container(src[0], src[1], "python3", "-c", SOURCE, dst_ip, str(PORT), str(SIZE), check=False)
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 4:
        tput, data = None, "no transfer (%s)" % (proc.stderr.strip().splitlines() or ["?"])[-1][:60]
    else:
        sent, count, far, seconds = words[0], int(words[1]), words[2], float(words[3])
        tput = SIZE * 8 / seconds / 1e6
        data = "ok" if count == SIZE and far == sent else "CORRUPT (%d of %d bytes, digest %s)" % (
            count, SIZE, "same" if far == sent else "differs")
    iface = "eth0" if src[1] == "bench-a" else "eth1"  # the bench's containers, or the stack's on OVN's switch
    mtu = int(lab.in_container(src[0], src[1], "cat", "/sys/class/net/%s/mtu" % iface, check=False).stdout.strip() or 1500)
    df = lab.in_container(src[0], src[1], "ping", "-c", "3", "-W", "1", "-M", "do", "-s", str(mtu - 28), dst_ip,
                          check=False).returncode == 0
    return latency, tput, data, df, mtu


def measure(lab, src, dst, dst_ip):
    return [one_round(lab, src, dst, dst_ip) for dummy in range(ROUNDS)]


def fresh_pair(lab, src_host, dst_host, network=None):
    names = ("bench-a", "bench-b")
    for host, name in ((src_host, names[0]), (dst_host, names[1])):
        lab.exec(host, "docker", "rm", "-f", name, check=False)
        lab.exec(host, "docker", "run", "-d", "--name", name, *(["--network", network] if network else []),
                 "encompass/netlab-base:bookworm", "sleep", "3600")
    dst_ip = lab.exec(dst_host, "docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                      names[1]).stdout.strip()
    return (src_host, names[0]), (dst_host, names[1]), dst_ip


def drop_pair(lab):
    for host in lab.hosts:
        lab.exec(host, "docker", "rm", "-f", "bench-a", "bench-b", check=False)


def swarm(lab):
    (h1, h2) = list(lab.hosts)
    lab.exec(h1, "docker", "swarm", "init", "--advertise-addr", lab.hosts[h1])
    token = lab.exec(h1, "docker", "swarm", "join-token", "-q", "worker").stdout.strip()
    lab.exec(h2, "docker", "swarm", "join", "--token", token, "%s:2377" % lab.hosts[h1])
    lab.exec(h1, "docker", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.98.0.0/24", "bench-overlay")
    src, dst, dst_ip = fresh_pair(lab, h1, h2, network="bench-overlay")
    try:
        return measure(lab, src, dst, dst_ip)
    finally:
        drop_pair(lab)
        lab.exec(h1, "docker", "network", "rm", "bench-overlay", check=False)
        for host in (h2, h1):
            lab.exec(host, "docker", "swarm", "leave", "--force", check=False)


def segment_address(lab, host, container):
    out = lab.in_container(host, container, "ip", "-j", "-4", "addr", "show", "dev", "eth1").stdout
    return json.loads(out)[0]["addr_info"][0]["local"]


def host_image(release):
    """The Docker-in-Docker host image of release (Debian 13's built first, when missing or out of date)."""
    if release == "bookworm":
        return HOST_IMAGE
    result = run_playbook("lab_images.yml", extra_vars={"lab_images_trixie_host": True})
    if result.rc != 0:
        raise SystemExit("lab_images.yml failed: %s" % json.dumps(result.first_failure()))
    return "encompass/netlab-host:trixie"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--release", choices=("bookworm", "trixie"), default="bookworm",
                        help="the Debian release of the Docker-in-Docker hosts (default: bookworm)")
    args = parser.parse_args()
    rows = []
    lab = Lab(2, image=host_image(args.release)).up()
    (h1, h2) = list(lab.hosts)
    ovs_version = lab.exec(h1, "ovs-vswitchd", "--version").stdout.splitlines()[0]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            multihost(lab, tmp, net_multihost_overlay="kernel_vxlan")
            lab.load_image(*STACK_IMAGES)
            src, dst, ip = fresh_pair(lab, h1, h1)
            rows.append(("same host", "-", measure(lab, src, dst, ip)))
            src, dst, ip = fresh_pair(lab, h1, h2)
            rows.append(("kernel VXLAN", "-", measure(lab, src, dst, ip)))
            drop_pair(lab)
            rows.append(("Docker Swarm", "-", swarm(lab)))
            for tso in (False, True):  # off, then on (see set_tso)
                if tso:
                    set_tso(lab, True)
                for tunnel in ("gre", "vxlan"):
                    multihost(lab, tmp, net_multihost_overlay="ovs", net_multihost_tunnel_type=tunnel)
                    src, dst, ip = fresh_pair(lab, h1, h2)
                    rows.append(("OVS %s" % tunnel.upper(), tso_label(lab, tso), measure(lab, src, dst, ip)))
                    drop_pair(lab)
                ovn(lab, tmp)
                ip = segment_address(lab, h2, "ElasticSearch")
                rows.append(("OVN (Geneve)", tso_label(lab, tso), measure(lab, (h1, "MongoDB"), (h2, "ElasticSearch"), ip)))
    finally:
        lab.down()
        if rows:
            print("hosts: Debian %s, %s" % (args.release, ovs_version))
            report(rows)


def spread(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return "%.*f [%.*f-%.*f]" % (digits, statistics.median(values), digits, min(values), digits, max(values))


def report(rows):
    base_rtt = statistics.median(r[0] for r in rows[0][2] if r[0] is not None)
    base_tput = statistics.median(r[1] for r in rows[0][2] if r[1] is not None)
    print("two containers, %d rounds each of 20 pings, %d MiB over TCP (SHA-256 compared at the far end) and a ping with"
          " the don't-fragment bit at the source's MTU; median [range]; ratios of the medians to the same-host ones"
          % (ROUNDS, SIZE // MIB))
    line = "  %-13s %-4s %-22s %6s  %-22s %6s  %-10s %s"
    print(line % ("path", "TSO", "RTT ms", "ratio", "TCP Mbit/s", "ratio", "data", "DF ping at MTU"))
    for name, tso, rounds in rows:
        rtts, tputs = [r[0] for r in rounds], [r[1] for r in rounds]
        good = [t for t in tputs if t is not None]
        rtt_ratio = statistics.median([r for r in rtts if r is not None]) / base_rtt if any(r is not None for r in rtts) else float("nan")
        tput_ratio = statistics.median(good) / base_tput if good else float("nan")
        data = sorted(set(r[2] for r in rounds))
        df = "%d/%d passed (MTU %s)" % (sum(1 for r in rounds if r[3]), len(rounds), "/".join(sorted(set(str(r[4]) for r in rounds))))
        print(line % (name, tso, spread(rtts, 3), "%.2f" % rtt_ratio, spread(tputs, 0), "%.3f" % tput_ratio,
                      ", ".join(data), df))


if __name__ == "__main__":
    main()
