# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kernel_vxlan on real devices: this host and a network namespace joined by a veth "underlay"; the
module makes the host's VXLAN device on a Linux bridge, the namespace gets its twin by hand, and
pings cross the overlay. State is read back with `ip -j -d` and `bridge -j fdb`."""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import TARGET  # pylint: disable=import-error

MODULE = "encompass.netlab.kernel_vxlan"
TAG = uuid.uuid4().hex[:5]
NS = "vx" + TAG
UND, UND_PEER = "vxu" + TAG, "vxp" + TAG  # the underlay veth pair
BR = "vxb" + TAG  # the host's overlay bridge
DEV = "vxd" + TAG
LOCAL, PEER = "10.98.7.1", "10.98.7.2"
OVER_LOCAL, OVER_PEER = "192.168.97.1", "192.168.97.2"
MTU = 1450  # 1500 minus VXLAN's 50


@pytest.fixture(name="module")
def fixture_module(target):
    """Modules run on the session's Docker-in-Docker host (conftest.Target), not on this machine."""
    return target.module


def sh(*argv, check=True):
    """A command on the test host (conftest.Target)."""
    return TARGET.sh(*argv, check=check)


def in_ns(*argv, check=True):
    return sh("ip", "netns", "exec", NS, *argv, check=check)


def device():
    out = sh("ip", "-j", "-d", "link", "show", DEV, check=False)
    if out.returncode != 0:
        return None
    link = json.loads(out.stdout)[0]
    data = link["linkinfo"]["info_data"]
    fdb = json.loads(sh("bridge", "-j", "fdb", "show", "dev", DEV).stdout or "[]")
    return dict(vni=data["id"], local=data.get("local"), port=data["port"], mtu=link["mtu"], master=link.get("master"),
                up="UP" in link["flags"], alias=link.get("ifalias"),
                peers=sorted(e["dst"] for e in fdb if e["mac"] == "00:00:00:00:00:00" and "dst" in e))


def ping(address, count=3, size=None, dont_fragment=False):
    argv = ["ping", "-c", str(count), "-W", "1", "-I", BR]
    if size is not None:
        argv += ["-s", str(size)]
    if dont_fragment:
        argv += ["-M", "do"]
    return sh(*argv, address, check=False).returncode == 0


def args(**extra):
    base = {"name": DEV, "vni": 4242, "local_ip": LOCAL, "remote_ips": [PEER], "attach_to": BR, "mtu": MTU}
    base.update(extra)
    return base


