# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire N running containers with static addresses in four ways and print seconds per attachment.

  1. veth_attach with `attachments` (one task)
  2. veth_attach in a `loop` (one task per container)
  3. a shell loop doing the iproute2 steps pipework does (with its `arping -c 1`)
  4. `docker network connect --ip` on a user-defined network

Each way gets its own fresh containers. Figures are printed, never asserted.
Run: .venv/bin/python bench/veth_attach.py [N]   (needs root, dockerd and the base image)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE = "encompass/netlab-base:bookworm"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
TAG = "nlbench"


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def containers(way):
    names = ["%s-%s-%02d" % (TAG, way, i) for i in range(N)]
    for name in names:
        sh("docker", "run", "-d", "--name", name, BASE, "sleep", "3600")
    return names


def cleanup():
    ids = sh("docker", "ps", "-aq", "--filter", "name=" + TAG).stdout.split()
    if ids:
        sh("docker", "rm", "-f", *ids)
    for link in ("nlbr1", "nlbr2", "nlbr3"):
        sh("ip", "link", "del", link, check=False)
    sh("docker", "network", "rm", TAG, check=False)
    for rule_bridge in ("nlbr1", "nlbr2", "nlbr3"):
        while sh("iptables", "-D", "FORWARD", "-i", rule_bridge, "-o", rule_bridge, "-j", "ACCEPT", check=False).returncode == 0:
            pass


def playbook(tasks):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "playbooks" / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), handle.name], cwd=ROOT / "playbooks", env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    os.unlink(handle.name)
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n" + proc.stdout[-3000:])
    return elapsed


def way_attachments():
    names = containers("att")
    items = [{"container": n, "address": "10.201.%d.%d/16" % (i // 200, i % 200 + 10)} for i, n in enumerate(names)]
    return playbook([{"encompass.netlab.veth_attach": {"bridge": "nlbr1", "create_bridge": True, "attachments": items}}])


def way_loop():
    names = containers("loop")
    items = [{"container": n, "address": "10.202.%d.%d/16" % (i // 200, i % 200 + 10)} for i, n in enumerate(names)]
    return playbook([{"encompass.netlab.veth_attach": {"bridge": "nlbr2", "create_bridge": True,
                                                       "container": "{{ item.container }}", "address": "{{ item.address }}"},
                      "loop": items}])


def way_pipework_shell():
    names = containers("pw")
    sh("ip", "link", "add", "nlbr3", "type", "bridge")
    sh("ip", "link", "set", "nlbr3", "up")
    script = []
    for i, name in enumerate(names):
        address = "10.203.%d.%d" % (i // 200, i % 200 + 10)
        script.append(
            "pid=$(docker inspect -f '{{.State.Pid}}' %(n)s); mkdir -p /var/run/netns; ln -sf /proc/$pid/ns/net /var/run/netns/$pid;"
            "ip link add v${pid}pl type veth peer name v${pid}pg; ip link set v${pid}pl master nlbr3; ip link set v${pid}pl up;"
            "ip link set v${pid}pg netns $pid; ip netns exec $pid ip link set v${pid}pg name eth1;"
            "ip netns exec $pid ip addr add %(a)s/16 dev eth1; ip netns exec $pid ip link set eth1 up;"
            "ip netns exec $pid arping -c 1 -A -I eth1 %(a)s >/dev/null 2>&1; rm -f /var/run/netns/$pid" % {"n": name, "a": address}
        )
    start = time.monotonic()
    sh("bash", "-c", "\n".join(script))
    return time.monotonic() - start


def way_docker_connect():
    names = containers("dc")
    sh("docker", "network", "create", "--subnet", "10.204.0.0/16", TAG)
    start = time.monotonic()
    for i, name in enumerate(names):
        sh("docker", "network", "connect", "--ip", "10.204.%d.%d" % (i // 200, i % 200 + 10), TAG, name)
    return time.monotonic() - start


def main():
    cleanup()
    try:
        figures = {}
        for label, way in (("veth_attach attachments (one task)", way_attachments),
                           ("veth_attach in a loop", way_loop),
                           ("pipework-style iproute2 shell loop", way_pipework_shell),
                           ("docker network connect --ip", way_docker_connect)):
            figures[label] = way() / N
    finally:
        cleanup()
    pipework = figures["pipework-style iproute2 shell loop"]
    connect = figures["docker network connect --ip"]
    print("%d containers, seconds per attachment:" % N)
    for label, per in figures.items():
        print("  %-38s %7.3f s   x%.2f of pipework-style   x%.2f of docker connect" % (label, per, per / pipework, per / connect))


if __name__ == "__main__":
    main()
