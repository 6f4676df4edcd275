# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""veth_attach on real containers, real namespaces, a real Linux bridge and a real OVS bridge;
state read back with `ip -j` inside the namespace, and real pings."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import TARGET  # pylint: disable=import-error

MODULE = "encompass.netlab.veth_attach"
BASE = "encompass/netlab-base:bookworm"
TAG = uuid.uuid4().hex[:6]
LBR = "brvt" + TAG[:4]
OBR = "bovt" + TAG[:4]


@pytest.fixture(name="module")
def fixture_module(target):
    """Modules run on the session's Docker-in-Docker host (conftest.Target), not on this machine."""
    return target.module


def sh(*argv, check=True):
    """A command on the test host (conftest.Target)."""
    return TARGET.sh(*argv, check=check)


def name(suffix):
    return "netlab-vt-%s-%s" % (TAG, suffix)


def start(suffix):
    sh("docker", "rm", "-f", name(suffix), check=False)
    sh("docker", "run", "-d", "--name", name(suffix), BASE, "sleep", "3600")
    return name(suffix)


def ip_in(container, *argv):
    out = sh("docker", "exec", container, "ip", "-j", *argv).stdout
    return json.loads(out) if out.strip() else []


def eth1(container, ifname="eth1"):
    links = [l for l in ip_in(container, "addr", "show") if l["ifname"] == ifname]
    if not links:
        return None
    link = links[0]
    return dict(mac=link["address"], mtu=link["mtu"], up="UP" in link["flags"],
                addresses=sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in link["addr_info"] if a.get("scope") != "link"))


def offload(container, ifname="eth1"):
    """TX checksum offload of an interface inside a container, read with ethtool's ioctl from the host's netns helper."""
    pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", container).stdout.strip()
    out = sh("nsenter", "-t", pid, "-n", "python3", "-c",
             "import array, fcntl, socket, struct; v = array.array('I', [0x16, 0]); "
             "fcntl.ioctl(socket.socket(), 0x8946, struct.pack('16sP', b'%s', v.buffer_info()[0])); print(v[1])" % ifname).stdout
    return out.strip() == "1"


def ping(container, address, count=2):
    return sh("docker", "exec", container, "ping", "-c", str(count), "-W", "1", address, check=False).returncode == 0


def host_links(prefix="ve"):
    return sorted(l["ifname"] for l in json.loads(sh("ip", "-j", "link", "show").stdout) if l["ifname"].startswith(prefix))


def ovs_ports(bridge):
    return sorted(sh("ovs-vsctl", "list-ports", bridge).stdout.split())


@pytest.fixture(scope="module", autouse=True)
def lab(target):  # noqa: ARG001  pylint: disable=unused-argument
    assert sh("docker", "image", "inspect", BASE, check=False).returncode == 0, "build the base image first (make images)"
    sh("ovs-vsctl", "--may-exist", "add-br", OBR, "--", "set", "bridge", OBR, "datapath_type=netdev")
    sh("ip", "link", "set", OBR, "up")
    yield
    ids = sh("docker", "ps", "-aq", "--filter", "name=netlab-vt-" + TAG).stdout.split()
    if ids:
        sh("docker", "rm", "-f", *ids)
    sh("ovs-vsctl", "--if-exists", "del-br", OBR)
    sh("ip", "link", "del", LBR, check=False)
    sh("ip", "netns", "del", "vt" + TAG, check=False)
    sh("iptables", "-D", "FORWARD", "-i", LBR, "-o", LBR, "-j", "ACCEPT", check=False)


