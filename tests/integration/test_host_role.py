# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/host on the session's Docker-in-Docker host (conftest.Target: the role rewrites the Docker daemon's
configuration and restarts it, so never on this machine): real dockerd and Open vSwitch, no systemd (the
direct path)."""

from __future__ import annotations

import json

import pytest

from conftest import TARGET  # pylint: disable=import-error

HOST = "host.yml"
CONFIG = "/etc/docker/daemon.json"
PIDFILE = "/var/run/docker.pid"


def dockerd_pid():
    return int(TARGET.sh("cat", PIDFILE).stdout.strip())


def config():
    return TARGET.sh("cat", CONFIG).stdout


def docker0():
    return json.loads(TARGET.sh("docker", "network", "inspect", "bridge").stdout)[0]


@pytest.fixture(name="playbook")
def fixture_playbook(target):
    """Playbooks run on the session's Docker-in-Docker host."""
    return target.playbook


@pytest.fixture(scope="module", autouse=True)
def converged_defaults(target):
    """Start from, and end with, the role's defaults applied."""
    result = target.playbook(HOST)
    assert result.rc == 0, result.stdout[-3000:]
    yield
    assert target.playbook(HOST).rc == 0


def test_second_run_and_check_mode_report_no_change(playbook):
    pid = dockerd_pid()
    again = playbook(HOST)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    check = playbook(HOST, check=True, diff=True)
    assert check.rc == 0 and check.changed == 0, check.changed_tasks()
    assert dockerd_pid() == pid, "an unchanged run restarted dockerd"


def test_daemons_run(playbook):
    del playbook
    assert TARGET.sh("docker", "info", check=False).returncode == 0
    assert TARGET.sh("/usr/share/openvswitch/scripts/ovs-ctl", "status", check=False).returncode == 0


def test_changed_setting_restarts_dockerd_once_and_check_mode_predicts_it(playbook):
    settings = {"host_docker_mtu": 1400}
    pid = dockerd_pid()
    predicted = playbook(HOST, check=True, extra_vars=settings)
    assert predicted.rc == 0
    assert dockerd_pid() == pid and "mtu" not in json.loads(config())

    applied = playbook(HOST, extra_vars=settings)
    assert applied.rc == 0, applied.stdout[-3000:]
    assert applied.changed_tasks() == predicted.changed_tasks() == [
        "Write the Docker daemon configuration",
        "Keep dockerd running (restarted once when its configuration changed)",
    ]
    assert json.loads(config()) == {"mtu": 1400}
    assert dockerd_pid() != pid
    assert docker0()["Options"]["com.docker.network.driver.mtu"] == "1400"

    restarted_pid = dockerd_pid()
    again = playbook(HOST, extra_vars=settings)
    assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    assert dockerd_pid() == restarted_pid

    back = playbook(HOST)
    assert back.rc == 0 and json.loads(config()) == {}
    assert docker0()["Options"].get("com.docker.network.driver.mtu", "1500") == "1500"


def test_dockerd_killed_is_started_by_the_next_run(playbook):
    TARGET.sh("start-stop-daemon", "--stop", "--pidfile", PIDFILE, "--retry", "20")
    assert TARGET.sh("docker", "info", check=False).returncode != 0
    repaired = playbook(HOST)
    assert repaired.rc == 0
    assert repaired.changed_tasks() == ["Keep dockerd running (restarted once when its configuration changed)"]
    assert TARGET.sh("docker", "info", check=False).returncode == 0
