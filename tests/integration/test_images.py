# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The offline images on the real dockerd: built once, then skipped until an input changes."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

BASE = "encompass/netlab-base:bookworm"
HOST = "encompass/netlab-host:bookworm"
LABEL = "org.encompass.netlab.inputs"


def inspect(image):
    proc = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def run_in(image, *argv):
    return subprocess.run(["docker", "run", "--rm", "--entrypoint", argv[0], image, *argv[1:]],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module", autouse=True)
def built(playbook):
    result = playbook("lab_images.yml")
    assert result.rc == 0, result.stdout[-3000:]


def test_second_run_and_check_mode_report_no_change(playbook):
    ids = (inspect(BASE)["Id"], inspect(HOST)["Id"])
    again = playbook("lab_images.yml")
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    check = playbook("lab_images.yml", check=True)
    assert check.rc == 0 and check.changed == 0, check.changed_tasks()
    assert (inspect(BASE)["Id"], inspect(HOST)["Id"]) == ids


def test_base_image_is_debian_with_this_machines_apt_sources():
    assert re.fullmatch(r"[0-9a-f]{16}", inspect(BASE)["Config"]["Labels"][LABEL])
    assert run_in(BASE, "cat", "/etc/debian_version").startswith("12.")
    assert "Python 3.11" in run_in(BASE, "python3", "--version")
    for source in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        assert run_in(BASE, "cat", str(source)) == source.read_text()
    assert "ping" in run_in(BASE, "sh", "-c", "command -v ping ip")


def test_the_other_platforms_images():
    """The plain servers of the first-contact tier (Debian 12 and 13: systemd, sshd, sudo, python3, and nothing the
    roles install); systemd as the entry point of the systemd scenario's host."""
    assert run_in("encompass/netlab-base:trixie", "cat", "/etc/debian_version").startswith("13.")
    for suite, version in (("bookworm", "12."), ("trixie", "13.")):
        server = "encompass/netlab-server:" + suite
        assert run_in(server, "cat", "/etc/debian_version").startswith(version)
        out = run_in(server, "sh", "-c", "for c in sshd sudo python3 systemctl docker dockerd ovs-vsctl debootstrap; do command -v $c"
                     " || echo missing $c; done")
        assert [line for line in out.split("\n") if line.startswith("missing")] == [
            "missing docker", "missing dockerd", "missing ovs-vsctl", "missing debootstrap"], out
    assert inspect("encompass/netlab-host-systemd:bookworm")["Config"]["Entrypoint"][-1] == "/usr/local/sbin/netlab-host-init"
    assert "systemd" in run_in("encompass/netlab-host-systemd:bookworm", "sh", "-c", "readlink -f /sbin/init")
    # The servers stand for users' machines: Python's own zipimport, no bytecode cache (the test hosts have one).
    for image in ("encompass/netlab-server:bookworm", "encompass/netlab-server:trixie"):
        assert compiler(image) == "zipimport", image
    for image in (HOST, "encompass/netlab-host-systemd:bookworm"):
        assert compiler(image) == "netlab_zipimport_cache", image


def compiler(image):
    """The module whose function zipimport compiles sources with, in image's python3."""
    return run_in(image, "python3", "-c", "import zipimport; print(zipimport._compile_source.__module__)").strip()


def test_host_image_starts_with_its_entry_point():
    name = "netlab-it-hostimage"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    try:
        subprocess.run(["docker", "run", "-d", "--name", name, "--cap-add", "SYS_ADMIN", HOST], capture_output=True, check=True)
        # The entry point ran to its end: it exec'd the image's command (a fixed wait could pass before it failed).
        deadline = time.monotonic() + 15
        while "sleep infinity" not in top(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "sleep infinity" in top(name), top(name)
        state = inspect_container(name)
        assert state["Running"], state
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)


def top(name):
    return subprocess.run(["docker", "top", name], capture_output=True, text=True, check=False).stdout


def inspect_container(name):
    out = subprocess.run(["docker", "inspect", "-f", "{{json .State}}", name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_host_image_carries_the_daemons_and_the_init():
    image = inspect(HOST)
    assert image["Config"]["Entrypoint"] == ["/usr/bin/tini", "--", "/usr/local/sbin/netlab-host-init"]
    assert image["Config"]["Labels"][LABEL] != inspect(BASE)["Config"]["Labels"][LABEL]
    out = run_in(HOST, "sh", "-c", "for c in dockerd ovs-vswitchd ovs-vsctl iptables tini; do command -v $c; done")
    assert len(out.split()) == 5, out


# One host image through the role (lab_images.yml makes three, which one name given as an extra var would merge).
ONE_IMAGE = """---
- name: One host image
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The image
      ansible.builtin.include_role:
        name: encompass.netlab.dind_host_image
"""


def test_changed_input_rebuilds_and_only_then(playbook, tmp_path):
    name = "encompass/netlab-host:integration-test"
    small = {"dind_host_image_name": name, "dind_host_image_packages": ["tini"]}
    one = tmp_path / "one_image.yml"
    one.write_text(ONE_IMAGE)
    try:
        first = playbook(one, extra_vars=small)
        assert first.rc == 0 and "Build the image" in first.changed_tasks()
        label = inspect(name)["Config"]["Labels"][LABEL]
        same = playbook(one, extra_vars=small)
        assert same.rc == 0 and same.changed == 0, same.changed_tasks()
        grown = dict(small, dind_host_image_packages=["tini", "procps"])
        predicted = playbook(one, check=True, extra_vars=grown)
        assert "Build the image" in predicted.changed_tasks()
        assert inspect(name)["Config"]["Labels"][LABEL] == label, "check mode rebuilt the image"
        rebuilt = playbook(one, extra_vars=grown)
        assert rebuilt.rc == 0 and "Build the image" in rebuilt.changed_tasks()
        assert inspect(name)["Config"]["Labels"][LABEL] != label
        assert "/usr/bin/ps" in run_in(name, "sh", "-c", "command -v ps")
    finally:
        subprocess.run(["docker", "image", "rm", "-f", name], capture_output=True, check=False)


BROKEN_BUILD = """---
- name: The stack's Tomcat image on a base whose package sources lead nowhere
  hosts: localhost
  gather_facts: false
  roles:
    - role: encompass.netlab.images
"""


def test_a_failed_build_fails_the_run_and_labels_no_image(playbook, tmp_path):
    """apt-get cannot install Tomcat: the run fails, and no image stands under the name as if it were current (Tomcat's
    recipe once ended in `; true`, so a failed apt-get still gave an image labelled current, never rebuilt)."""
    base, name = "encompass/netlab-base:integration-broken-sources", "encompass/tomcat7:integration-broken"
    context = tmp_path / "broken"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM %s\nRUN rm -f /etc/apt/sources.list.d/* && echo 'deb http://127.0.0.1:9/debian"
                                        " bookworm main' > /etc/apt/sources.list\n" % BASE)
    subprocess.run(["docker", "build", "-q", "-t", base, str(context)], capture_output=True, check=True)
    play = tmp_path / "broken.yml"
    play.write_text(BROKEN_BUILD)
    try:
        result = playbook(play, extra_vars={"images_base_image": base, "images_standins": ["tomcat"], "stack_tomcat_image": name})
        assert result.rc != 0, result.stdout[-3000:]
        assert [t["task"]["name"] for t in result.tasks if any(h.get("failed") for h in t["hosts"].values())] \
            == ["encompass.netlab.image_build : Build the image"], result.stdout[-3000:]
        assert inspect(name) is None
    finally:
        subprocess.run(["docker", "image", "rm", "-f", name, base], capture_output=True, check=False)
