# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""First-run and second-run wall time of site.yml per networking mode, and their ratio, on a fresh
Docker-in-Docker host (site.yml configures the Docker daemon, so never this machine's). The images are
loaded beforehand, so image builds are excluded. Figures are printed, never asserted.
Run: .venv/bin/python bench/site_modes.py   (needs root and dockerd; make images first)
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
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from dind_lab import Lab  # noqa: E402  pylint: disable=wrong-import-position,import-error

BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "playbooks" / "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))
IMAGES = ["encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
          "encompass/tomcat7:latest"]


def playbook(inventory, name, mode=None):
    start = time.monotonic()
    argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), name] + (["-e", json.dumps({"net_mode": mode})] if mode else [])
    proc = subprocess.run(argv, cwd=ROOT / "playbooks", env=ENV, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (name, proc.stdout[-3000:]))
    return time.monotonic() - start


def main():
    lab = Lab(1, subnet="10.99.8.0/24").up()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = lab.inventory(Path(tmp) / "inventory.json")
            playbook(inventory, "host.yml")
            for image in IMAGES:
                lab.load_image(image)
            print("site.yml wall time per mode on a Docker-in-Docker host (images already there):")
            for mode in ("portmap", "link", "pipework"):
                playbook(inventory, "teardown.yml")
                first = playbook(inventory, "site.yml", mode)
                second = playbook(inventory, "site.yml", mode)
                print("  %-9s first %6.1f s   second %6.1f s   second/first %.2f" % (mode, first, second, second / first))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
