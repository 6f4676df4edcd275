# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""First-run and second-run time of site.yml per networking mode, and their ratio: the single-host modes on one fresh
Docker-in-Docker host, multihost and ovn on three (site.yml configures the Docker daemon, so never this machine's).
The images are loaded beforehand, so image builds are excluded. The second run is converged
(stack/converged.yml: one read per host, then only verify and report) unless something differed; a third run in check
mode follows. Wall time, and the controller's CPU time (the
ansible-playbook processes); figures are printed, never asserted.
Run: .venv/bin/python bench/site_modes.py [MODE ...]   (needs root and dockerd; make images first)
"""

from __future__ import annotations

import json
import os
import re
import resource
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
           ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
IMAGES = ["encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
          "encompass/tomcat7:latest"]


SINGLE = ("portmap", "link", "pipework")
# What site.yml says when every host reads as its last complete run left it (stack/converged.yml).
CONVERGED = "converged: every host of the play reads as"
# ... and when it does not (the reasons follow, per host and part).
FULL = re.compile(r"msg: '?a full run: (.*?)'?$", re.M)
MULTI = ("multihost", "ovn")


def controller_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def playbook(inventory, name, mode=None, *options):
    """(wall seconds, controller CPU seconds, changed, "converged" or "full run (<reasons>)") of one run."""
    start, cpu = time.monotonic(), controller_cpu()
    argv = ([str(BIN / "ansible-playbook"), "-i", str(inventory), name] + (["-e", json.dumps({"net_mode": mode})] if mode else [])
            + list(options))
    proc = subprocess.run(argv, cwd=ROOT / "playbooks", env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (name, proc.stdout[-3000:]))
    changed = sum(int(word.split("=")[1]) for word in proc.stdout.split() if word.startswith("changed="))
    reasons = FULL.findall(proc.stdout)
    state = "converged" if CONVERGED in proc.stdout else "full run (%s)" % "; ".join(reasons or ["no reason printed"])
    return time.monotonic() - start, controller_cpu() - cpu, changed, state


def bench(count, modes):
    lab = Lab(count).up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = lab.inventory(Path(tmp) / "inventory.json",
                                      {name: {"net_multihost_underlay_ip": address} for name, address in lab.hosts.items()})
            playbook(inventory, "host.yml")
            lab.load_image(*IMAGES)
            for mode in modes:
                playbook(inventory, "teardown.yml")
                first = playbook(inventory, "site.yml", mode)
                second = playbook(inventory, "site.yml", mode)
                check = playbook(inventory, "site.yml", mode, "--check")
                print("  %-9s %d host(s)  first %6.1f s (%5.1f CPU-s)   second %6.1f s (%5.1f CPU-s, changed=%d, %s)   "
                      "second/first %.2f wall, %.2f CPU   check %.1f s (changed=%d, %s)"
                      % (mode, count, first[0], first[1], second[0], second[1], second[2],
                         second[3], second[0] / first[0], second[1] / first[1],
                         check[0], check[2], check[3]), flush=True)
            playbook(inventory, "teardown.yml")
    finally:
        lab.down()


def main():
    modes = sys.argv[1:] or list(SINGLE + MULTI)
    unknown = sorted(set(modes) - set(SINGLE + MULTI))
    if unknown:
        raise SystemExit("unknown mode(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SINGLE + MULTI)))
    print("site.yml per mode on Docker-in-Docker hosts (images already there); CPU-s: the controller's ansible-playbook")
    single, multi = [m for m in modes if m in SINGLE], [m for m in modes if m in MULTI]
    if single:
        bench(1, single)
    if multi:
        bench(3, multi)


if __name__ == "__main__":
    main()
