# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack scaled out, against the peer: the ovn mode on Docker-in-Docker hosts with the stack's containers made
replicas (stack_replicas; the stand-ins make them cheap), wired, the policy applied and verified from Tomcat, then a
second run (converged, changed=0 expected) and a run that adds one replica; in the same run, on the same hosts after
teardown, Docker Swarm creating an overlay service of as many replicas over as many nodes (until every task runs).
Wall times and ratios are printed, never asserted; the first run's slowest tasks (ansible.posix.profile_tasks) say
where the time goes.
Run: .venv/bin/python bench/scale.py [HOSTS [CONTAINERS]]   (default 6 hosts, 50 containers; needs root and dockerd;
make images first)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from dind_lab import Lab  # noqa: E402  pylint: disable=wrong-import-position,import-error

BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "playbooks" / "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
           PROFILE_TASKS_TASK_OUTPUT_LIMIT="12")
IMAGES = ["encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
          "encompass/tomcat7:latest"]
SWARM_IMAGE = "encompass/mongodb:latest"
# profile_tasks' lines: "<task name> ---- 12.34s"
PROFILE = re.compile(r"^(.*?) -{3,} (\d+\.\d+)s$", re.M)


def replicas_for(containers):
    """stack_replicas giving `containers` containers: one Tomcat, the rest split between MongoDB and Elasticsearch."""
    rest = containers - 1
    return {"mongodb": rest - rest // 2, "elasticsearch": rest // 2}


def playbook(inventory, name, extra=None):
    """(wall seconds, changed, the slowest tasks) of one run; stops the bench on a failed run."""
    start = time.monotonic()
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), name] + (["-e", json.dumps(extra)] if extra else [])
    proc = subprocess.run(argv, cwd=ROOT / "playbooks", env=ENV, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        kept = Path(tempfile.gettempdir()) / "scale-failed.log"
        kept.write_text(proc.stdout, encoding="utf-8")
        failed = [line for line in proc.stdout.splitlines() if "fatal:" in line or "msg: 'failed:" in line or "msg: failed:" in line]
        raise SystemExit("%s failed after %.1f s (its output: %s):\n%s" % (name, wall, kept, "\n".join(failed)[-6000:]))
    changed = sum(int(word.split("=")[1]) for word in proc.stdout.split() if word.startswith("changed="))
    tail = proc.stdout[proc.stdout.rfind("PLAY RECAP"):]
    return wall, changed, PROFILE.findall(tail)


def running(lab):
    return sum(len(lab.exec(host, "docker", "ps", "-q").stdout.split()) for host in lab.hosts)


def swarm(lab, replicas):
    """Seconds from `docker swarm init` until every task of an overlay service of `replicas` runs, over every host."""
    names = list(lab.hosts)
    # A swarm task pulls its image before it runs, even one the node has (--no-resolve-image only skips the
    # manager's digest look-up). No registry is reachable here: make that known at once (the registry's name to
    # loopback, refused) rather than after the lab's DNS times out (20 s a try, most of the time a run measured).
    for name in names:
        lab.exec(name, "sh", "-c", "echo '127.0.0.1 registry-1.docker.io' >> /etc/hosts")
    start = time.monotonic()
    lab.exec(names[0], "docker", "swarm", "init", "--advertise-addr", lab.hosts[names[0]])
    token = lab.exec(names[0], "docker", "swarm", "join-token", "-q", "worker").stdout.strip()
    for name in names[1:]:
        lab.exec(name, "docker", "swarm", "join", "--token", token, "%s:2377" % lab.hosts[names[0]])
    lab.exec(names[0], "docker", "network", "create", "-d", "overlay", "bench-overlay")
    lab.exec(names[0], "docker", "service", "create", "--detach", "--no-resolve-image", "--name", "bench",
             "--network", "bench-overlay", "--replicas", str(replicas), SWARM_IMAGE)
    while True:
        states = lab.exec(names[0], "docker", "service", "ps", "bench", "--filter", "desired-state=running",
                          "--format", "{{.CurrentState}}").stdout.split("\n")
        up = sum(1 for state in states if state.startswith("Running"))
        if up >= replicas:
            return time.monotonic() - start
        if time.monotonic() - start > 900:
            raise SystemExit("swarm: %d of %d tasks running after 900 s" % (up, replicas))
        time.sleep(0.5)


def main():
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    containers = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    replicas = replicas_for(containers)
    print("ovn mode, %d Docker-in-Docker hosts, %d containers (stack_replicas %s), images loaded beforehand"
          % (hosts, containers, json.dumps(replicas)), flush=True)
    lab = Lab(hosts).up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = lab.inventory(Path(tmp) / "inventory.json",
                                      {name: {"net_multihost_underlay_ip": address} for name, address in lab.hosts.items()})
            playbook(inventory, "host.yml")
            lab.load_image(*IMAGES)
            extra = {"net_mode": "ovn", "stack_replicas": replicas, "verify_report_dir": str(Path(tmp) / "report")}
            first = playbook(inventory, "site.yml", extra)
            on_hosts = running(lab)
            second = playbook(inventory, "site.yml", extra)
            grown = dict(replicas, elasticsearch=replicas["elasticsearch"] + 1)
            third = playbook(inventory, "site.yml", dict(extra, stack_replicas=grown))
            print("  first run            %6.1f s  changed=%-4d (%d containers running on the hosts)"
                  % (first[0], first[1], on_hosts))
            print("  second run           %6.1f s  changed=%-4d second/first %.2f" % (second[0], second[1], second[0] / first[0]))
            print("  one replica added    %6.1f s  changed=%-4d added/first %.2f" % (third[0], third[1], third[0] / first[0]))
            for title, run, count in (("first run", first, 12), ("second run", second, 6), ("replica run", third, 6)):
                print("  %s's slowest tasks:" % title)
                for name, seconds in run[2][:count]:
                    print("    %7.2f s  %s" % (float(seconds), name.strip()))
            playbook(inventory, "teardown.yml")
            sw = swarm(lab, containers)
            print("  docker swarm: init, %d joins, an overlay network and a service of %d replicas running: %.1f s;"
                  " our first run / swarm %.2f" % (hosts - 1, containers, sw, first[0] / sw), flush=True)
    finally:
        lab.down()


if __name__ == "__main__":
    main()
