# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml on this machine's dockerd: each mode wires the stack and Tomcat reaches its endpoints;
re-runs change nothing; restarts are repaired; modes switch without cleanup; bad input changes nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

SETENV = Path("/etc/encompass-netlab/tomcat/setenv.sh")
CONTAINERS = ("ElasticSearch", "MongoDB", "Tomcat")


def inspect(name):
    proc = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def snapshot():
    """What a failed run must leave as it was: container ids and start times, Tomcat's configuration."""
    state = {name: (info["Id"], info["State"]["StartedAt"]) if info else None for name, info in ((n, inspect(n)) for n in CONTAINERS)}
    state["setenv"] = hashlib.sha256(SETENV.read_bytes()).hexdigest() if SETENV.exists() else None
    return state


def verified(result):
    return any(t["task"]["name"].endswith("Every endpoint is reachable") and not h.get("failed")
               for t in result.tasks for h in t["hosts"].values())


def site(playbook, mode, **kwargs):
    return playbook("site.yml", extra_vars=dict({"net_mode": mode}, **kwargs.pop("extra", {})), **kwargs)


@pytest.fixture(scope="module", autouse=True)
def clean_stack(playbook):
    assert playbook("teardown.yml").rc == 0
    yield
    assert playbook("teardown.yml").rc == 0


@pytest.mark.parametrize("mode", ["pipework", "link", "portmap", "pipework"])
def test_mode_wires_verifies_and_reruns_clean(playbook, mode):
    first = site(playbook, mode)
    assert first.rc == 0 and verified(first), first.stdout[-4000:]
    again = site(playbook, mode)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    check = site(playbook, mode, check=True)
    assert check.rc == 0 and check.changed == 0, check.changed_tasks()

    opts = SETENV.read_text()
    if mode == "pipework":
        assert "-Des.node.hosts=172.17.200.11 " in opts and "-Ddb.encompass.hosts=172.17.200.10:27017" in opts
    elif mode == "link":
        mongo_ip = inspect("MongoDB")["NetworkSettings"]["IPAddress"]
        assert "-Ddb.audit.hosts=%s:27018" % mongo_ip in opts
        assert inspect("Tomcat")["HostConfig"]["Links"] is not None
    else:
        gateway = json.loads(subprocess.run(["docker", "network", "inspect", "bridge"], capture_output=True, text=True,
                                            check=True).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
        assert "-Ddb.encompass.hosts=%s:27017" % gateway in opts
        assert inspect("MongoDB")["HostConfig"]["PortBindings"]["27017/tcp"][0]["HostPort"] == "27017"


@pytest.mark.parametrize("mode", ["pipework", "link"])
def test_restart_is_repaired_by_the_next_run(playbook, mode):
    assert site(playbook, mode).rc == 0
    subprocess.run(["docker", "restart", "-t", "1", *CONTAINERS], capture_output=True, check=True)
    repaired = site(playbook, mode)
    assert repaired.rc == 0 and verified(repaired), repaired.stdout[-4000:]
    if mode == "pipework":
        assert repaired.changed > 0  # the static addresses died with the old namespaces
    assert site(playbook, mode).changed == 0


@pytest.mark.parametrize(
    "mode, extra, message",
    [
        ("bridged", {}, "net_mode=bridged is not one of portmap, link, pipework"),
        ("pipework", {"net_pipework_addresses": {"MongoDB": "10.1.1.10/24", "ElasticSearch": "172.17.200.11/16", "Tomcat": "172.17.200.12/16"}},
         "inside the subnet of docker0"),
        ("pipework", {"net_pipework_addresses": {"MongoDB": "172.17.200.10/16", "ElasticSearch": "172.17.200.10/16", "Tomcat": "172.17.200.12/16"}},
         "each with its own IPv4 address"),
        ("link", {"mongodb_image": "encompass/no-such-image:1"}, "encompass/no-such-image:1"),
    ],
)
def test_bad_input_fails_before_any_change(playbook, mode, extra, message):
    assert site(playbook, "pipework").rc == 0
    before = snapshot()
    result = site(playbook, mode, extra=extra)
    assert result.rc != 0 and result.changed == 0, result.changed_tasks()
    assert message in json.dumps(result.first_failure()), result.first_failure()
    assert snapshot() == before


def test_teardown_removes_what_site_made(playbook):
    assert site(playbook, "pipework").rc == 0
    images = sorted(subprocess.run(["docker", "images", "-q"], capture_output=True, text=True, check=True).stdout.split())
    assert playbook("teardown.yml").rc == 0
    assert all(inspect(name) is None for name in CONTAINERS)
    assert not SETENV.parent.exists()
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    assert not [l for l in links if "veth_attach" in (l.get("ifalias") or "")]
    assert sorted(subprocess.run(["docker", "images", "-q"], capture_output=True, text=True, check=True).stdout.split()) == images
    again = playbook("teardown.yml")
    assert again.rc == 0 and again.changed == 0
