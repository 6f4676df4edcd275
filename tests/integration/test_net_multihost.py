# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""net_multihost on two Docker-in-Docker hosts: planned addresses, one segment, the computed MTU."""

from __future__ import annotations

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab, multihost_playbook, ping, tcp_transfer  # pylint: disable=import-error

MIB = 1024 * 1024


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multihost")
    lab = Lab(2).up()
    try:
        host_vars = {name: {"net_multihost_underlay_ip": address} for name, address in lab.hosts.items()}
        lab.inventory_path = lab.inventory(tmp / "inventory.json", host_vars)
        lab.playbook = multihost_playbook(tmp / "multihost.yml")
        yield lab
    finally:
        lab.down()


def test_plan_segment_mtu_and_idempotence(lab):
    first = run_playbook(str(lab.playbook), "-i", str(lab.inventory_path))
    assert first.rc == 0, first.stdout[-4000:]
    # Check mode on the converged hosts predicts no change (on fresh hosts: test_check_mode_fresh.py).
    check = run_playbook(str(lab.playbook), "-i", str(lab.inventory_path), check=True)
    assert check.rc == 0 and check.changed == 0, check.changed_tasks()
    again = run_playbook(str(lab.playbook), "-i", str(lab.inventory_path))
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()

    lab.load_image()
    (host_a, host_b) = list(lab.hosts)
    ip_a, ip_b = lab.run_container(host_a, "ca"), lab.run_container(host_b, "cb")
    # No collisions by construction: each host hands out addresses from its own range.
    assert ip_a.startswith("172.18.1.") and ip_b.startswith("172.18.2.") and ip_a != ip_b
    assert ping(lab, (host_a, "ca"), ip_b, count=5)
    received, dummy_seconds = tcp_transfer(lab, (host_a, "ca"), (host_b, "cb"), ip_b, 5 * MIB)
    assert received == 5 * MIB
    # GRE over a 1500-byte underlay leaves 1462: a don't-fragment ping of MTU-28 crosses, MTU-27 does not.
    assert ping(lab, (host_a, "ca"), ip_b, count=2, size=1462 - 28, dont_fragment=True)
    assert not ping(lab, (host_a, "ca"), ip_b, count=1, size=1462 - 27, dont_fragment=True)
