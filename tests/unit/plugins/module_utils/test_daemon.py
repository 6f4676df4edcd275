# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._daemon import pid_alive, plan, read_pid


@pytest.mark.parametrize(
    "state, running, actions",
    [
        ("started", False, ["start"]),
        ("started", True, []),
        ("stopped", True, ["stop"]),
        ("stopped", False, []),
        ("restarted", True, ["stop", "start"]),
        ("restarted", False, ["start"]),
    ],
)
def test_plan(state, running, actions):
    assert plan(state, running) == actions


def test_read_pid(tmp_path):
    pidfile = tmp_path / "d.pid"
    assert read_pid(str(pidfile)) is None
    pidfile.write_text("1234\n")
    assert read_pid(str(pidfile)) == 1234
    pidfile.write_text("not-a-pid")
    assert read_pid(str(pidfile)) is None
    pidfile.write_text("")
    assert read_pid(str(pidfile)) is None


def test_pid_alive_matches_the_program_not_just_the_pid():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert pid_alive(proc.pid, sys.executable)
        # A pid that another program now holds is not the daemon.
        assert not pid_alive(proc.pid, "/bin/sleep")
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid, sys.executable)


def test_pid_alive_none_and_own_process():
    assert not pid_alive(None, sys.executable)
    assert pid_alive(os.getpid(), sys.executable)
