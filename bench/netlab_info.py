# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netlab_info on a wired Docker-in-Docker host with 3 and with 50 containers (each on docker0 and on an Open vSwitch
bridge through a veth), against the commands it replaces: docker inspect, ip, bridge and ovs-vsctl, run back to back
in one shell on the host (their fastest form), and as many Ansible command tasks (how a play would run them).
Also the size of the topology drawing (SVG) for 50 containers. Figures are printed, never asserted.
Run: .venv/bin/python bench/netlab_info.py   (needs root and dockerd; make images first)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / ".collections"))
from conftest import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error
from dind_lab import Lab  # noqa: E402  pylint: disable=wrong-import-position,import-error
from ansible_collections.encompass.netlab.plugins.filter.topology import topology_dot  # noqa: E402  pylint: disable=wrong-import-position,import-error

REPEAT = 5
# The commands netlab_info replaces, as a shell script on the host; it prints how many it ran.
CLI = r"""
n=0; run() { "$@" >/dev/null 2>&1; n=$((n+1)); }
start=$(date +%s%N)
run docker network inspect bridge
ids=$(docker ps -aq); n=$((n+1))
for id in $ids; do
  pid=$(docker inspect -f '{{.State.Pid}}' "$id"); n=$((n+1))
  run docker inspect "$id"
  [ "$pid" != 0 ] && run nsenter -t "$pid" -n ip -j -d addr
done
run ip -j -d link; run ip -j addr; run bridge -j link; run bridge -j fdb show
for br in $(ovs-vsctl list-br); do
  for port in $(ovs-vsctl list-ports "$br"); do
    run ovs-vsctl --format=json list Port "$port"; run ovs-vsctl --format=json list Interface "$port"; n=$((n+1))
  done
  n=$((n+1))
done
n=$((n+1)); run ovs-vsctl --format=json get Open_vSwitch . external_ids
echo "$n $(( ($(date +%s%N) - start) / 1000000 ))"
"""


def durations(result, name):
    found = []
    for task in result.tasks:
        if task["task"]["name"] == name:
            span = task["task"]["duration"]
            found.append((datetime.fromisoformat(span["end"].rstrip("Z")) - datetime.fromisoformat(span["start"].rstrip("Z"))).total_seconds())
    return found


def grow(lab, host, count):
    """count running containers, each on docker0 and with a veth port on OVS bridge bench-br (made if missing)."""
    lab.exec(host, "sh", "-c", "ovs-vsctl --may-exist add-br bench-br -- set Bridge bench-br datapath_type=netdev")
    have = len(lab.exec(host, "docker", "ps", "-q").stdout.split())
    for index in range(have, count):
        name = "bench-%02d" % index
        lab.run_container(host, name)
        pid = lab.exec(host, "docker", "inspect", "-f", "{{.State.Pid}}", name).stdout.strip()
        lab.exec(host, "sh", "-c", "ip link add bv%02d type veth peer name bc%02d && ip link set bc%02d netns %s && "
                 "nsenter -t %s -n sh -c 'ip link set bc%02d name eth1 && ip addr add 10.200.0.%d/24 dev eth1 && ip link set eth1 up' && "
                 "ip link set bv%02d up && ovs-vsctl add-port bench-br bv%02d tag=%d"
                 % (index, index, index, pid, pid, index, index + 10, index, index, 100 + index % 4))


def measure(lab, host, tmp):
    play = [{"hosts": host, "gather_facts": False, "tasks":
             [{"name": "info", "encompass.netlab.netlab_info": {}, "register": "out"} for dummy in range(REPEAT)]
             + [{"name": "one command", "ansible.builtin.command": "true", "changed_when": False} for dummy in range(REPEAT)]}]
    path = Path(tmp) / "info.json"
    path.write_text(json.dumps(play), encoding="utf-8")
    result = run_playbook(path, "-i", str(lab.inventory(Path(tmp) / "inventory.json")))
    if result.rc != 0:
        raise SystemExit("netlab_info failed:\n" + result.stdout[-3000:])
    info = statistics.median(durations(result, "info"))
    command = statistics.median(durations(result, "one command"))
    cli = [lab.exec(host, "bash", "-c", CLI).stdout.split() for dummy in range(REPEAT)]
    calls = int(cli[0][0])
    shell = statistics.median(int(ms) for dummy, ms in cli) / 1000
    facts = next(t["hosts"][host] for t in result.tasks if t["task"]["name"] == "info")
    return info, calls, shell, command, facts


def main():
    lab = Lab(1).up()
    host = next(iter(lab.hosts))
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ready = run_playbook("host.yml", "-i", str(lab.inventory(Path(tmp) / "inventory.json")))
            if ready.rc != 0:
                raise SystemExit("host.yml failed:\n" + ready.stdout[-3000:])
            lab.load_image()
            for count in (3, 50):
                grow(lab, host, count)
                info, calls, shell, command, facts = measure(lab, host, tmp)
                rows.append((count, info, calls, shell, command))
            data = {"mode": "bench", "hosts": {host: {k: v for k, v in facts.items() if k not in ("changed", "invocation")}},
                    "probes": []}
            start = time.monotonic()
            svg = subprocess.run(["dot", "-Tsvg"], input=topology_dot(data), capture_output=True, text=True, check=True).stdout
            render = time.monotonic() - start
    finally:
        lab.down()
    print("\nnetlab_info (median of %d) against the commands it replaces, on one Docker-in-Docker host:" % REPEAT)
    for count, info, calls, shell, command in rows:
        print("  %2d containers: netlab_info task %.2f s | %3d commands: %.2f s in one shell on the host (%.1fx), "
              "as %d Ansible command tasks ~%.0f s at %.2f s each (%.0fx)"
              % (count, info, calls, shell, shell / info, calls, calls * command, command, calls * command / info))
    print("  topology.svg for 50 containers: %d KiB, rendered by dot in %.2f s" % (len(svg.encode()) // 1024, render))


if __name__ == "__main__":
    main()
