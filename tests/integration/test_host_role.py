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
    """daemon.json's text; "{}" when there is none (the role writes it only to set something)."""
    proc = TARGET.sh("cat", CONFIG, check=False)
    return proc.stdout if proc.returncode == 0 else "{}"


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
    assert back.rc == 0 and json.loads(config()) == {}, config()
    assert docker0()["Options"].get("com.docker.network.driver.mtu", "1500") == "1500"


def test_dockerd_killed_is_started_by_the_next_run(playbook):
    TARGET.sh("start-stop-daemon", "--stop", "--pidfile", PIDFILE, "--retry", "20")
    assert TARGET.sh("docker", "info", check=False).returncode != 0
    repaired = playbook(HOST)
    assert repaired.rc == 0
    assert repaired.changed_tasks() == ["Keep dockerd running (restarted once when its configuration changed)"]
    assert TARGET.sh("docker", "info", check=False).returncode == 0


def test_pid_files_left_behind_naming_other_processes_are_no_obstacle(playbook):
    # A host restarted with /run kept (a container, a Docker-in-Docker host): dockerd's and its containerd's pid files
    # name pids that went to other processes. dockerd refuses its own ("pid file found") and waits for a containerd
    # that is not there (measured: "timeout waiting for containerd to start").
    TARGET.sh("start-stop-daemon", "--stop", "--pidfile", PIDFILE, "--retry", "20")
    TARGET.sh("sh", "-c", "mkdir -p /var/run/docker/containerd && printf 1 > %s && printf 1 > /var/run/docker/containerd/containerd.pid"
              % PIDFILE)
    predicted = playbook(HOST, check=True)
    assert predicted.rc == 0 and predicted.changed_tasks() == ["Keep dockerd running (restarted once when its configuration changed)"]
    repaired = playbook(HOST)
    assert repaired.rc == 0, repaired.stdout[-3000:]
    assert repaired.changed_tasks() == predicted.changed_tasks()
    assert TARGET.sh("docker", "info", check=False).returncode == 0 and dockerd_pid() != 1
    assert playbook(HOST).changed == 0


USER_CONFIG = {"log-driver": "json-file", "log-opts": {"max-size": "10m"}, "registry-mirrors": ["https://mirror.invalid"],
               "max-concurrent-downloads": 5, "mtu": 1400}


def test_the_users_daemon_json_is_kept(playbook):
    """A host that runs Docker with settings of its own: the role sets only its keys, keeps a backup, shows the diff,
    and gives a key it stops setting its old value back; one restart per change."""
    TARGET.sh("sh", "-c", "cp %s /tmp/daemon.json.saved 2>/dev/null; rm -f %s.*~" % (CONFIG, CONFIG))
    try:
        TARGET.sh("sh", "-c", "cat > %s" % CONFIG, stdin=json.dumps(USER_CONFIG))
        playbook(HOST)  # the user's own file, taken as it is: nothing to set
        assert json.loads(config()) == USER_CONFIG
        pid = dockerd_pid()
        # docker0's own default address as bip: Docker keeps docker0's address once bip is gone (docs/lab.md), and the
        # files after this one on the same test host expect 172.17.0.0/16.
        settings = {"host_docker_mtu": 1450, "host_docker_bip": "172.17.0.1/16"}
        applied = playbook(HOST, diff=True, extra_vars=settings)
        assert applied.rc == 0, applied.stdout[-3000:]
        assert json.loads(config()) == dict(USER_CONFIG, mtu=1450, bip="172.17.0.1/16")
        written = next(t for t in applied.tasks if t["task"]["name"].endswith("Write the Docker daemon configuration"))
        diff = json.dumps(list(written["hosts"].values())[0].get("diff"))
        assert "1450" in diff and "172.17.0.1/16" in diff and "registry-mirrors" in diff, diff
        backups = TARGET.sh("sh", "-c", "ls %s.*~" % CONFIG).stdout.split()
        assert len(backups) == 1 and json.loads(TARGET.sh("cat", backups[0]).stdout) == USER_CONFIG
        assert dockerd_pid() != pid and docker0()["Options"]["com.docker.network.driver.mtu"] == "1450"
        pid = dockerd_pid()
        assert playbook(HOST, extra_vars=settings).changed == 0 and dockerd_pid() == pid
        # Settings no longer given: the user's mtu back, the bip gone, everything else as the user had it.
        back = playbook(HOST)
        assert back.rc == 0 and json.loads(config()) == USER_CONFIG
        assert dockerd_pid() != pid
    finally:
        TARGET.sh("sh", "-c", "rm -f %s.*~; if [ -f /tmp/daemon.json.saved ]; then mv /tmp/daemon.json.saved %s; else rm -f %s; fi"
                  % (CONFIG, CONFIG, CONFIG))
        playbook(HOST)


def test_a_daemon_json_that_is_no_json_fails_clearly_and_changes_nothing(playbook):
    TARGET.sh("sh", "-c", "cp %s /tmp/daemon.json.saved 2>/dev/null; printf '{\"mtu\": ' > %s" % (CONFIG, CONFIG))
    try:
        pid = dockerd_pid()
        failed = playbook(HOST, extra_vars={"host_docker_mtu": 1450})
        assert failed.rc != 0 and failed.changed == 0
        assert "%s is not valid JSON" % CONFIG in json.dumps(failed.first_failure())
        assert "Traceback" not in json.dumps(failed.first_failure())
        assert dockerd_pid() == pid and config() == '{"mtu": '
    finally:
        TARGET.sh("sh", "-c", "if [ -f /tmp/daemon.json.saved ]; then mv /tmp/daemon.json.saved %s; else rm -f %s; fi" % (CONFIG, CONFIG))


