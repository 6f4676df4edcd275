# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""net_multihost growing from two hosts to three and shrinking back, with each overlay (OVS GRE, kernel
VXLAN), on three Docker-in-Docker hosts: each run changes only the tunnels of the hosts already there
(no dockerd restart, no container restart, no renumbering; with OVS, RSTP turns on at three hosts and
off again at two); a host added gets the next range; one removed is unreachable afterwards."""

from __future__ import annotations

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab, multihost_playbook, ping  # pylint: disable=import-error

PEER_TASK = {
    "kernel_vxlan": "Join docker0 across the hosts with a Linux VXLAN device (loop-free without spanning tree)",
    "ovs": "Join docker0 across the hosts with a full mesh of OVS tunnels",
}
MTU = {"kernel_vxlan": 1450, "ovs": 1462}


@pytest.fixture(scope="module", name="lab", params=["kernel_vxlan", "ovs"])
def fixture_lab(tmp_path_factory, request):
    tmp = tmp_path_factory.mktemp("grow")
    lab = Lab(3).up()
    try:
        lab.tmp = tmp
        lab.overlay = request.param
        # The kernel overlay needs no Open vSwitch: those hosts run without it (installed, never started).
        lab.playbook = multihost_playbook(tmp / "multihost.yml", net_multihost_overlay=request.param,
                                          host_ovs_enabled=request.param == "ovs")
        yield lab
    finally:
        lab.down()


def converge(lab, hosts):
    """Run the role on the named hosts only (the inventory holds just them), with stable indexes."""
    names = list(lab.hosts)
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name], "net_multihost_index": names.index(name) + 1}
                 for name in hosts}
    inventory = lab.inventory(lab.tmp / ("inventory-%d.json" % len(hosts)), host_vars, only=hosts)
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


RECORD_TASK = "Record the segment's host indexes"


def only_peer_changes(overlay, changes, peer, verb):
    """True when the one changed task is the overlay's and it only added (or removed) peer; with OVS the
    bridge's RSTP may follow the host count."""
    # The segment's record on each host follows the inventory (a host joins or leaves it): that and the peer only.
    if RECORD_TASK not in [name for name, dummy in changes]:
        return False
    changes = [(name, lines) for name, lines in changes if name != RECORD_TASK]
    if [name for name, dummy in changes] != [PEER_TASK[overlay]]:
        return False
    lines = changes[0][1]
    if overlay == "kernel_vxlan":
        return lines == ["%s peer %s on netlab-vxlan" % (verb, peer)]
    about_peer = [line for line in lines if peer in line]
    expected = "add tunnel port" if verb == "add" else "delete tunnel port"
    # From three hosts to two RSTP goes off, and the remaining tunnel ports are re-created (ovs_gre_tunnel).
    return (len(about_peer) == 1 and about_peer[0].startswith(expected)
            and all("rstp" in line or line.startswith("re-create tunnel ports") for line in lines if peer not in line))


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
    # The overlay's MTU (1500 - 50 for VXLAN, - 38 for GRE): DF pings of MTU-28 cross, MTU-27 do not.
    assert ping(lab, (h1, "c1"), c2, count=2, size=MTU[lab.overlay] - 28, dont_fragment=True)
    assert not ping(lab, (h1, "c1"), c2, count=1, size=MTU[lab.overlay] - 27, dont_fragment=True)
    before = {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")}

    grown = converge(lab, [h1, h2, h3])
    for host, changes in changes_by_host(grown).items():
        if host != h3:
            assert only_peer_changes(lab.overlay, changes, ip3, "add"), changes
    assert {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")} == before  # nothing restarted
    lab.load_image(hosts=[h3])
    c3 = lab.run_container(h3, "c3")
    assert c3.startswith("172.18.3.")  # the next range; nobody renumbered
    assert ping(lab, (h3, "c3"), c1) and ping(lab, (h3, "c3"), c2) and ping(lab, (h1, "c1"), c2)

    shrunk = converge(lab, [h1, h2])
    changes = changes_by_host(shrunk)
    assert sorted(changes) == sorted([h1, h2])
    assert all(only_peer_changes(lab.overlay, changes[host], ip3, "remove") for host in (h1, h2)), changes
    assert {h1: state(lab, h1, "c1"), h2: state(lab, h2, "c2")} == before
    assert ping(lab, (h1, "c1"), c2)
    # h1 no longer floods to h3: with c1's ARP cache emptied, its request for c3 reaches h2 only. (A Linux
    # VXLAN device still accepts packets from a VTEP it does not list, and learns from them, so h3 itself
    # must be taken down to be gone; OVS drops packets from a peer without a port.)
    pid = lab.exec(h1, "docker", "inspect", "-f", "{{.State.Pid}}", "c1").stdout.strip()
    lab.exec(h1, "nsenter", "-t", pid, "-n", "ip", "neigh", "flush", "all")
    assert not ping(lab, (h1, "c1"), c3, count=2)
    assert ping(lab, (h1, "c1"), c2)

    # teardown.yml, told nothing of the overlay: the host's record says what to remove. With the kernel overlay Open
    # vSwitch never ran here and is not needed: the record goes too (before, it stayed, and the run asked to start it).
    for host in (h1, h2):
        lab.exec(host, "docker", "rm", "-f", "c1" if host == h1 else "c2")
    down = run_playbook("teardown.yml", "-i", str(lab.tmp / "inventory-2.json"))
    assert down.rc == 0, down.stdout[-4000:]
    assert "Open vSwitch does not run" not in down.stdout, down.stdout[-3000:]
    for host in (h1, h2):
        assert lab.exec(host, "ip", "link", "show", "netlab-vxlan", check=False).returncode != 0
        assert lab.exec(host, "test", "-e", "/etc/encompass-netlab/net_mode", check=False).returncode != 0
        if lab.overlay == "ovs":
            assert "br0" not in lab.exec(host, "ovs-vsctl", "list-br").stdout.split()
