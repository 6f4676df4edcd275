# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The README's first command, word for word, on a cold machine: a container made from the offline base image alone
(no Docker, no Open vSwitch, no images, no Python libraries, no venv) holding a clean clone. Every first-run path the
lab's prebuilt images hide runs here: the packages, the daemons, the venv, the base image made with debootstrap, the
stand-ins built on it. It must wire the stack and print the matrix, and a second `make demo` must change nothing."""

from __future__ import annotations

import re
import time

import pytest

from cold_lab import BASE_IMAGE, Machine, checkout_tar, json_result  # pylint: disable=import-error
from dind_lab import ROOT  # pylint: disable=import-error


def readme_main_command():
    """The README's command for the main job: the line of its first shell block that ends in `make demo`."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    return next(line for line in block.splitlines() if line.strip().endswith("make demo")).strip()


@pytest.fixture(scope="module", name="cold")
def fixture_cold():
    machine = Machine("netlab-cold-demo-%d" % (time.time_ns() % 100000), BASE_IMAGE)
    try:
        machine.up()
        # Nothing the demo needs is there.
        missing = machine.sh("for c in docker dockerd ovs-vsctl make debootstrap; do command -v $c; done; ls -d /root/netlab/.venv",
                             check=False)
        assert missing.stdout.strip() == "", missing.stdout
        machine.untar("/root/netlab", checkout_tar())
        yield machine
    finally:
        machine.down()


def test_the_readme_main_command_on_a_cold_machine(cold):
    command = readme_main_command()
    assert command == "apt-get update && apt-get install -y make python3-venv && make demo", command
    started = time.monotonic()
    first = cold.sh("cd /root/netlab && " + command, check=False)
    first_seconds = time.monotonic() - started
    print("cold make demo: %.0f s" % first_seconds)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    # The connectivity matrix, every probe answered, and the drawing's path.
    assert re.search(r"endpoint\s+address\s+from Tomcat\s+status page", first.stdout), first.stdout[-4000:]
    assert re.search(r"all \d+ probes answered", first.stdout), first.stdout[-4000:]
    assert "topology: /root/netlab/playbooks/topology/topology.svg" in first.stdout
    assert cold.sh("test -s /root/netlab/playbooks/topology/topology.svg", check=False).returncode == 0
    # What the run made: Docker and Open vSwitch running, the base image made here, the stack on static addresses.
    images = cold.sh("docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split()
    assert "encompass/netlab-base:bookworm" in images and "encompass/tomcat7:latest" in images, images
    running = cold.sh("docker ps --format '{{.Names}}'").stdout.split()
    assert sorted(running) == ["ElasticSearch", "MongoDB", "Tomcat"], running

    started = time.monotonic()
    second = cold.sh("cd /root/netlab && make demo", env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}, check=False)
    second_seconds = time.monotonic() - started
    rc, stats, tasks = json_result(second)
    changed = [t["task"]["name"] for t in tasks if any(h.get("changed") for h in t["hosts"].values())]
    print("second make demo: %.0f s, changed=%s" % (second_seconds, stats.get("localhost", {}).get("changed")))
    assert rc == 0 and stats["localhost"]["changed"] == 0, (changed, second.stdout[-3000:])
