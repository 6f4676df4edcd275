# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ovs_gre_tunnel against the real ovsdb-server and ovs-vswitchd (userspace datapath here),
every assertion read back from OVSDB with ovs-vsctl, not with the module's own code."""

from __future__ import annotations

import json
import os

import pytest

from conftest import TARGET  # pylint: disable=import-error

MODULE = "encompass.netlab.ovs_gre_tunnel"
BRIDGE = "brtunit"
PEERS = ["192.0.2.12", "192.0.2.13"]


@pytest.fixture(name="module")
def fixture_module(target):
    """Modules run on the session's Docker-in-Docker host (conftest.Target), not on this machine."""
    return target.module


def vsctl(*argv, check=True):
    """ovs-vsctl on the test host (conftest.Target)."""
    return TARGET.sh("ovs-vsctl", *argv, check=check)


def table(name, *columns):
    """Rows of an OVSDB table as dicts, read with ovs-vsctl's JSON output."""
    out = json.loads(vsctl("--format=json", "--columns=" + ",".join(columns), "list", name).stdout)
    return [dict(zip(out["headings"], (decode(v) for v in row))) for row in out["data"]]


def decode(value):
    if isinstance(value, list) and value and value[0] == "map":
        return {k: decode(v) for k, v in value[1]}
    if isinstance(value, list) and value and value[0] == "set":
        return [decode(v) for v in value[1]]
    if isinstance(value, list) and value and value[0] == "uuid":
        return value[1]
    return value


def bridge_ports(bridge):
    out = vsctl("list-ports", bridge, check=False)
    return sorted(out.stdout.split()) if out.returncode == 0 else None


def interface(name):
    rows = [r for r in table("Interface", "name", "type", "options", "ofport", "mtu_request") if r["name"] == name]
    return rows[0] if rows else None


def bridge_row(name):
    rows = [r for r in table("Bridge", "name", "datapath_type", "stp_enable", "rstp_enable") if r["name"] == name]
    return rows[0] if rows else None


@pytest.fixture(autouse=True)
def clean(target):  # noqa: ARG001  pylint: disable=unused-argument
    for br in (BRIDGE, BRIDGE + "2", "brtsys"):
        vsctl("--if-exists", "del-br", br)
    yield
    for br in (BRIDGE, BRIDGE + "2", "brtsys"):
        vsctl("--if-exists", "del-br", br)
    TARGET.sh("ip", "link", "del", "lbrtest", check=False)


def test_check_diff_apply_idempotent(module):
    args = {"bridge": BRIDGE, "remote_ips": PEERS, "mtu": 1462, "rstp": True}
    predicted = module(MODULE, args, check=True, diff=True)
    assert predicted["changed"] is True
    assert bridge_row(BRIDGE) is None, "check mode wrote to OVSDB"
    assert predicted["diff"]["before"] == {"bridge": None, "tunnels": {}}

    applied = module(MODULE, args, diff=True)
    assert applied["changed"] is True
    assert applied["changes"] == predicted["changes"] and applied["diff"] == predicted["diff"]

    row = bridge_row(BRIDGE)
    assert row["datapath_type"] == "netdev" and row["rstp_enable"] is True
    assert interface(BRIDGE)["mtu_request"] == 1462 and interface(BRIDGE)["ofport"] >= 1
    ports = sorted(applied["tunnels"])
    assert bridge_ports(BRIDGE) == ports and len(ports) == 2
    for name, tunnel in applied["tunnels"].items():
        iface = interface(name)
        assert iface["type"] == "gre" and iface["options"] == {"remote_ip": tunnel["peer"]}
        assert iface["ofport"] >= 1

    assert module(MODULE, args, check=True)["changed"] is False
    again = module(MODULE, args, diff=True)
    assert again["changed"] is False and again["changes"] == []
    assert again["diff"]["before"] == again["diff"]["after"]


def test_change_peer_key_and_type_in_place_and_exclusive(module):
    first = module(MODULE, {"bridge": BRIDGE, "remote_ips": PEERS})
    uuids = {r["name"]: r["_uuid"] for r in table("Port", "_uuid", "name")}
    changed = module(MODULE, {"bridge": BRIDGE, "remote_ips": PEERS, "tunnel_type": "vxlan", "key": 5001})
    assert changed["changed"] is True and sorted(changed["tunnels"]) == sorted(first["tunnels"])
    for name in first["tunnels"]:
        assert uuids[name] == {r["name"]: r["_uuid"] for r in table("Port", "_uuid", "name")}[name], "port was recreated"
        assert interface(name)["type"] == "vxlan" and interface(name)["options"]["key"] == "5001"

    # A new peer replaces one: with exclusive the dropped peer's port goes.
    swapped = module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[0], "192.0.2.14"], "tunnel_type": "vxlan", "key": 5001})
    assert sorted(t["peer"] for t in swapped["tunnels"].values()) == [PEERS[0], "192.0.2.14"]
    assert bridge_ports(BRIDGE) == sorted(swapped["tunnels"])
    assert [c for c in swapped["changes"] if c.startswith("delete tunnel port")]

    # Without exclusive, a peer left out stays.
    kept = module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[0]], "tunnel_type": "vxlan", "key": 5001, "exclusive": False})
    assert kept["changed"] is False and len(bridge_ports(BRIDGE)) == 2