def test_linux_bridge_check_apply_idempotent_and_ping(module):
    a, b = start("a"), start("b")
    args = {"bridge": LBR, "create_bridge": True, "attachments": [
        {"container": a, "address": "192.168.77.10/24"},
        {"container": b, "address": "192.168.77.11/24", "gateway": "192.168.77.1", "routes": ["10.77.0.0/16"]},
    ]}
    predicted = module(MODULE, args, check=True, diff=True)
    assert predicted["changed"] is True and eth1(a) is None and eth1(b) is None
    assert not sh("ip", "link", "show", LBR, check=False).returncode == 0, "check mode made the bridge"

    applied = module(MODULE, args, diff=True)
    assert applied["changed"] is True, applied.get("msg")
    assert [i["changes"] for i in applied["interfaces"]] == [i["changes"] for i in predicted["interfaces"]]
    assert applied["diff"] == predicted["diff"]
    state_a = eth1(a)
    assert state_a == dict(mac="0a:6e:c0:a8:4d:0a", mtu=1500, up=True, addresses=["192.168.77.10/24"])
    routes = ip_in(b, "route", "show")
    assert {"dst": "default", "gateway": "192.168.77.1"}.items() <= [r for r in routes if r["dst"] == "default"][0].items()
    assert [r for r in routes if r["dst"] == "10.77.0.0/16"]
    host_a = applied["interfaces"][0]["host_ifname"]
    assert sh("cat", "/sys/class/net/%s/master/uevent" % host_a).stdout.find("INTERFACE=%s" % LBR) >= 0

    assert module(MODULE, args, check=True)["changed"] is False
    again = module(MODULE, args)
    assert again["changed"] is False and all(i["changes"] == [] for i in again["interfaces"])

    # Frames between the two cross a bridge Docker does not manage: the FORWARD rule lets them.
    assert ping(a, "192.168.77.11")


def test_readdress_mtu_mac_in_place(module):
    a = start("re")
    base = {"container": a, "bridge": LBR, "create_bridge": True, "address": "192.168.77.20/24"}
    module(MODULE, base)
    host_before = sh("cat", "/sys/class/net/%s/ifindex" % module(MODULE, base)["interface"]["host_ifname"]).stdout
    changed = module(MODULE, dict(base, address="192.168.77.21/24", mtu=1400, mac="0a:00:00:00:77:21"))
    assert changed["changed"] is True
    assert eth1(a) == dict(mac="0a:00:00:00:77:21", mtu=1400, up=True, addresses=["192.168.77.21/24"])
    assert sh("cat", "/sys/class/net/%s/ifindex" % changed["interface"]["host_ifname"]).stdout == host_before, "pair recreated"


def test_an_address_in_use_on_the_segment_is_refused_and_the_others_are_made(module):
    """The duplicate-address probe (RFC 5227): the container that holds an address answers the probe, the run fails
    naming the holder's MAC and leaves no interface for that attachment; the attachments probed beside it in the same
    run (whose probes each socket's filter keeps from the others) are made, and a rerun with a free address converges."""
    holder, late = start("holder"), start("late")
    others = [start("probe%d" % i) for i in range(3)]
    module(MODULE, {"container": holder, "bridge": LBR, "create_bridge": True, "address": "192.168.77.40/24"})
    holder_mac = eth1(holder)["mac"]
    items = [{"container": c, "address": "192.168.77.%d/24" % (41 + i)} for i, c in enumerate(others)]
    args = {"bridge": LBR, "create_bridge": True, "attachments": items + [{"container": late, "address": "192.168.77.40/24"}]}
    refused = module(MODULE, args)
    assert refused.get("failed") is True
    assert "address 192.168.77.40/24 is already used on the segment by %s" % holder_mac in refused["msg"], refused["msg"]
    assert "duplicate address check" in refused["msg"] and refused["msg"].count("already used") == 1, refused["msg"]
    assert eth1(late) is None
    assert [eth1(c)["addresses"] for c in others] == [["192.168.77.41/24"], ["192.168.77.42/24"], ["192.168.77.43/24"]]
    assert ping(others[0], "192.168.77.40")
    freed = module(MODULE, dict(args, attachments=items + [{"container": late, "address": "192.168.77.44/24"}]))
    assert freed["changed"] is True, freed.get("msg")
    assert [i["changes"] != [] for i in freed["interfaces"]] == [False, False, False, True]
    assert ping(late, "192.168.77.40")


