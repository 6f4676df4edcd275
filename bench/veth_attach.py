# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wire N running containers with static addresses and print seconds per attachment, for N = 10, 50, 200.

Ways, each on fresh containers of its own:
  1. veth_attach with `attachments` (one task). Printed twice: the whole playbook run divided by N, and the
     marginal cost of one more attachment, (run(N) - run(1)) / (N - 1). run(1) is the same task for one
     container on a bridge of its own: the ansible-playbook start, the module's start, its Docker and OVSDB
     connections, and the duplicate-address probe window (~0.3 s) that all attachments of a run share.
     run(1) and run(N) are each the median of three runs (at N=10 the nine attachments cost less than run(1)
     varies from one run to the next). Of run(1), the part that is ansible-playbook's own is printed too: the median
     of three runs of a playbook whose one task is `command: true`.
  2. `docker network connect --ip` on a user-defined network, one CLI call per container (what a user types).
  At the smallest N only, for reference: veth_attach in a `loop` (one task per container) and a shell loop doing
  the iproute2 steps pipework does (with its `arping -c 1`).

--profile runs the module once outside Ansible under cProfile at N=50 and prints where its time went.
Every timed part starts once the CPUs are idle again (settle(), at most 30 s of waiting). Figures are printed, never
asserted.
Run: .venv/bin/python bench/veth_attach.py [--profile] [N ...]   (needs root, dockerd and the base image)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BASE = "encompass/netlab-base:bookworm"
TAG = "nlbench"


def sh(*argv, check=True, env=None):
    return subprocess.run(argv, capture_output=True, text=True, check=check, env=env)


def containers(way, n):
    names = ["%s-%s-%03d" % (TAG, way, i) for i in range(n)]
    for name in names:
        sh("docker", "run", "-d", "--name", name, BASE, "sleep", "3600")
    return names