def test_foreign_ports_are_never_touched(module):
    module(MODULE, {"bridge": BRIDGE, "remote_ips": PEERS})
    vsctl("add-port", BRIDGE, "handmade", "--", "set", "Interface", "handmade", "type=internal")
    module(MODULE, {"bridge": BRIDGE, "remote_ips": []})
    assert bridge_ports(BRIDGE) == ["handmade"]
    module(MODULE, {"bridge": BRIDGE, "state": "absent"})
    assert bridge_ports(BRIDGE) == ["handmade"]


def test_stp_rstp_toggles(module):
    module(MODULE, {"bridge": BRIDGE, "stp": True})
    assert bridge_row(BRIDGE)["stp_enable"] is True
    result = module(MODULE, {"bridge": BRIDGE, "stp": False, "rstp": True})
    assert result["changed"] is True
    row = bridge_row(BRIDGE)
    assert row["stp_enable"] is False and row["rstp_enable"] is True
    assert module(MODULE, {"bridge": BRIDGE})["changed"] is False  # unset: left as it is


def test_absent(module):
    module(MODULE, {"bridge": BRIDGE, "remote_ips": PEERS})
    one = module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[1]], "state": "absent"}, check=True)
    assert one["changed"] is True and len(bridge_ports(BRIDGE)) == 2
    one = module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[1]], "state": "absent"})
    assert [t["peer"] for t in one["tunnels"].values()] == [PEERS[0]] and len(bridge_ports(BRIDGE)) == 1
    gone = module(MODULE, {"bridge": BRIDGE, "state": "absent", "remove_bridge": True})
    assert gone["changed"] is True and bridge_row(BRIDGE) is None
    assert not [r for r in table("Interface", "name") if r["name"].startswith("tun")]
    assert module(MODULE, {"bridge": BRIDGE, "state": "absent", "remove_bridge": True})["changed"] is False


def test_two_bridges_to_one_peer_do_not_collide(module):
    # Port names differ per bridge; the datapath tells the two tunnels apart by their keys.
    a = module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[0]], "key": 1})
    b = module(MODULE, {"bridge": BRIDGE + "2", "remote_ips": [PEERS[0]], "key": 2})
    assert set(a["tunnels"]).isdisjoint(b["tunnels"])
    assert module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[0]], "key": 1})["changed"] is False
    assert len(bridge_ports(BRIDGE)) == 1 and len(bridge_ports(BRIDGE + "2")) == 1


def test_a_second_identical_tunnel_is_refused_by_the_datapath_and_undone(module):
    module(MODULE, {"bridge": BRIDGE, "remote_ips": [PEERS[0]]})
    result = module(MODULE, {"bridge": BRIDGE + "2", "remote_ips": [PEERS[0]]})
    assert result["failed"] is True and "refused tun" in result["msg"] and "File exists" in result["msg"]
    assert bridge_row(BRIDGE + "2") is None and len(bridge_ports(BRIDGE)) == 1


def test_attach_to_a_linux_bridge(module):
    TARGET.sh("ip", "link", "add", "lbrtest", "type", "bridge")
    args = {"bridge": BRIDGE, "attach_to": "lbrtest"}
    first = module(MODULE, args)
    assert first["changed"] is True and "attach %s to Linux bridge lbrtest" % BRIDGE in first["changes"]
    assert TARGET.sh("readlink", "/sys/class/net/%s/master" % BRIDGE).stdout.strip().rsplit("/", 1)[-1] == "lbrtest"
    assert module(MODULE, args)["changed"] is False
    # Taken out by hand: the next run puts it back.
    TARGET.sh("ip", "link", "set", BRIDGE, "nomaster")
    assert module(MODULE, args)["changes"] == ["attach %s to Linux bridge lbrtest" % BRIDGE]


def test_refused_datapath_fails_and_leaves_nothing(module):
    if os.path.isdir("/sys/module/openvswitch"):
        pytest.skip("this kernel has the openvswitch module: the system datapath is not refused here")
    before = vsctl("show").stdout
    result = module(MODULE, {"bridge": "brtsys", "remote_ips": PEERS, "datapath_type": "system"})
    assert result["failed"] is True
    assert "the datapath (system) refused brtsys" in result["msg"] and "use datapath_type: netdev" in result["msg"]
    assert bridge_row("brtsys") is None and vsctl("show").stdout == before