def test_restart_is_repaired_by_the_next_run(module):
    a = start("rs")
    args = {"container": a, "bridge": LBR, "create_bridge": True, "address": "192.168.77.30/24"}
    first = module(MODULE, args)
    sh("docker", "restart", "-t", "0", a)
    assert eth1(a) is None
    repaired = module(MODULE, args)
    assert repaired["changed"] is True and repaired["interface"]["host_ifname"] == first["interface"]["host_ifname"]
    assert eth1(a)["addresses"] == ["192.168.77.30/24"]
    assert module(MODULE, args)["changed"] is False


def test_ovs_bridge_vlan_isolation_and_absent(module):
    a, b = start("oa"), start("ob")
    args = {"bridge": OBR, "attachments": [
        {"container": a, "address": "192.168.78.10/24", "vlan": 10},
        {"container": b, "address": "192.168.78.11/24", "vlan": 10},
    ]}
    applied = module(MODULE, args)
    assert applied["changed"] is True, applied.get("msg")
    hosts = sorted(i["host_ifname"] for i in applied["interfaces"])
    assert ovs_ports(OBR) == hosts
    assert sh("ovs-vsctl", "get", "Port", hosts[0], "tag").stdout.strip() == "10"
    assert ping(a, "192.168.78.11", count=3)
    assert module(MODULE, args)["changed"] is False

    # Another VLAN for b: the same port, retagged, and the two no longer reach each other. The diff shows the
    # retag (it used to show before == after for a change it reported).
    args["attachments"][1]["vlan"] = 20
    predicted = module(MODULE, args, check=True, diff=True)
    retag = module(MODULE, args, diff=True)
    assert retag["interfaces"][1]["changes"] == ["set %s vlan tag 20" % retag["interfaces"][1]["host_ifname"]]
    assert retag["diff"]["before"]["attachments"][1]["vlan"] == 10 and retag["diff"]["after"]["attachments"][1]["vlan"] == 20
    assert retag["diff"]["before"]["attachments"][0] == retag["diff"]["after"]["attachments"][0]
    assert predicted["diff"] == retag["diff"]
    assert sh("ovs-vsctl", "get", "Port", retag["interfaces"][1]["host_ifname"], "tag").stdout.strip() == "20"
    assert not ping(a, "192.168.78.11")

    # A restart leaves the OVS port's row without its device; the next run makes the pair and the port again (back
    # on VLAN 10 here), and traffic flows: on the userspace datapath a row kept over the new device passed nothing.
    sh("docker", "restart", "-t", "0", b)
    args["attachments"][1]["vlan"] = 10
    predicted = module(MODULE, args, check=True)
    repaired = module(MODULE, args)
    assert repaired["changed"] is True and eth1(b)["addresses"] == ["192.168.78.11/24"]
    assert "add %s to OVS bridge %s again (its device was made again) tag 10" % (retag["interfaces"][1]["host_ifname"], OBR) \
        in repaired["interfaces"][1]["changes"]
    assert predicted["interfaces"][1]["changes"] == repaired["interfaces"][1]["changes"]
    assert ovs_ports(OBR) == hosts and ping(a, "192.168.78.11", count=3)
    assert module(MODULE, args)["changed"] is False

    gone = module(MODULE, {"bridge": OBR, "state": "absent", "attachments": [{"container": a}, {"container": b}]})
    assert gone["changed"] is True
    assert ovs_ports(OBR) == [] and eth1(a) is None and eth1(b) is None
    assert not set(hosts) & set(host_links())


def test_route_change_shows_in_the_diff(module):
    a = start("rt")
    args = {"container": a, "bridge": LBR, "create_bridge": True, "address": "192.168.77.35/24", "routes": ["10.77.0.0/16"]}
    module(MODULE, args)
    changed = module(MODULE, dict(args, routes=["10.78.0.0/16"]), diff=True)
    assert changed["changed"] is True
    assert changed["diff"]["before"]["attachments"][0]["routes"] == ["10.77.0.0/16"]
    assert changed["diff"]["after"]["attachments"][0]["routes"] == ["10.78.0.0/16"]
    assert [r["dst"] for r in ip_in(a, "route", "show") if r["dst"].startswith("10.7")] == ["10.78.0.0/16"]


