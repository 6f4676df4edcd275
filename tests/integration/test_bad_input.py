# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input, as one table: every module and every role's plan, on the session's Docker-in-Docker host wired in
pipework mode. Each case must fail with its message fragment, show no traceback, and leave the host exactly as it
was: links and addresses, the OVS database, the containers, the iptables rules, the files the roles write."""

from __future__ import annotations

import json
import time

import pytest

from conftest import TARGET  # pylint: disable=import-error

STACK_IMAGES = ("encompass/elastic_search:latest", "encompass/mongodb:latest", "encompass/tomcat7:latest")
LBR = "brbad0"
OBR = "bobad0"
# The host's state, as text: what a failed run must not have touched.
SNAPSHOT = (
    "ip -br link; ip -br addr; bridge link; ovs-vsctl --format=json --columns=name,type,options,external_ids,tag list Interface;"
    " ovs-vsctl --format=json --columns=name,tag list Port; ovs-vsctl --format=json --columns=name,datapath_type,external_ids list Bridge;"
    " ovs-vsctl --format=json --columns=external_ids list Open_vSwitch;"
    " docker ps -aq --no-trunc | xargs -r docker inspect -f '{{.Name}} {{.Id}} {{.State.StartedAt}} {{.State.Running}}';"
    " iptables-save | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//';"
    " find /etc/docker /etc/encompass-netlab /etc/openvswitch/system-id.conf -type f 2>/dev/null | sort | xargs -r sha256sum"
)


def snapshot():
    return TARGET.sh("sh", "-c", SNAPSHOT, check=False).stdout


@pytest.fixture(scope="module", autouse=True)
def wired(target, tmp_path_factory):
    """The stack wired in pipework mode, a Linux bridge and an OVS bridge with nothing on them."""
    import subprocess  # pylint: disable=import-outside-toplevel
    saved = subprocess.run(["docker", "save", *STACK_IMAGES], capture_output=True, check=True).stdout
    subprocess.run(["docker", "exec", "-i", target.name, "docker", "load", "-q"], input=saved, capture_output=True, check=True)
    result = target.playbook("site.yml", extra_vars={"net_mode": "pipework"})
    assert result.rc == 0, result.stdout[-3000:]
    target.sh("ip", "link", "add", LBR, "type", "bridge", check=False)
    target.sh("ovs-vsctl", "--may-exist", "add-br", OBR, "--", "set", "bridge", OBR, "datapath_type=netdev")
    target.sh("docker", "run", "-d", "--name", "netlab-bad-stopped", "encompass/netlab-base:bookworm", "true", check=False)
    # Docker removes the veth pair of the container that stopped after it says so; wait until it has (else the
    # first case's snapshot sees the pair go, which no module did).
    target.sh("docker", "wait", "netlab-bad-stopped", check=False)
    deadline = time.monotonic() + 15
    while "@veth" in target.sh("ip", "-br", "link").stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    TARGET.tmp = tmp_path_factory.mktemp("bad")
    yield
    target.sh("ip", "link", "del", LBR, check=False)
    target.sh("ovs-vsctl", "--if-exists", "del-br", OBR)
    target.sh("docker", "rm", "-f", "netlab-bad-stopped", check=False)
    target.playbook("teardown.yml")


# Module cases: (module, arguments, message fragment). "{running}" is the stack's Tomcat, "{stopped}" a stopped container.
MODULES = [
    ("veth_attach", {"container": "netlab-none", "bridge": LBR, "address": "192.168.90.5/24"}, "container netlab-none: no such container"),
    ("veth_attach", {"container": "netlab-bad-stopped", "bridge": LBR, "address": "192.168.90.5/24"}, "is not running; start it first"),
    ("veth_attach", {"pid": 4194303, "bridge": LBR, "address": "192.168.90.5/24"}, "pid 4194303: no such process"),
    ("veth_attach", {"netns": "netlab-none", "bridge": LBR, "address": "192.168.90.5/24"}, "no such network namespace"),
    ("veth_attach", {"container": "Tomcat", "bridge": "nobr0", "address": "192.168.90.5/24"}, "bridge nobr0 does not exist"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "vlan": 5}, "vlan 5 needs an Open vSwitch bridge"),
    ("veth_attach", {"container": "Tomcat", "bridge": OBR, "address": "192.168.90.5/24", "vlan": 4095}, "vlan 4095 is out of range"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.300/24"}, "is not an address in CIDR form"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.0/24"}, "network or broadcast address"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "gateway": "10.0.0.1"}, "gateway 10.0.0.1 is outside the subnet"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "ifname": "eth1234567890123"}, "is not a valid interface name"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "ifname": "eth0"},
     "eth0 already exists in the target and was not made by this module"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "mac": "01:00:5e:00:00:01"}, "is not a unicast MAC address"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "mac": "0a:6e:zz:00:00:01"}, "is not a unicast MAC address"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "mtu": 20}, "mtu 20 is out of range"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "routes": ["10.0.0.0/33"]}, "route '10.0.0.0/33' is not a network"),
    ("veth_attach", {"container": "Tomcat", "bridge": LBR, "address": "192.168.90.5/24", "mtu": "big"}, "mtu"),
    ("veth_attach", {"bridge": LBR, "attachments": [
        {"container": "Tomcat", "address": "192.168.90.5/24"},
        {"container": "MongoDB", "address": "192.168.90.5/24"}]}, "both claim address 192.168.90.5"),
    ("veth_attach", {"container": "Tomcat", "pid": 1, "bridge": LBR, "address": "192.168.90.5/24"}, "mutually exclusive"),
    ("veth_attach", {"container": "Tomcat", "bridge": OBR, "address": "192.168.90.5/24", "ovsdb": "tcp:127.0.0.1:1"},
     "Open vSwitch database not reachable at tcp:127.0.0.1:1"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["127.0.0.1"]}, "remote_ips entry 127.0.0.1 is an address of this host"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.300"]}, "is not an IP address"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7", "192.0.2.7"]}, "lists 192.0.2.7 twice"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7"], "key": 4294967296}, "key 4294967296 is out of range for gre"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7"], "stp": True, "rstp": True}, "stp and rstp are both true"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7"], "attach_to": "lo"}, "attach_to lo is not a Linux bridge"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7"], "tunnel_type": "ipip"}, "value of tunnel_type must be one of"),
    ("ovs_gre_tunnel", {"bridge": "a-much-too-long-bridge", "remote_ips": ["192.0.2.7"]}, "is not a valid interface name"),
    ("ovs_gre_tunnel", {"bridge": "brtbad", "remote_ips": ["192.0.2.7"], "mtu": 65536}, "mtu 65536 is out of range"),
    ("kernel_vxlan", {"name": "vxbad", "vni": 16777216}, "vni 16777216 is out of range"),
    ("kernel_vxlan", {"name": "vxbad", "local_ip": "192.0.2.77"}, "local_ip 192.0.2.77 is not an address of this host"),
    ("kernel_vxlan", {"name": "vxbad", "remote_ips": ["192.0.2.7", "2001:db8::1"]}, "mix IPv4 and IPv6"),
    ("kernel_vxlan", {"name": "vx-much-too-long-name"}, "is not a valid interface name"),
    ("kernel_vxlan", {"name": "vxbad", "attach_to": "nosuchbr0"}, "attach_to nosuchbr0: no such interface"),
    ("kernel_vxlan", {"name": "vxbad", "port": 0}, "port 0 is out of range"),
    ("docker_link_env", {"links": ["netlab-none:db"], "recipient": "r"}, "no container named netlab-none"),
    ("docker_link_env", {"links": ["MongoDB:my-db", "ElasticSearch:my_db"], "recipient": "r"}, "both give the variable prefix MY_DB_"),
    ("docker_link_env", {"links": ["MongoDB:db"], "recipient": "r", "addresses": {"db": "300.1.1.1"}}, "addresses.db"),
    ("docker_link_env", {"links": ["MongoDB:db"], "recipient": "r", "addresses": {"es": "10.0.0.1"}}, "addresses names aliases that no link has: es"),
    ("docker_link_env", {"links": ["MongoDB:db"], "recipient": "r", "dest": "/nonexistent/dir/links.env"}, "folder /nonexistent/dir does not exist"),
    ("daemon_process", {"name": "x", "argv": ["/bin/true"], "pidfile": "/tmp/x.pid", "timeout": 0}, "timeout must be at least 1 second"),
    ("daemon_process", {"name": "x", "argv": ["/bin/true"]}, "one of the following is required: pidfile, status_argv"),
    ("ovn_switch", {"name": "bad name"}, "is not a valid OVN name"),
    ("ovn_switch", {"name": "netlab", "subnet": "172.29.0.0/16", "ports": [{"name": "p", "addresses": ["0a:6e:0a:00:00:05 10.0.0.5"]}]},
     "address 10.0.0.5 is outside the switch's subnet 172.29.0.0/16"),
    ("ovn_switch", {"name": "netlab", "ports": [{"name": "a", "addresses": ["0a:6e:0a:00:00:05 10.0.0.5"]},
                                                {"name": "b", "addresses": ["0a:6e:0a:00:00:06 10.0.0.5"]}]}, "both claim address 10.0.0.5"),
    ("ovn_switch", {"name": "netlab", "acls": [{"direction": "to-lport", "priority": 40000, "match": "ip", "action": "drop"}]},
     "priority 40000 is out of range"),
    ("ovn_chassis", {"system_id": "h1", "remote": "10.0.0.1:6642", "encap_ip": "10.0.0.1"}, "is not an OVSDB remote"),
    ("ovn_chassis", {"system_id": "h1", "remote": "tcp:10.0.0.1:6642", "encap_ip": "192.0.2.99"}, "encap_ip 192.0.2.99 is not an address of this host"),
    ("ovn_sb_chassis", {"keep": ["a b"]}, "is not a valid OVN name"),
]

# Role cases: (playbook, extra vars, message fragment, host vars of two inventory names for the one host, or None for
# the host alone): the multi-host plans need two hosts, and fail before anything connects to change them.
TWO = {"bad-a": {"net_multihost_underlay_ip": "10.99.254.1"}, "bad-b": {"net_multihost_underlay_ip": "10.99.254.2"}}
ROLES = [
    ("host.yml", {"host_docker_bip": "172.18.0.0/16"}, "host_docker_bip=172.18.0.0/16 must be an interface address", False),
    ("host.yml", {"host_docker_bip": "172.18.0.1/16", "host_docker_fixed_cidr": "172.19.1.0/24"}, "inside host_docker_bip", False),
    ("host.yml", {"host_docker_mtu": 20}, "host_docker_mtu=20 must be 68 to 65535", False),
    ("host.yml", {"host_service_manager": "upstart"}, "value of host_service_manager must be one of", False),
    ("site.yml", {"net_mode": "bridged"}, "net_mode=bridged is not a networking mode of encompass.netlab; the modes are", False),
    ("site.yml", {"net_mode": "pipework", "net_pipework_addresses": {"mongodb": "172.17.200.10/16", "elasticsearch": "172.17.200.10/16",
                                                                     "tomcat": "172.17.200.12/16"}}, "each with its own IPv4 address", False),
    ("site.yml", {"net_mode": "pipework", "net_pipework_addresses": {"mongodb": "10.1.1.10/24", "elasticsearch": "172.17.200.11/16",
                                                                     "tomcat": "172.17.200.12/16"}}, "inside the subnet of docker0", False),
    ("site.yml", {"net_mode": "portmap", "net_portmap_ports": {"mongodb": {"27017": 70000}, "elasticsearch": {"9200": 9200},
                                                               "tomcat": {"8080": 8080}}}, "host ports 1 to 65535", False),
    ("site.yml", {"net_mode": "portmap", "net_portmap_addresses": {"mongodb": {"27017": "everywhere"}}},
     "net_portmap_addresses gives, by service and container port, an IPv4 address, bridge", False),
    ("site.yml", {"net_mode": "portmap", "net_portmap_addresses": {"mongodb": {"27019": "all"}}},
     "for ports of net_portmap_ports only", False),
    ("site.yml", {"net_mode": "pipework", "stack_tomcat_container": "bad name"}, "tomcat: container wants a container name of letters", False),
    ("site.yml", {"net_mode": "pipework", "net_pipework_addresses": {"MongoDB": "172.17.200.10/16"}}, "net_pipework_addresses", False),
    ("site.yml", {"net_mode": "link", "stack_mongodb_image": "encompass/no-such-image:1", "images_standins": ["elasticsearch", "tomcat"]},
     "encompass/no-such-image:1 is not on this host", False),
    # The services' definition (stack_services): read by every mode's plan, before any change.
    ("site.yml", {"net_mode": "link", "stack_services": {
        "elasticsearch": {"ports": [9200], "alias": "es", "properties": [{"name": "es.node.hosts", "port": 9300}]},
        "mongodb": {"ports": [27017], "alias": "db"}, "tomcat": {"ports": [8080]}}},
     "elasticsearch: a property wants a name, one of the service's ports (9200)", False),
    ("site.yml", {"net_mode": "portmap", "stack_services": {
        "mongodb": {"container": "MongoDB", "image": "encompass/mongodb:latest", "ports": [27017]},
        "cache": {"container": "MongoDB", "image": "example/cache:1", "ports": [6379]}}},
     "cache: container wants a name of its own, got 'MongoDB' (mongodb has it)", False),
    ("site.yml", {"net_mode": "link", "stack_services": {
        "mongodb": {"container": "MongoDB", "image": "encompass/mongodb:latest", "ports": [27017]}}},
     "stack_services must define tomcat", False),
    # Replicas (stack_replicas, stack_hosts): read with the definition, before any change.
    ("site.yml", {"net_mode": "link", "stack_replicas": {"tomcat": 2}}, "tomcat runs one container", False),
    ("site.yml", {"net_mode": "multihost", "stack_replicas": {"elasticsearch": 2}, "stack_hosts": {"elasticsearch": ["nowhere"]}},
     "stack_hosts must map services of the stack", TWO),
    ("site.yml", {"net_mode": "multihost", "net_multihost_index": 1}, "both have index 1", TWO),
    # One host's index out of range (each its own: the same index on two hosts is an error of its own).
    ("site.yml", {"net_mode": "multihost"}, "has index 300, out of range 1 to 254",
     {"bad-a": dict(TWO["bad-a"], net_multihost_index=300), "bad-b": dict(TWO["bad-b"], net_multihost_index=1)}),
    ("site.yml", {"net_mode": "multihost", "net_multihost_supernet": "172.18.0.0/24", "net_multihost_host_prefix": 25},
     "has room for 1 hosts with /25 each, not 2", TWO),
    ("site.yml", {"net_mode": "multihost", "netlab_overlay": "wireguard"}, "net_multihost_overlay must be one of", TWO),
    ("site.yml", {"net_mode": "multihost", "netlab_tunnel_type": "ipip"}, "net_multihost_tunnel_type must be one of: gre, vxlan", TWO),
    ("site.yml", {"net_mode": "multihost", "net_multihost_stp": True, "net_multihost_rstp": True}, "are both on", TWO),
    ("site.yml", {"net_mode": "multihost", "net_multihost_placement": {"tomcat": "nowhere"}}, "net_multihost_placement must map", TWO),
    ("site.yml", {"net_mode": "multihost"}, "not an IPv4 address", dict(TWO, **{"bad-b": {"net_multihost_underlay_ip": "not-an-ip"}})),
    ("site.yml", {"net_mode": "ovn", "net_ovn_central": "nowhere"}, "no central host: nowhere is not a host of this play", TWO),
    ("site.yml", {"net_mode": "ovn"}, "two central hosts: bad-a and bad-b",
     {"bad-a": dict(TWO["bad-a"], net_ovn_central="bad-a"), "bad-b": dict(TWO["bad-b"], net_ovn_central="bad-b")}),
    ("site.yml", {"net_mode": "ovn"}, "has no IPv4 underlay address", dict(TWO, **{"bad-b": {}})),
    ("site.yml", {"net_mode": "ovn", "net_ovn_switch": "a b"}, "must be a valid OVN name", TWO),
    ("site.yml", {"net_mode": "ovn", "net_ovn_subnet": "10.0.0.0/33"}, "net_ovn_subnet=10.0.0.0/33", TWO),
    ("site.yml", {"net_mode": "ovn", "net_ovn_encap_type": "ipip"}, "net_ovn_encap_type must be one of: geneve, vxlan", TWO),
    ("site.yml", {"net_mode": "ovn", "net_ovn_placement": {"tomcat": "nowhere"}}, "net_ovn_placement must map", TWO),
    ("site.yml", {"net_mode": "ovn", "net_ovn_extra_ports": [{"name": "x", "addresses": ["0a:6e:0a:00:00:05 10.0.0.5"]}]},
     "an address of port x is outside the switch's subnet 172.29.0.0/16", TWO),
]


def no_traceback(result):
    return "Traceback" not in json.dumps(result) and "unexpected" not in json.dumps(result)


@pytest.fixture(scope="module", name="module_cases")
def fixture_module_cases():
    """Every module case in one playbook run, with a snapshot of the host before the first case and after each: one
    ansible-playbook run instead of one per case (each costs seconds of both cores), and a change is still pinned on the
    case that made it. Returns ({case index: its result}, [snapshot before case 0, after case 0, ...])."""
    def snapshot_task(index):
        # Docker's format strings in the snapshot are Jinja to Ansible: raw.
        argv = ["sh", "-c", "{% raw %}" + SNAPSHOT + "{% endraw %}"]
        return {"name": "snapshot %d" % index, "ansible.builtin.command": {"argv": argv}, "changed_when": False, "failed_when": False}
    tasks = [snapshot_task(0)]
    for index, (module, args, dummy) in enumerate(MODULES):
        tasks.append({"name": "case %d" % index, "encompass.netlab." + module: args, "ignore_errors": True})
        tasks.append(snapshot_task(index + 1))
    path = TARGET.tmp / "module_cases.json"
    path.write_text(json.dumps([{"hosts": TARGET.name, "gather_facts": False, "tasks": tasks}]), encoding="utf-8")
    result = TARGET.playbook(str(path))
    outcomes = {task["task"]["name"]: task["hosts"][TARGET.name] for task in result.tasks}
    assert len(outcomes) == len(tasks), result.stdout[-3000:]
    return ({index: outcomes["case %d" % index] for index in range(len(MODULES))},
            [outcomes["snapshot %d" % index]["stdout"] for index in range(len(MODULES) + 1)])


@pytest.mark.parametrize("index", range(len(MODULES)), ids=["%s-%d" % (c[0], i) for i, c in enumerate(MODULES)])
def test_bad_module_input_changes_nothing(module_cases, index):
    message = MODULES[index][2]
    results, snapshots = module_cases
    result = results[index]
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert no_traceback(result), result
    assert snapshots[index + 1] == snapshots[index]


@pytest.mark.parametrize("playbook, extra, message, two", ROLES, ids=["%s-%d" % (c[0], i) for i, c in enumerate(ROLES)])
def test_bad_role_input_changes_nothing(playbook, extra, message, two):
    before = snapshot()
    if two:
        from conftest import run_playbook  # pylint: disable=import-outside-toplevel,import-error
        inventory = TARGET.tmp / "two.json"
        hosts = {name: dict(values, ansible_host=TARGET.name) for name, values in two.items()}
        inventory.write_text(json.dumps({"all": {"vars": {"ansible_connection": "community.docker.docker", "ansible_become": False,
                                                          "ansible_python_interpreter": "/usr/bin/python3"}, "hosts": hosts}}))
        result = run_playbook(playbook, "-i", str(inventory), extra_vars=extra)
    else:
        result = TARGET.playbook(playbook, extra_vars=extra)
    assert result.rc != 0 and result.changed == 0, result.changed_tasks()
    failure = result.first_failure()
    assert failure is not None and message in json.dumps(failure), failure
    assert no_traceback(failure), failure
    assert snapshot() == before


def test_the_table_is_large_enough():
    assert len(MODULES) + len(ROLES) >= 40