@pytest.fixture(scope="module", autouse=True)
def lab(target):  # noqa: ARG001  pylint: disable=unused-argument
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", UND, "type", "veth", "peer", "name", UND_PEER)
    sh("ip", "link", "set", UND_PEER, "netns", NS)
    sh("ip", "addr", "add", LOCAL + "/24", "dev", UND)
    sh("ip", "link", "set", UND, "up")
    in_ns("ip", "addr", "add", PEER + "/24", "dev", UND_PEER)
    in_ns("ip", "link", "set", UND_PEER, "up")
    in_ns("ip", "link", "set", "lo", "up")
    # The far end, by hand: a bridge with an address and its own VXLAN device flooding to this host.
    in_ns("ip", "link", "add", "br0", "type", "bridge")
    in_ns("ip", "addr", "add", OVER_PEER + "/24", "dev", "br0")
    in_ns("ip", "link", "add", "vx0", "type", "vxlan", "id", "4242", "local", PEER, "dstport", "4789")
    in_ns("ip", "link", "set", "vx0", "mtu", str(MTU), "master", "br0", "up")
    in_ns("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "vx0", "dst", LOCAL)
    in_ns("ip", "link", "set", "br0", "up")
    # This host's overlay bridge, as docker0 would be.
    sh("ip", "link", "add", BR, "type", "bridge")
    sh("ip", "addr", "add", OVER_LOCAL + "/24", "dev", BR)
    sh("ip", "link", "set", BR, "up")
    yield
    sh("ip", "link", "del", DEV, check=False)
    sh("ip", "link", "del", BR, check=False)
    sh("ip", "link", "del", UND, check=False)
    sh("ip", "netns", "del", NS, check=False)


def test_check_apply_idempotent_and_real_packets(module):
    predicted = module(MODULE, args(), check=True, diff=True)
    assert predicted["changed"] and device() is None
    applied = module(MODULE, args(), diff=True)
    assert applied["changed"], applied
    assert applied["changes"] == predicted["changes"]
    assert applied["device"] == predicted["device"]
    assert device() == dict(vni=4242, local=LOCAL, port=4789, mtu=MTU, master=BR, up=True,
                            alias="encompass.netlab:kernel_vxlan", peers=[PEER])
    again = module(MODULE, args())
    assert not again["changed"], again["changes"]
    assert module(MODULE, args(), check=True)["changed"] is False
    # Real packets: a ping, and the MTU: a don't-fragment ping of MTU-28 crosses, MTU-27 does not.
    assert ping(OVER_PEER)
    assert ping(OVER_PEER, count=2, size=MTU - 28, dont_fragment=True)
    assert not ping(OVER_PEER, count=1, size=MTU - 27, dont_fragment=True)


def test_peers_follow_the_list(module):
    module(MODULE, args())
    grown = module(MODULE, args(remote_ips=[PEER, "10.98.7.3"]))
    assert grown["changes"] == ["add peer 10.98.7.3 on %s" % DEV]
    assert device()["peers"] == [PEER, "10.98.7.3"]
    kept = module(MODULE, args(exclusive=False))
    assert not kept["changed"] and device()["peers"] == [PEER, "10.98.7.3"]
    shrunk = module(MODULE, args())
    assert shrunk["changes"] == ["remove peer 10.98.7.3 on %s" % DEV]
    assert device()["peers"] == [PEER] and ping(OVER_PEER)


def test_faults_are_repaired_by_the_next_run(module):
    module(MODULE, args())
    sh("bridge", "fdb", "del", "00:00:00:00:00:00", "dev", DEV, "dst", PEER)
    sh("ip", "link", "set", DEV, "down")
    repaired = module(MODULE, args())
    assert repaired["changes"] == ["bring %s up" % DEV, "add peer %s on %s" % (PEER, DEV)]
    assert ping(OVER_PEER)
    sh("ip", "link", "del", DEV)
    assert module(MODULE, args())["changed"] and ping(OVER_PEER)


def test_immutable_change_recreates_the_device(module):
    module(MODULE, args())
    changed = module(MODULE, args(vni=4243))
    assert changed["changes"][:2] == ["remove %s (to change vni)" % DEV, "create %s: vni=4243 port=4789 local=%s" % (DEV, LOCAL)]
    assert device()["vni"] == 4243 and device()["master"] == BR and device()["peers"] == [PEER]
    assert not ping(OVER_PEER, count=2)  # the far end is still on 4242
    module(MODULE, args())
    assert ping(OVER_PEER)


def test_foreign_device_is_refused_then_absent_removes_ours(module):
    module(MODULE, {"name": DEV, "state": "absent"})
    sh("ip", "link", "add", DEV, "type", "vxlan", "id", "99", "dstport", "4789")
    try:
        refused = module(MODULE, args())
        assert refused.get("failed") and "did not make" in refused["msg"]
        assert device()["vni"] == 99
        assert module(MODULE, {"name": DEV, "state": "absent"}).get("failed")
    finally:
        sh("ip", "link", "del", DEV)
    module(MODULE, args())
    predicted = module(MODULE, {"name": DEV, "state": "absent"}, check=True)
    assert predicted["changed"] and device() is not None
    removed = module(MODULE, {"name": DEV, "state": "absent"})
    assert removed["changed"] and device() is None
    assert not module(MODULE, {"name": DEV, "state": "absent"})["changed"]


def test_check_mode_predicts_the_mtu_the_kernel_gives_a_new_device(module):
    """Without mtu, Linux gives a VXLAN device on an underlay device that device's MTU minus 50; check mode must
    predict the same (it used to say 1500 whatever the underlay)."""
    module(MODULE, {"name": DEV, "state": "absent"})
    sh("ip", "link", "set", UND, "mtu", "9000")
    try:
        wanted = args(mtu=None, underlay_interface=UND)
        predicted = module(MODULE, wanted, check=True, diff=True)
        applied = module(MODULE, wanted, diff=True)
        assert applied["changed"] and device()["mtu"] == 8950
        assert predicted["device"]["mtu"] == applied["device"]["mtu"] == 8950
        assert predicted["diff"] == applied["diff"]
        assert not module(MODULE, wanted)["changed"]
    finally:
        module(MODULE, {"name": DEV, "state": "absent"})
        sh("ip", "link", "set", UND, "mtu", "1500")