def test_ovs_bridge_through_a_tcp_ovsdb_remote(module):
    """With a tcp: remote the OVS bridge is found through it (the module used to open OVSDB only when a unix
    socket path existed, so it called the bridge missing)."""
    remote = "ptcp:6699:127.0.0.1"
    sh("ovs-appctl", "-t", "ovsdb-server", "ovsdb-server/add-remote", remote)
    try:
        a = start("tcp")
        args = {"container": a, "bridge": OBR, "address": "192.168.78.60/24", "ovsdb": "tcp:127.0.0.1:6699"}
        result = module(MODULE, args)
        assert result["changed"] is True, result.get("msg")
        assert result["interface"]["bridge_type"] == "ovs" and result["interface"]["host_ifname"] in ovs_ports(OBR)
        assert module(MODULE, args)["changed"] is False
        gone = module(MODULE, dict(args, state="absent"))
        assert gone["changed"] is True and result["interface"]["host_ifname"] not in ovs_ports(OBR)
        refused = module(MODULE, dict(args, ovsdb="tcp:127.0.0.1:6698"))
        assert refused.get("failed") and "tcp:127.0.0.1:6698" in refused["msg"], refused
    finally:
        sh("ovs-appctl", "-t", "ovsdb-server", "ovsdb-server/remove-remote", remote, check=False)


def test_ovs_external_ids_and_checksum_offload(module):
    """The options OVN needs: the interface's external ids (iface-id) and TX checksum offload off inside."""
    a = start("ovn")
    args = {"container": a, "bridge": OBR, "address": "192.168.78.70/24", "external_ids": {"iface-id": "lsp-a"},
            "tx_checksum_offload": False}
    predicted = module(MODULE, args, check=True, diff=True)
    applied = module(MODULE, args, diff=True)
    assert applied["changed"] is True and predicted["diff"] == applied["diff"], applied.get("msg")
    host = applied["interface"]["host_ifname"]
    assert sh("ovs-vsctl", "get", "Interface", host, "external_ids:iface-id").stdout.strip().strip('"') == "lsp-a"
    assert offload(a) is False
    assert module(MODULE, args)["changed"] is False
    # A key someone else owns (ovn-controller's ovn-installed) is neither a change nor removed.
    sh("ovs-vsctl", "set", "Interface", host, "external_ids:ovn-installed=true")
    assert module(MODULE, args)["changed"] is False
    sh("ovs-vsctl", "set", "Interface", host, "external_ids:iface-id=other")
    fixed = module(MODULE, args)
    assert fixed["interface"]["changes"] == ["set %s vlan tag none external_ids:iface-id=lsp-a" % host]
    assert sh("ovs-vsctl", "get", "Interface", host, "external_ids:iface-id").stdout.strip().strip('"') == "lsp-a"
    assert sh("ovs-vsctl", "get", "Interface", host, "external_ids:ovn-installed").stdout.strip().strip('"') == "true"


def test_absent_after_container_stopped_cleans_the_ovs_port(module):
    a = start("stop")
    args = {"container": a, "bridge": OBR, "address": "192.168.78.40/24"}
    host = module(MODULE, args)["interface"]["host_ifname"]
    sh("docker", "stop", "-t", "0", a)
    assert host in ovs_ports(OBR)  # what pipework leaks
    assert module(MODULE, dict(args, state="absent"))["changed"] is True
    assert host not in ovs_ports(OBR)


