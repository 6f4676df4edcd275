# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stack_policy on real nftables and real TCP: on the session's Docker-in-Docker host, a Linux bridge with three
network namespaces on it (a "tomcat", an "outsider" and a "mongodb" that listens on 27017) and a listener of the host
itself on the bridge's address (a published port's docker-proxy). The policy must let the tomcat namespace in and keep
the outsider out, on the bridged path (bridge/forward) and on the host's own address (inet/input)."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

from conftest import TARGET  # pylint: disable=import-error

MODULE = "encompass.netlab.stack_policy"
TAG = uuid.uuid4().hex[:5]
TABLE = "netlab_t" + TAG
BR = "pb" + TAG
HOST_IP = "10.97.3.1"
NAMESPACES = {"tomcat": "10.97.3.10", "outsider": "10.97.3.20", "mongodb": "10.97.3.30"}
PORT = 27017
SERVER = ("import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
          "s.bind(('%s', %d)); s.listen(8)\nwhile True:\n    c, _ = s.accept(); c.sendall(b'ok'); c.close()\n")
CLIENT = ("import socket,sys\ntry:\n    s=socket.create_connection(('%s', %d), timeout=2); print(s.recv(2).decode())\n"
          "except OSError as e:\n    print('refused' if isinstance(e, ConnectionRefusedError) else 'timeout')\n")


def sh(*argv, check=True):
    return TARGET.sh(*argv, check=check)


def ns(name):
    return "ps%s%s" % (TAG, name[:3])


def reach(source, address):
    """What a TCP client in namespace source gets from address:27017: ok, refused or timeout."""
    return sh("ip", "netns", "exec", ns(source), "python3", "-c", CLIENT % (address, PORT)).stdout.strip()


def ruleset():
    tables = json.loads(sh("nft", "-j", "list", "tables").stdout)["nftables"]
    return sorted((t["table"]["family"], t["table"]["name"]) for t in tables if "table" in t and t["table"]["name"] == TABLE)


def rules(sources=("tomcat",)):
    mongodb = NAMESPACES["mongodb"]
    return [dict(name="mongodb", endpoints=[dict(address=mongodb, port=PORT), dict(address=HOST_IP, port=PORT)],
                 sources=[NAMESPACES[s] for s in sources])]


@pytest.fixture(name="lab", scope="module")
def fixture_lab(target):
    sh("ip", "link", "add", BR, "type", "bridge")
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", BR)
    sh("ip", "link", "set", BR, "up")
    for index, (name, address) in enumerate(NAMESPACES.items()):
        host_end, inside = "pv%s%d" % (TAG, index), "pi%s%d" % (TAG, index)
        sh("ip", "netns", "add", ns(name))
        sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", inside, "netns", ns(name))
        sh("ip", "link", "set", host_end, "master", BR, "up")
        sh("ip", "netns", "exec", ns(name), "ip", "addr", "add", address + "/24", "dev", inside)
        sh("ip", "netns", "exec", ns(name), "ip", "link", "set", inside, "up")
        sh("ip", "netns", "exec", ns(name), "ip", "link", "set", "lo", "up")
    servers = [["ip", "netns", "exec", ns("mongodb"), "python3", "-c", SERVER % (NAMESPACES["mongodb"], PORT)],
               ["python3", "-c", SERVER % (HOST_IP, PORT)]]
    for argv in servers:
        subprocess.run(["docker", "exec", "-d", TARGET.name, *argv], check=True)
    for where in (["ip", "netns", "exec", ns("mongodb")], []):
        sh("sh", "-c", "for i in $(seq 50); do %s ss -ltn | grep -q ':%d ' && exit 0; sleep 0.1; done; exit 1"
           % (" ".join(where), PORT))
    yield target
    sh("pkill", "-f", "s.bind", check=False)
    sh("nft", "delete", "table", "inet", TABLE, check=False)
    sh("nft", "delete", "table", "bridge", TABLE, check=False)
    for name in NAMESPACES:
        sh("ip", "netns", "del", ns(name), check=False)
    sh("ip", "link", "del", BR, check=False)


