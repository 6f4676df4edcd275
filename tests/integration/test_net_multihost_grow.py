# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""net_multihost growing from two hosts to three and shrinking back, with the kernel VXLAN overlay, on
three Docker-in-Docker hosts: each run changes only the peers of the hosts already there (no dockerd
restart, no container restart, no renumbering); a host added gets the next range; one removed is
unreachable afterwards."""

from __future__ import annotations

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab, ping  # pylint: disable=import-error

PLAY = """
- name: One segment across the hosts
  hosts: all
  gather_facts: false
  roles:
    - role: encompass.netlab.net_multihost
      vars:
        net_multihost_overlay: kernel_vxlan
"""
PEER_TASK = "Join docker0 across the hosts with a Linux VXLAN device (loop-free without spanning tree)"


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grow")
    lab = Lab(3).up()
    try:
        lab.tmp = tmp
        lab.playbook = tmp / "multihost.yml"
        lab.playbook.write_text(PLAY)
        yield lab
    finally:
        lab.down()


def converge(lab, hosts):
    """Run the role on the named hosts only (the inventory holds just them), with stable indexes."""
    names = list(lab.hosts)
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": names.index(name) + 1}
                 for name in hosts}
    sub = Lab.__new__(Lab)
    sub.hosts = {name: lab.hosts[name] for name in hosts}
    inventory = Lab.inventory(sub, lab.tmp / ("inventory-%d.json" % len(hosts)), host_vars)
    result = run_playbook(str(lab.playbook), "-i", str(inventory))
    assert result.rc == 0, result.stdout[-4000:]
    return result


def changes_by_host(result):
    """{host: [(task name, [module changes])]} for the tasks that changed something."""
    found = {}
    for task in result.tasks:
        name = task["task"]["name"].split(" : ", 1)[-1]
        for host, outcome in task["hosts"].items():
            if outcome.get("changed"):
                found.setdefault(host, []).append((name, outcome.get("changes")))
    return found


def state(lab, host, container):
    pid = lab.exec(host, "cat", "/var/run/docker.pid").stdout.strip()
    started = lab.exec(host, "docker", "inspect", "-f", "{{.State.StartedAt}}", container).stdout.strip()
    return pid, started


def test_grow_and_shrink_touch_only_the_peers(lab):
    (h1, h2, h3) = list(lab.hosts)
    ip3 = lab.hosts[h3]
    converge(lab, [h1, h2])
    lab.load_image(hosts=[h1, h2])
    c1, c2 = lab.run_container(h1, "c1"), lab.run_container(h2, "c2")
    assert c1.startswith("172.18.1.") and c2.startswith("172.18.2.")
    assert ping(lab, (h1, "c1"), c2)
    # The kernel overlay's MTU: 1500 - 50.
    assert ping(lab, (h1, "c1"), c2, count=2, size=1450 - 28, dont_fragment=True)
    assert not ping(lab, (h1, "c1"), c2, count=1, size=1450 - 27, dont_fragment=True)
    before = {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")}

    grown = converge(lab, [h1, h2, h3])
    changes = changes_by_host(grown)
    device = "netlab-vxlan"
    assert changes[h1] == [(PEER_TASK, ["add peer %s on %s" % (ip3, device)])], changes[h1]
    assert changes[h2] == [(PEER_TASK, ["add peer %s on %s" % (ip3, device)])], changes[h2]
    assert {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")} == before  # nothing restarted
    lab.load_image(hosts=[h3])
    c3 = lab.run_container(h3, "c3")
    assert c3.startswith("172.18.3.")  # the next range; nobody renumbered
    assert ping(lab, (h3, "c3"), c1) and ping(lab, (h3, "c3"), c2) and ping(lab, (h1, "c1"), c2)

    shrunk = converge(lab, [h1, h2])
    changes = changes_by_host(shrunk)
    assert changes == {h1: [(PEER_TASK, ["remove peer %s on %s" % (ip3, device)])],
                       h2: [(PEER_TASK, ["remove peer %s on %s" % (ip3, device)])]}, changes
    assert {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")} == before
    assert ping(lab, (h1, "c1"), c2)
    # Removing the peer also forgot the MAC addresses learned behind it: c1 still has c3's MAC in its
    # ARP cache, yet nothing is sent to h3 any more.
    assert not ping(lab, (h1, "c1"), c3, count=2)