def test_netns_and_pid_targets(module):
    ns = "vt" + TAG
    sh("ip", "netns", "add", ns)
    result = module(MODULE, {"netns": ns, "bridge": LBR, "create_bridge": True, "address": "192.168.77.50/24", "ifname": "net0"})
    assert result["changed"] is True
    out = json.loads(sh("ip", "-n", ns, "-j", "addr", "show", "net0").stdout)
    assert out[0]["addr_info"][0]["local"] == "192.168.77.50"
    c = start("pid")
    pid = int(sh("docker", "inspect", "-f", "{{.State.Pid}}", c).stdout)
    result = module(MODULE, {"pid": pid, "bridge": LBR, "create_bridge": True, "address": "192.168.77.51/24"})
    assert result["changed"] is True and eth1(c)["addresses"] == ["192.168.77.51/24"]


def test_hundreds_of_namespaces_under_a_login_sessions_open_files_limit(module):
    """600 network namespaces in one task, the module started with 1024 open files as its soft limit (what systemd
    gives a login session): the run holds a netlink session per namespace and a probe socket per new address, well
    over 1024 descriptors and above select()'s limit. Every namespace is wired, and the rerun changes nothing."""
    count, prefix, bridge = 600, "vm" + TAG[:4], "brvm" + TAG[:4]
    names = ["%s-%d" % (prefix, i) for i in range(count)]
    wrapper = "/usr/local/bin/python3-nofile-%s" % TAG
    low_limit = {"ansible_python_interpreter": wrapper}
    try:
        sh("sh", "-c", "for ns in %s; do ip netns add $ns; done" % " ".join(names))
        sh("sh", "-c", "printf '#!/bin/sh\\nexec prlimit --nofile=1024: /usr/bin/python3 \"$@\"\\n' > %s && chmod +x %s" % (wrapper, wrapper))
        assert sh(wrapper, "-c", "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])").stdout.strip() == "1024"
        items = [{"netns": ns, "ifname": "net0", "address": "10.77.%d.%d/16" % (i // 200, i % 200 + 10)} for i, ns in enumerate(names)]
        args = {"bridge": bridge, "create_bridge": True, "attachments": items}
        made = module(MODULE, args, task_vars=low_limit)
        assert made["changed"] is True, made.get("msg")
        for i in (0, 199, 599):
            out = json.loads(sh("ip", "-n", names[i], "-j", "addr", "show", "net0").stdout)
            assert out[0]["addr_info"][0]["local"] == items[i]["address"].split("/")[0]
        assert sh("ip", "netns", "exec", names[599], "ping", "-c", "1", "-W", "1", "10.77.0.10", check=False).returncode == 0
        again = module(MODULE, args, task_vars=low_limit)
        assert again["changed"] is False, again.get("msg")
    finally:
        sh("rm", "-f", wrapper)
        sh("sh", "-c", "for ns in %s; do ip netns del $ns; done" % " ".join(names), check=False)
        sh("ip", "link", "del", bridge, check=False)
        sh("iptables", "-D", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT", check=False)


def test_macvlan_in_bridge_mode(module):
    sh("ip", "link", "add", LBR + "m", "type", "bridge", check=False)
    sh("ip", "link", "set", LBR + "m", "up")
    try:
        a, b = start("ma"), start("mb")
        args = {"link_type": "macvlan", "parent": LBR + "m", "attachments": [
            {"container": a, "address": "192.168.80.10/24"}, {"container": b, "address": "192.168.80.11/24"}]}
        applied = module(MODULE, args)
        assert applied["changed"] is True, applied.get("msg")
        assert eth1(a)["addresses"] == ["192.168.80.10/24"]
        assert ping(a, "192.168.80.11")
        assert module(MODULE, args)["changed"] is False
        gone = module(MODULE, {"link_type": "macvlan", "parent": LBR + "m", "state": "absent",
                               "attachments": [{"container": a}, {"container": b}]})
        assert gone["changed"] is True and eth1(a) is None
    finally:
        sh("ip", "link", "del", LBR + "m", check=False)


def rule(bridge, comment=True):
    extra = ["-m", "comment", "--comment", "encompass.netlab veth_attach " + bridge] if comment else []
    return ["FORWARD", "-i", bridge, "-o", bridge] + extra + ["-j", "ACCEPT"]


def has_rule(bridge, comment=True):
    return sh("iptables", "-C", *rule(bridge, comment), check=False).returncode == 0


def test_the_forward_rule_is_appended_kept_while_attached_and_removed_with_the_last(module):
    bridge = "brfw" + TAG[:4]
    a, b = start("fa"), start("fb")
    both = {"bridge": bridge, "create_bridge": True, "attachments": [
        {"container": a, "address": "192.168.78.10/24"}, {"container": b, "address": "192.168.78.11/24"}]}
    try:
        made = module(MODULE, both)
        assert "accept forwarding between the containers on %s (FORWARD rule appended)" % bridge in made["changes"], made
        # Appended: after Docker's DOCKER-USER jump (and anything of the host's own), never above it.
        forward = sh("iptables", "-S", "FORWARD").stdout.splitlines()
        ours = [i for i, line in enumerate(forward) if "encompass.netlab veth_attach %s" % bridge in line]
        assert len(ours) == 1 and ours[0] > forward.index("-A FORWARD -j DOCKER-USER"), forward
        assert ping(a, "192.168.78.11")
        one_gone = module(MODULE, {"bridge": bridge, "state": "absent", "container": b})
        assert one_gone["changed"] and has_rule(bridge), "the rule went while %s is still attached" % a
        predicted = module(MODULE, {"bridge": bridge, "state": "absent", "container": a}, check=True)
        assert has_rule(bridge)
        last_gone = module(MODULE, {"bridge": bridge, "state": "absent", "container": a})
        assert last_gone["changes"] == predicted["changes"]
        assert "remove the FORWARD accept rule of %s (no attachment of this module is left on it)" % bridge in last_gone["changes"]
        assert not has_rule(bridge) and module(MODULE, {"bridge": bridge, "state": "absent", "container": a})["changed"] is False
    finally:
        sh("iptables", "-D", *rule(bridge), check=False)
        sh("ip", "link", "del", bridge, check=False)


@pytest.mark.parametrize("icc", [True, False])
def test_a_bridge_docker_manages_keeps_its_icc_setting(module, icc):
    """On a Docker network's bridge the module adds no rule: Docker's icc decides. A host wired by an earlier
    version has the uncommented accept rule at the top of FORWARD; where icc is off it is removed, since it undid it."""
    bridge = "brdk%s%s" % (TAG[:4], int(icc))
    net = "netlab-vt-%s-icc%d" % (TAG, icc)
    sh("docker", "network", "create", "-o", "com.docker.network.bridge.name=" + bridge,
       "-o", "com.docker.network.bridge.enable_icc=%s" % str(icc).lower(), "--subnet", "10.%d.7.0/24" % (90 + icc), net)
    a, b = start("d%da" % icc), start("d%db" % icc)
    try:
        if not icc:
            sh("iptables", "-I", *rule(bridge, comment=False)[:1], "1", *rule(bridge, comment=False)[1:])
        args = {"bridge": bridge, "attachments": [{"container": a, "address": "10.%d.7.50/24" % (90 + icc)},
                                                  {"container": b, "address": "10.%d.7.51/24" % (90 + icc)}]}
        predicted = module(MODULE, args, check=True)
        applied = module(MODULE, args)
        assert applied["changes"] == predicted["changes"], (applied, predicted)
        assert not [c for c in applied["changes"] if c.startswith("accept forwarding")] and not has_rule(bridge)
        legacy = [c for c in applied["changes"] if c.startswith("remove the FORWARD accept rule an earlier version")]
        assert len(legacy) == (0 if icc else 1), applied["changes"]
        if not icc:
            assert not has_rule(bridge, comment=False), "the rule that undid icc: false is still there"
        assert ping(a, "10.%d.7.51" % (90 + icc)) is icc, "icc %s not kept between containers on %s" % (icc, bridge)
        assert module(MODULE, args)["changed"] is False
    finally:
        sh("docker", "rm", "-f", a, b, check=False)
        sh("docker", "network", "rm", net, check=False)
        while sh("iptables", "-D", *rule(bridge, comment=False), check=False).returncode == 0:
            pass
