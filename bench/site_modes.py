# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""First-run and second-run wall time of site.yml per networking mode (images built beforehand, so
image builds are excluded), and their ratio. Figures are printed, never asserted.
Run: .venv/bin/python bench/site_modes.py   (needs root and dockerd; tears the stack down first)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "playbooks" / "ansible.cfg"),
           ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"))


def playbook(name, *extra):
    start = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), name, *extra], cwd=ROOT / "playbooks", env=ENV,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (name, proc.stdout[-3000:]))
    return time.monotonic() - start


def main():
    playbook("lab_images.yml")
    playbook("site.yml", "-e", "net_mode=link")  # builds the stack images once, outside the figures
    print("site.yml wall time per mode (images already built):")
    for mode in ("portmap", "link", "pipework"):
        playbook("teardown.yml")
        first = playbook("site.yml", "-e", "net_mode=" + mode)
        second = playbook("site.yml", "-e", "net_mode=" + mode)
        print("  %-9s first %6.1f s   second %6.1f s   second/first %.2f" % (mode, first, second, second / first))
    playbook("teardown.yml")


if __name__ == "__main__":
    main()