def test_a_run_that_died_before_the_restart_is_restarted_by_the_next(playbook):
    """The run is killed the moment daemon.json changes, before it restarts dockerd: the next run restarts it (once)."""
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    from conftest import BIN, PLAYBOOKS, ansible_env  # pylint: disable=import-outside-toplevel,import-error
    settings = {"host_docker_mtu": 1420}
    try:
        for attempt in range(3):
            pid = dockerd_pid()
            before = TARGET.sh("sh", "-c", "stat -c %%Y.%%s %s 2>/dev/null || echo none" % CONFIG).stdout.strip()
            run = subprocess.Popen([str(BIN / "ansible-playbook"), "-i", str(TARGET.inventory), HOST, "-e", json.dumps(settings)],
                                   cwd=PLAYBOOKS, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
            # Returns as soon as the file differs (polled inside the host, every 20 ms).
            TARGET.sh("sh", "-c", "while [ \"$(stat -c %%Y.%%s %s 2>/dev/null || echo none)\" = '%s' ]; do sleep 0.02; done"
                      % (CONFIG, before))
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            if dockerd_pid() == pid:
                break
            playbook(HOST)  # the kill came after the restart; put the host back and try again
        else:
            pytest.fail("three runs restarted dockerd before they could be killed")
        assert json.loads(config()).get("mtu") == 1420 and dockerd_pid() == pid
        assert docker0()["Options"].get("com.docker.network.driver.mtu", "1500") != "1420"
        assert TARGET.sh("test", "-e", "/etc/encompass-netlab/docker-restart-pending", check=False).returncode == 0
        predicted = playbook(HOST, check=True, extra_vars=settings)
        assert predicted.changed_tasks() == ["Keep dockerd running (restarted once when its configuration changed)"]
        repaired = playbook(HOST, extra_vars=settings)
        assert repaired.rc == 0 and repaired.changed_tasks() == predicted.changed_tasks()
        assert dockerd_pid() != pid and docker0()["Options"]["com.docker.network.driver.mtu"] == "1420"
        assert TARGET.sh("test", "-e", "/etc/encompass-netlab/docker-restart-pending", check=False).returncode != 0
        pid = dockerd_pid()
        assert playbook(HOST, extra_vars=settings).changed == 0 and dockerd_pid() == pid
    finally:
        playbook(HOST)


def test_an_interpreter_without_the_libraries_is_named(playbook):
    """Ansible runs modules with a Python that cannot import the Docker SDK: the role says which and what to do."""
    TARGET.sh("sh", "-c", "[ -x /opt/bare/bin/python3 ] || python3 -m venv --without-pip /opt/bare")
    try:
        result = playbook(HOST, extra_vars={"ansible_python_interpreter": "/opt/bare/bin/python3"})
        assert result.rc != 0 and result.changed == 0
        message = result.first_failure()["msg"]
        assert "(/opt/bare/bin/python3) cannot import" in message and "ansible_python_interpreter=/usr/bin/python3" in message, message
    finally:
        TARGET.sh("rm", "-rf", "/opt/bare")


CE_CONTROL = """Package: docker-ce
Version: 5:27.5.1-1~debian.12~bookworm
Architecture: amd64
Maintainer: encompass.netlab tests
Depends: containerd, iptables
Description: stand-in for Docker's own engine package (docker.io's dockerd under docker-ce's name and path)
"""


def test_an_engine_the_host_has_is_used_not_replaced(tmp_path):
    """A host that runs Docker's own docker-ce (dockerd in /usr/bin): the role installs no docker.io over it and runs
    that dockerd; the run after changes nothing."""
    from conftest import run_playbook  # pylint: disable=import-outside-toplevel,import-error
    from dind_lab import Lab  # pylint: disable=import-outside-toplevel,import-error
    lab = Lab(1).up()
    try:
        host = list(lab.hosts)[0]
        lab.exec(host, "sh", "-c", "mkdir -p /tmp/ce/DEBIAN /tmp/ce/usr/bin && cp /usr/sbin/dockerd /usr/bin/docker /tmp/ce/usr/bin/"
                 " && dpkg --purge --force-depends docker.io >/dev/null")
        subprocess_input = CE_CONTROL
        import subprocess  # pylint: disable=import-outside-toplevel
        subprocess.run(["docker", "exec", "-i", host, "sh", "-c", "cat > /tmp/ce/DEBIAN/control && dpkg-deb -b /tmp/ce /tmp/ce.deb"
                        " >/dev/null && dpkg -i /tmp/ce.deb >/dev/null"], input=subprocess_input, text=True, check=True,
                       capture_output=True)
        inventory = lab.inventory(tmp_path / "inventory.json")
        first = run_playbook(HOST, "-i", str(inventory))
        assert first.rc == 0, first.stdout[-3000:]
        packages = lab.exec(host, "dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n").stdout
        assert "docker-ce ii" in packages and "docker.io ii" not in packages, packages
        exe = lab.exec(host, "sh", "-c", "readlink /proc/$(cat %s)/exe" % PIDFILE).stdout.strip()
        assert exe == "/usr/bin/dockerd", exe
        facts = next(t for t in first.tasks if t["task"]["name"].endswith("Publish the host's facts for the networking modes"))
        assert list(facts["hosts"].values())[0]["ansible_facts"]["host_docker_engine"] == "docker-ce"
        again = run_playbook(HOST, "-i", str(inventory))
        assert again.rc == 0 and again.changed == 0, again.changed_tasks()
    finally:
        lab.down()