def test_only_the_declared_source_reaches_the_service(lab):
    before = {(s, a): reach(s, a) for s in ("tomcat", "outsider") for a in (NAMESPACES["mongodb"], HOST_IP)}
    assert set(before.values()) == {"ok"}, before

    check = lab.module(MODULE, dict(table=TABLE, rules=rules()), check=True, diff=True)
    assert check["changed"] and ruleset() == [], check
    applied = lab.module(MODULE, dict(table=TABLE, rules=rules()), diff=True)
    assert applied["changed"] and applied["tables"] == check["tables"], applied
    assert applied["changes"] == check["changes"]
    assert ruleset() == [("bridge", TABLE), ("inet", TABLE)]
    # bridge/forward: the outsider is dropped on its way to the container, Tomcat gets through.
    assert reach("tomcat", NAMESPACES["mongodb"]) == "ok"
    assert reach("outsider", NAMESPACES["mongodb"]) == "timeout"
    # inet/input: the same for the host's own listener on the bridge's address.
    assert reach("tomcat", HOST_IP) == "ok"
    assert reach("outsider", HOST_IP) == "timeout"

    again = lab.module(MODULE, dict(table=TABLE, rules=rules()), check=True)
    assert not again["changed"], again
    assert not lab.module(MODULE, dict(table=TABLE, rules=rules()))["changed"]


def test_a_hand_made_rule_is_replaced_and_left_out_sources_are_kept(lab):
    lab.module(MODULE, dict(table=TABLE, rules=rules()))
    sh("nft", "add", "rule", "bridge", TABLE, "forward", "ip", "saddr", NAMESPACES["tomcat"], "drop")
    assert reach("tomcat", NAMESPACES["mongodb"]) == "timeout"
    check = lab.module(MODULE, dict(table=TABLE, rules=rules()), check=True)
    assert check["changed"]
    assert lab.module(MODULE, dict(table=TABLE, rules=rules()))["changed"]
    assert reach("tomcat", NAMESPACES["mongodb"]) == "ok"

    # A run that cannot see Tomcat's host leaves the sources out: the table's own are kept.
    kept = lab.module(MODULE, dict(table=TABLE, rules=[dict(rules()[0], sources=None)]))
    assert not kept.get("changed") and kept.get("rules_not_made") == [], kept
    assert reach("outsider", NAMESPACES["mongodb"]) == "timeout"
    # With no rule of that name yet, the rule is not made, and the result says why.
    other = lab.module(MODULE, dict(table=TABLE, rules=[dict(name="es", endpoints=[dict(address="10.97.3.40", port=9200)])]),
                       check=True)
    assert other["rules_not_made"] and other["rules_not_made"][0].startswith("es tcp"), other

    # Changed sources: the outsider is let in, Tomcat is now kept out.
    assert lab.module(MODULE, dict(table=TABLE, rules=rules(("outsider",))))["changed"]
    assert reach("outsider", NAMESPACES["mongodb"]) == "ok"
    assert reach("tomcat", NAMESPACES["mongodb"]) == "timeout"


@pytest.mark.parametrize("bad,message", [
    (dict(rules=[dict(name="mongodb", endpoints=[dict(address="10.97.3.300", port=PORT)], sources=[])]),
     "endpoint '10.97.3.300' is not an IPv4 address"),
    (dict(rules=[dict(name="mongodb", endpoints=[dict(address="10.97.3.30", port=0)], sources=[])]),
     "port 0 of 10.97.3.30 is not a port number"),
    (dict(rules=[dict(name="mongodb", sources=["tomcat"])]), "source 'tomcat' is not an IPv4 address"),
    (dict(rules=[dict(name="a b", sources=[])]), "the name must be letters"),
    (dict(rules=[dict(name="m", sources=[]), dict(name="m", sources=[])]), "policy rule m is listed twice"),
])
def test_bad_input_changes_nothing(lab, bad, message):
    lab.module(MODULE, dict(table=TABLE, rules=rules()))
    tables = lab.module(MODULE, dict(table=TABLE, rules=rules()), check=True)["tables"]
    failed = lab.module(MODULE, dict(table=TABLE, **bad))
    assert failed.get("failed") and message in failed["msg"], failed
    assert "Traceback" not in json.dumps(failed)
    assert lab.module(MODULE, dict(table=TABLE, rules=rules()), check=True)["tables"] == tables


def test_absent_removes_the_tables(lab):
    lab.module(MODULE, dict(table=TABLE, rules=rules()))
    check = lab.module(MODULE, dict(table=TABLE, state="absent"), check=True)
    assert check["changed"] and ruleset() == [("bridge", TABLE), ("inet", TABLE)]
    removed = lab.module(MODULE, dict(table=TABLE, state="absent"))
    assert removed["changed"] and removed["tables"] == {} and ruleset() == []
    assert reach("outsider", NAMESPACES["mongodb"]) == "ok"
    assert not lab.module(MODULE, dict(table=TABLE, state="absent"))["changed"]
