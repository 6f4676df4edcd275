# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of daemon_process: whether a pid file names the daemon, and the actions a state needs."""

from __future__ import annotations

import os
import shutil


def read_pid(pidfile):
    """Return the pid named in pidfile, or None when there is none or it is unreadable."""
    try:
        with open(pidfile, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def pid_alive(pid, executable):
    """True when pid is a live process running executable (a recycled pid does not count)."""
    if pid is None:
        return False
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    # An upgraded package replaces the binary under a running daemon.
    exe = exe.removesuffix(" (deleted)")
    wanted = os.path.realpath(shutil.which(executable) or executable)
    return exe == wanted


def plan(state, running):
    """The actions that take a daemon from running (bool) to the requested state."""
    if state == "started":
        return [] if running else ["start"]
    if state == "stopped":
        return ["stop"] if running else []
    return ["stop", "start"] if running else ["start"]
