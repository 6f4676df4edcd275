# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_netlink inside one session() (as veth_attach runs it) looks an interface's index up once: after a removal or a
rename, the name must reach the interface that now has it. Real netlink, in a network namespace of its own (unshare -n),
with a sysfs of its own (unshare -m), so this machine's interfaces are never touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink as nl
here = "/proc/self/ns/net"
with nl.session():
    nl.create_bridge("nlbr")
    nl.create_veth("nla", "nlb", here)
    nl.set_mtu("nla", 1400)          # nla's index is looked up here
    nl.set_master("nla", "nlbr")
    nl.delete_link("nla")            # nlb goes with it
    nl.create_veth("nla", "nlb", here)
    nl.set_mtu("nla", 1300)          # the new nla, not the removed one
    nl.set_link("nlb", None, ifname="nlc")
    nl.create_veth("nlb", "nld", here)
    nl.set_mtu("nlb", 1280)          # the new nlb, not the renamed nlc
    nl.set_master("nlb", "nlbr")
print(json.dumps({name: [nl.mtu_of(name), nl.master_of(name), nl.is_up(name)] for name in ("nla", "nlb", "nlc")}))
"""


def test_a_removed_or_renamed_name_reaches_the_interface_that_has_it_now():
    # sysfs shows the interfaces of the namespace that mounted it: mounted again inside the new one.
    proc = subprocess.run(["unshare", "-n", "-m", "sh", "-c", 'mount -t sysfs sysfs /sys && exec "$0" -c "$1"', sys.executable,
                           SCRIPT], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(ROOT / ".collections"), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == {"nla": [1300, None, False], "nlb": [1280, "nlbr", True], "nlc": [1500, None, False]}
