# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real packets: two Docker-in-Docker hosts whose docker0 bridges are joined only by ovs_gre_tunnel.
A container on host A pings, and sends 5 MiB over TCP to, a container on host B: GRE, then VXLAN."""

from __future__ import annotations

import json

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab, ping, tcp_transfer  # pylint: disable=import-error

MIB = 1024 * 1024
# Userspace GRE costs 38 bytes of the underlay's 1500; 1400 leaves room for VXLAN (50) as well.
MTU = 1400

TUNNELS = """
- name: Join docker0 across the hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: One tunnel to every other host
      encompass.netlab.ovs_gre_tunnel:
        bridge: br0
        remote_ips: "{{ groups['all'] | difference([inventory_hostname]) | map('extract', hostvars, 'underlay_ip') | list }}"
        tunnel_type: "{{ tunnel_type }}"
        attach_to: docker0
        mtu: %d
        datapath_type: netdev
        # The userspace datapath routes tunnels only through an OVS bridge that owns the NIC.
        underlay_interface: eth0
""" % MTU


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("traffic")
    lab = Lab(2).up()
    try:
        # Each host: its own docker0 address on one /16, a disjoint container range, the tunnel MTU.
        host_vars = {}
        for index, name in enumerate(lab.hosts, start=1):
            host_vars[name] = {"host_docker_bip": "172.18.0.%d/16" % index,
                               "host_docker_fixed_cidr": "172.18.%d.0/24" % index, "host_docker_mtu": MTU}
        inventory = lab.inventory(tmp / "inventory.json", host_vars)
        converge = run_playbook("host.yml", "-i", str(inventory))
        assert converge.rc == 0, converge.stdout[-3000:]
        lab.load_image()
        playbook = tmp / "tunnels.yml"
        playbook.write_text(TUNNELS)
        lab.tmp = tmp
        lab.playbook = playbook
        lab.inventory_path = inventory
        yield lab
    finally:
        lab.down()


def wire(lab, tunnel_type, check=False):
    return run_playbook(str(lab.playbook), "-i", str(lab.inventory_path), check=check, extra_vars={"tunnel_type": tunnel_type})


def changes(result):
    return {host: out.get("changes") for task in result.tasks for host, out in task["hosts"].items()}


@pytest.mark.parametrize("tunnel_type", ["gre", "vxlan"])
def test_container_to_container_across_the_tunnel(lab, tunnel_type):
    predicted = wire(lab, tunnel_type, check=True)
    first = wire(lab, tunnel_type)
    assert first.rc == 0, first.stdout[-3000:]
    assert changes(first) == changes(predicted) and all(changes(first).values())
    for host, address in lab.hosts.items():
        assert lab.exec(host, "ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout.strip() == ""
        assert "inet %s/24" % address in lab.exec(host, "ip", "-4", "-o", "addr", "show", "dev", "br-phy").stdout
    again = wire(lab, tunnel_type)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()

    host_a, host_b = list(lab.hosts)
    lab.run_container(host_a, "ca")
    ip_b = lab.run_container(host_b, "cb")
    for host in lab.hosts:
        ports = json.loads(lab.exec(host, "ovs-vsctl", "--format=json", "--columns=name,type", "list", "Interface").stdout)
        assert [tunnel_type] == sorted({row[1] for row in ports["data"] if row[0].startswith("tun")})

    assert ping(lab, (host_a, "ca"), ip_b, count=5), "no ping reply across %s" % tunnel_type
    received, seconds = tcp_transfer(lab, (host_a, "ca"), (host_b, "cb"), ip_b, 5 * MIB)
    assert received == 5 * MIB
    print("%s: 5 MiB in %.3f s (%.0f Mbit/s)" % (tunnel_type, seconds, 5 * MIB * 8 / seconds / 1e6))
    # The containers' MTU fits the tunnel: a full-size don't-fragment ping crosses.
    assert ping(lab, (host_a, "ca"), ip_b, count=2, size=MTU - 28, dont_fragment=True)