def address(net, i):
    return "10.%d.%d.%d" % (net, i // 200, i % 200 + 10)


def settle(limit=30.0, idle=0.85):
    """Wait until the CPUs are idle again: the kernel goes on freeing the interfaces and namespaces of removed
    containers, and dockerd on finishing new ones, for seconds after the command returned; a run timed then would
    carry that work."""
    def sample():
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(f) for f in stat.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        idle_before, total_before = sample()
        time.sleep(0.5)
        idle_after, total_after = sample()
        if (idle_after - idle_before) >= idle * max(1, total_after - total_before):
            return


def cleanup():
    # Containers leave the user-defined network first: removed while attached (200 at once), Docker 20.10 left the
    # network with endpoints and no containers, and only a dockerd restart cleared them.
    attached = sh("docker", "network", "inspect", TAG, "-f", "{{range .Containers}}{{.Name}} {{end}}", check=False)
    for name in attached.stdout.split() if attached.returncode == 0 else []:
        sh("docker", "network", "disconnect", "-f", TAG, name, check=False)
    ids = sh("docker", "ps", "-aq", "--filter", "name=" + TAG).stdout.split()
    if ids:
        sh("docker", "rm", "-f", *ids)
    for link in ("nlbr1", "nlbr2", "nlbr3", "nlbr4", "nlbr5"):
        sh("ip", "link", "del", link, check=False)
    sh("docker", "network", "rm", TAG, check=False)
    for rule_bridge in ("nlbr1", "nlbr2", "nlbr3"):
        while sh("iptables", "-D", "FORWARD", "-i", rule_bridge, "-o", rule_bridge, "-j", "ACCEPT", check=False).returncode == 0:
            pass
    settle()


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


def attach_task(bridge, items):
    return {"encompass.netlab.veth_attach": {"bridge": bridge, "create_bridge": True, "attachments": items}}


def way_attachments(n, repeats=3):
    """run(1) and run(n), each the median of `repeats` runs; between runs the attachments are removed (state: absent),
    so every timed run makes them anew on the same containers."""
    first = containers("one", 1)[0]
    names = containers("att", n)
    one_item = [{"container": first, "address": address(206, 0) + "/16"}]
    items = [{"container": name, "address": address(201, i) + "/16"} for i, name in enumerate(names)]
    ones, runs = [], []
    for dummy in range(repeats):
        settle()
        ones.append(playbook([attach_task("nlbr4", one_item)]))
        settle()
        runs.append(playbook([attach_task("nlbr1", items)]))
        playbook([attach_task("nlbr4", [dict(i, state="absent") for i in one_item]),
                  attach_task("nlbr1", [dict(i, state="absent") for i in items])])
    return statistics.median(runs), statistics.median(ones)


def ansible_alone(repeats=3):
    """ansible-playbook's own start and one task, with no module of this collection: the floor under run(1)."""
    runs = []
    for dummy in range(repeats):
        settle()
        runs.append(playbook([{"ansible.builtin.command": {"argv": ["true"]}}]))
    return statistics.median(runs)


def way_loop(n):
    names = containers("loop", n)
    settle()
    items = [{"container": name, "address": address(202, i) + "/16"} for i, name in enumerate(names)]
    return playbook([{"encompass.netlab.veth_attach": {"bridge": "nlbr2", "create_bridge": True,
                                                       "container": "{{ item.container }}", "address": "{{ item.address }}"},
                      "loop": items}])


def way_pipework_shell(n):
    names = containers("pw", n)
    settle()
    sh("ip", "link", "add", "nlbr3", "type", "bridge")
    sh("ip", "link", "set", "nlbr3", "up")
    script = []
    for i, name in enumerate(names):
        script.append(
            "pid=$(docker inspect -f '{{.State.Pid}}' %(n)s); mkdir -p /var/run/netns; ln -sf /proc/$pid/ns/net /var/run/netns/$pid;"
            "ip link add v${pid}pl type veth peer name v${pid}pg; ip link set v${pid}pl master nlbr3; ip link set v${pid}pl up;"
            "ip link set v${pid}pg netns $pid; ip netns exec $pid ip link set v${pid}pg name eth1;"
            "ip netns exec $pid ip addr add %(a)s/16 dev eth1; ip netns exec $pid ip link set eth1 up;"
            "ip netns exec $pid arping -c 1 -A -I eth1 %(a)s >/dev/null 2>&1; rm -f /var/run/netns/$pid" % {"n": name, "a": address(203, i)}
        )
    start = time.monotonic()
    sh("bash", "-c", "\n".join(script))
    return time.monotonic() - start


def way_docker_connect(n):
    names = containers("dc", n)
    sh("docker", "network", "create", "--subnet", "10.204.0.0/16", TAG)
    settle()
    start = time.monotonic()
    for i, name in enumerate(names):
        sh("docker", "network", "connect", "--ip", address(204, i), TAG, name)
    return time.monotonic() - start


def profile(n=50):
    """The module outside Ansible, under cProfile: where the time of one run of n attachments goes."""
    import cProfile  # pylint: disable=import-outside-toplevel
    import pstats  # pylint: disable=import-outside-toplevel

    names = containers("prof", n)
    settle()
    items = [{"container": name, "address": address(205, i) + "/16"} for i, name in enumerate(names)]
    with tempfile.TemporaryDirectory() as tmp:
        args = Path(tmp) / "args.json"
        args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"bridge": "nlbr5", "create_bridge": True, "attachments": items}}))
        out = Path(tmp) / "profile"
        env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
        start = time.monotonic()
        sh(sys.executable, "-m", "cProfile", "-o", str(out), str(ROOT / "plugins" / "modules" / "veth_attach.py"), str(args),
           env=env)
        print("module run, %d attachments, under cProfile: %.2f s" % (n, time.monotonic() - start))
        stats = pstats.Stats(str(out))
        pattern = r"veth_attach\.py|_netlink\.py|_netns_jobs\.py|_docker\.py|_ovsdb\.py|fork|select|socket\)|run_command"
        stats.sort_stats("cumulative").print_stats(pattern, 30)


def main():
    args = [a for a in sys.argv[1:] if a != "--profile"]
    sizes = [int(a) for a in args] or [10, 50, 200]
    cleanup()
    try:
        if "--profile" in sys.argv:
            profile()
            return
        rows = []
        for n in sizes:
            run, one = way_attachments(n)
            connect = way_docker_connect(n)
            cleanup()
            rows.append((n, run / n, (run - one) / (n - 1), one, connect / n))
        floor = ansible_alone()
        reference = None
        if min(sizes) <= 50:
            n = min(sizes)
            reference = (n, way_loop(n) / n, way_pipework_shell(n) / n)
    finally:
        cleanup()
    print("seconds per attachment (veth_attach: one task with `attachments`; docker: one `docker network connect --ip` each)")
    print("%5s  %12s %8s  %14s %8s  %10s  %14s" % ("N", "veth_attach", "/docker", "marginal", "/docker", "run(1)",
                                                   "docker connect"))
    for n, whole, marginal, one, connect in rows:
        figures = (n, whole, whole / connect, marginal, marginal / connect, one, connect)
        print("%5d  %10.3f s %8.2f  %12.3f s %8.2f  %8.2f s  %12.3f s" % figures)
    print("run(1) is %.2f s; ansible-playbook alone (one `command: true` task) %.2f s of it" % (
        statistics.median(row[3] for row in rows), floor))
    if reference:
        n, loop, shell = reference
        print("for reference at N=%d: veth_attach in a loop %.3f s, a pipework-style iproute2 shell loop %.3f s"
              % (n, loop, shell))


if __name__ == "__main__":
    main()
