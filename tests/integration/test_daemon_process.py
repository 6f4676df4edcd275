# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""daemon_process on real processes: check -> apply -> idempotent, restart, stop, and its failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

MODULE = "encompass.netlab.daemon_process"

# A daemon that stays in the foreground and writes its pid file, as dockerd does.
TOY_DAEMON = """\
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
time.sleep(600)
"""


def read_pid(pidfile):
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    if pid is None:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


@pytest.fixture(name="toyd")
def fixture_toyd(tmp_path):
    script = tmp_path / "toyd.py"
    script.write_text(TOY_DAEMON)
    pidfile = tmp_path / "toyd.pid"
    args = {
        "name": "toyd",
        "argv": [sys.executable, str(script), str(pidfile)],
        "pidfile": str(pidfile),
        "log_file": str(tmp_path / "toyd.log"),
        "timeout": 10,
    }
    yield args, pidfile
    pid = read_pid(pidfile)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


def test_start_check_apply_idempotent(module, toyd):
    args, pidfile = toyd
    predicted = module(MODULE, args, check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["changes"] == ["start toyd"]
    assert predicted["diff"] == {"before": {"running": False}, "after": {"running": True}}
    assert not pidfile.exists(), "check mode started the daemon"

    applied = module(MODULE, args)
    assert applied["changed"] is True and applied["changes"] == predicted["changes"]
    pid = read_pid(pidfile)
    assert alive(pid) and applied["pid"] == pid

    assert module(MODULE, args, check=True)["changed"] is False
    again = module(MODULE, args)
    assert again["changed"] is False and again["changes"] == []
    assert read_pid(pidfile) == pid, "a running daemon was started twice"


def test_daemon_outlives_the_ansible_run(module, toyd):
    args, pidfile = toyd
    module(MODULE, args)
    time.sleep(0.5)
    assert alive(read_pid(pidfile))


def test_restart_and_stop(module, toyd):
    args, pidfile = toyd
    module(MODULE, args)
    first = read_pid(pidfile)

    predicted = module(MODULE, dict(args, state="restarted"), check=True)
    assert predicted["changed"] is True and predicted["changes"] == ["stop toyd", "start toyd"]
    assert read_pid(pidfile) == first and alive(first)

    restarted = module(MODULE, dict(args, state="restarted"))
    second = read_pid(pidfile)
    assert restarted["changes"] == ["stop toyd", "start toyd"] and second != first
    # Not idempotent by design (the module's documentation says so): every run restarts.
    assert module(MODULE, dict(args, state="restarted"))["changed"] is True and read_pid(pidfile) != second
    second = read_pid(pidfile)
    assert alive(second) and not alive(first)

    stopped = module(MODULE, dict(args, state="stopped"))
    assert stopped["changed"] is True and stopped["running"] is False
    assert not alive(second)
    assert module(MODULE, dict(args, state="stopped"))["changed"] is False


def test_recycled_pid_is_not_taken_for_the_daemon(module, toyd):
    args, pidfile = toyd
    # A pid file left behind names a live process of another program.
    other = subprocess.Popen(["sleep", "60"])
    try:
        pidfile.write_text(str(other.pid))
        result = module(MODULE, args)
        assert result["changed"] is True and result["changes"][-1:] == ["start toyd"]
        assert "stale pid file" in result["changes"][0]
        assert read_pid(pidfile) != other.pid
    finally:
        other.kill()
        other.wait()


# A daemon that, like dockerd, refuses to start while its pid file names any live process.
STRICT_DAEMON = """\
import os, signal, sys, time
try:
    os.kill(int(open(sys.argv[1]).read()), 0)
    sys.exit("pid file found, ensure toyd is not running or delete " + sys.argv[1])
except (OSError, ValueError):
    pass
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
time.sleep(600)
"""


def test_a_stale_pid_file_the_daemon_refuses_is_removed_first(module, toyd):
    args, pidfile = toyd
    strict = pidfile.parent / "strictd.py"
    strict.write_text(STRICT_DAEMON)
    # Two children's pid files: one names a live process of its program (kept), one a process of another (stale).
    child, kept = pidfile.parent / "child.pid", pidfile.parent / "kept.pid"
    args = dict(args, argv=[sys.executable, str(strict), str(pidfile)],
                child_pidfiles=[{"path": str(child), "executable": "toyd-child"}, {"path": str(kept), "executable": "sleep"}])
    # The pid file of a run before a crash (or a host restart that kept /run) names a live process of another program.
    other = subprocess.Popen(["sleep", "60"])
    try:
        for path in (pidfile, child, kept):
            path.write_text(str(other.pid))
        expected = ["remove the stale pid file %s of toyd (it names pid %d, not %s)" % (pidfile, other.pid, sys.executable),
                    "remove the stale pid file %s of toyd (it names pid %d, not toyd-child)" % (child, other.pid),
                    "start toyd"]
        predicted = module(MODULE, args, check=True)
        assert predicted["changes"] == expected and predicted["changed"] is True
        assert read_pid(pidfile) == other.pid, "check mode changed the pid file"
        result = module(MODULE, args)
        assert result["changes"] == expected and result["running"] is True
        assert alive(read_pid(pidfile)) and read_pid(pidfile) != other.pid and alive(other.pid)
        assert not child.exists() and read_pid(kept) == other.pid
        assert module(MODULE, args)["changed"] is False
    finally:
        other.kill()
        other.wait()


def test_status_command_form(module, tmp_path):
    flag = tmp_path / "up"
    args = {
        "name": "selfdaemonizing",
        "argv": ["touch", str(flag)],
        "detach": False,
        "status_argv": ["test", "-e", str(flag)],
        "stop_argv": ["rm", "-f", str(flag)],
    }
    assert module(MODULE, args)["changed"] is True and flag.exists()
    assert module(MODULE, args)["changed"] is False
    assert module(MODULE, dict(args, state="stopped"))["changed"] is True and not flag.exists()


def test_missing_program_fails_clearly(module, tmp_path):
    result = module(MODULE, {"name": "ghostd", "argv": [str(tmp_path / "no-such-daemon")], "pidfile": str(tmp_path / "g.pid")})
    assert result["failed"] is True
    assert result["msg"] == "ghostd: start failed: cannot run %s: no such executable; install it or fix argv" % (tmp_path / "no-such-daemon")
    assert "Traceback" not in result.get("module_stderr", "")


def test_daemon_that_exits_fails_clearly(module, tmp_path):
    args = {"name": "flakyd", "argv": ["true"], "pidfile": str(tmp_path / "f.pid"), "timeout": 2,
            "log_file": str(tmp_path / "f.log")}
    result = module(MODULE, args)
    assert result["failed"] is True
    assert "flakyd: start failed: the daemon did not stay running after 2s (see %s)" % args["log_file"] == result["msg"]


def test_never_ready_fails_clearly(module, toyd):
    args, dummy_pidfile = toyd
    result = module(MODULE, dict(args, ready_argv=["false"], timeout=2))
    assert result["failed"] is True
    assert "toyd: start failed: the daemon is not ready after 2s" in result["msg"]


def test_bad_arguments_fail_before_anything_runs(module, tmp_path):
    result = module(MODULE, {"name": "x", "argv": ["true"]})
    assert result["failed"] is True and "pidfile" in result["msg"] and "status_argv" in result["msg"]
    result = module(MODULE, {"name": "x", "argv": ["true"], "pidfile": str(tmp_path / "p"), "state": "bogus"})
    assert result["failed"] is True and "state" in result["msg"]


def test_a_status_command_not_installed_yet(module, tmp_path):
    """Check mode on a host where the daemon's package is not installed yet (ovs-ctl, ovn-ctl): the daemon does not
    run, the start is predicted and said to wait for the package; the real run then fails clearly, naming the start
    command, and stopping a daemon that is not there is no change."""
    missing = str(tmp_path / "no-such-ctl")
    args = {"name": "ghost", "argv": [missing, "start"], "detach": False, "status_argv": [missing, "status"],
            "stop_argv": [missing, "stop"]}
    predicted = module(MODULE, args, check=True)
    assert predicted.get("failed") is not True, predicted
    assert predicted["changed"] is True and predicted["changes"] == ["start ghost"]
    assert predicted["pending"] == ["%s is not installed yet, so ghost does not run; the real run starts it once its package"
                                    " is there" % missing]
    real = module(MODULE, args)
    assert real["failed"] is True and real["msg"] == "ghost: start failed: cannot run %s: no such executable; install it" \
        " or fix argv" % missing
    assert module(MODULE, dict(args, state="stopped"))["changed"] is False


def test_a_restart_whose_readiness_check_is_not_installed_changes_nothing(module, toyd, tmp_path):
    """ready_argv names a command the host lacks (dockerd's `docker info` on Debian 13, whose docker.io only recommends
    docker-cli): the real run fails before it stops the daemon, which keeps running; check mode predicts the restart and
    says what the real run needs."""
    args, pidfile = toyd
    assert module(MODULE, args)["changed"] is True
    pid = read_pid(pidfile)
    missing = str(tmp_path / "no-such-cli")
    restart = dict(args, state="restarted", ready_argv=[missing, "info"])
    predicted = module(MODULE, restart, check=True)
    assert predicted.get("failed") is not True, predicted
    assert predicted["changes"] == ["stop toyd", "start toyd"]
    assert predicted["pending"] == ["%s (ready_argv) is not installed yet; the real run needs it to start toyd" % missing]
    real = module(MODULE, restart)
    assert real["failed"] is True
    assert real["msg"] == "toyd: start failed: cannot run %s: no such executable; install it or fix ready_argv. Nothing was" \
        " changed" % missing
    assert read_pid(pidfile) == pid and alive(pid), "the daemon was stopped although it could not be checked after a start"
