#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: daemon_process
short_description: Keep a daemon running on a host without a service manager
version_added: 0.1.0
description:
  - Starts, restarts or stops a long-running daemon directly, for hosts (containers, Docker-in-Docker
    test hosts, minimal VMs) where no service manager such as systemd runs.
  - Whether the daemon runs is read first (a status command, or the process named in a pid file);
    the module then acts only when the state differs, so a running daemon is never started twice.
  - On hosts with systemd use M(ansible.builtin.service) instead; the C(host) role chooses for you.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ACTIONGROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: partial
    details: V(started) and V(stopped) are idempotent; V(restarted) restarts the daemon on every run, by design.
options:
  name:
    description:
      - A name for the daemon, used in messages and in the returned data.
    type: str
    required: true
  argv:
    description:
      - The command that starts the daemon, as a list of arguments (no shell is involved).
      - With O(detach=true) the module runs it in a new session, in the background, with its output
        sent to O(log_file). With O(detach=false) the command is expected to daemonize itself and exit
        (for example C(ovs-ctl start)).
    type: list
    elements: str
    required: true
  detach:
    description:
      - Run O(argv) in the background (for daemons that stay in the foreground, such as C(dockerd)).
    type: bool
    default: true
  pidfile:
    description:
      - The pid file the daemon writes. A process is considered running when this file names a live
        process whose executable is the first element of O(argv).
      - Required unless O(status_argv) is given.
      - A pid file left behind that names no process of that executable (the daemon crashed, or the host restarted
        but kept C(/run), and the pid went to another program) is removed before a start, because daemons such as
        C(dockerd) refuse to start while it names a live process. The removal is reported in RV(changes).
    type: path
  child_pidfiles:
    description:
      - Pid files of processes the daemon starts itself and looks for when it starts (for example the C(containerd)
        that C(dockerd) runs). Before a start, one that names no process of its O(child_pidfiles[].executable) is
        removed as stale, as for O(pidfile); one that names a live process of it is kept.
    type: list
    elements: dict
    suboptions:
      path:
        description: The pid file.
        type: path
        required: true
      executable:
        description: The program the pid file should name (its name on PATH, or its full path).
        type: str
        required: true
  status_argv:
    description:
      - A command whose exit status 0 means the daemon runs (for example C(ovs-ctl status)).
      - Takes precedence over O(pidfile) for reading the state.
    type: list
    elements: str
  stop_argv:
    description:
      - A command that stops the daemon. Without it the module sends SIGTERM to the process in
        O(pidfile) and waits for it to exit.
    type: list
    elements: str
  ready_argv:
    description:
      - A command retried after a start until it exits 0 (for example C(docker info)), so that the
        task returns only once the daemon serves requests.
    type: list
    elements: str
  log_file:
    description:
      - Where the output of a detached daemon goes (appended).
    type: path
  timeout:
    description:
      - Seconds to wait for the daemon to become ready after a start, or to exit after a stop.
    type: int
    default: 60
  state:
    description:
      - V(started) starts the daemon when it does not run; V(restarted) always restarts it (stops it
        first when it runs); V(stopped) stops it when it runs.
    type: str
    choices: [started, restarted, stopped]
    default: started
notes:
  - The daemon is started in its own session, so it survives the end of the Ansible connection.
seealso:
  - module: ansible.builtin.service
"""

EXAMPLES = r"""
- name: Keep dockerd running on a host without systemd
  encompass.netlab.daemon_process:
    name: dockerd
    argv: [/usr/sbin/dockerd, -p, /var/run/docker.pid]
    pidfile: /var/run/docker.pid
    child_pidfiles:
      - path: /var/run/docker/containerd/containerd.pid
        executable: containerd
    log_file: /var/log/dockerd.log
    ready_argv: [docker, info]

- name: Keep Open vSwitch running (ovs-ctl daemonizes both of its daemons itself)
  encompass.netlab.daemon_process:
    name: openvswitch
    argv: [/usr/share/openvswitch/scripts/ovs-ctl, start, --system-id=random]
    detach: false
    status_argv: [/usr/share/openvswitch/scripts/ovs-ctl, status]
    stop_argv: [/usr/share/openvswitch/scripts/ovs-ctl, stop]

- name: Restart dockerd once after its configuration changed
  encompass.netlab.daemon_process:
    name: dockerd
    argv: [/usr/sbin/dockerd, -p, /var/run/docker.pid]
    pidfile: /var/run/docker.pid
    ready_argv: [docker, info]
    state: restarted
"""

RETURN = r"""
name:
  description: The daemon's name, as given.
  returned: always
  type: str
  sample: dockerd
running:
  description: Whether the daemon runs after the task (in check mode, whether it would).
  returned: always
  type: bool
  sample: true
pid:
  description: The daemon's process id read from O(pidfile) after the task, when a pid file is used.
  returned: when O(pidfile) is set and the daemon runs
  type: int
  sample: 4242
changes:
  description: What was done, or in check mode what would be done, in order.
  returned: always
  type: list
  elements: str
  sample: [stop dockerd, start dockerd]
"""

import os
import shutil
import signal
import sys
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._daemon import pid_alive, plan, read_pid
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, NetlabError

# Forks, starts a new session and execs the daemon, then exits at once: the daemon outlives the Ansible
# connection and holds none of run_command's pipes.
DETACH = """\
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
if os.fork():
    os._exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.dup2(log, 1)
os.dup2(log, 2)
os.execvp(sys.argv[2], sys.argv[2:])
"""


class Daemon(Target):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params["name"]
        if not self.params["argv"]:
            raise InputError("%s: argv is empty; give the command that starts the daemon" % self.name)
        if self.params["timeout"] < 1:
            raise InputError("%s: timeout must be at least 1 second" % self.name)

    def is_running(self):
        if self.params["status_argv"]:
            status = self.params["status_argv"][0]
            if not shutil.which(status):
                # Not installed (yet: in check mode on a fresh host the package is only going to be installed), so the
                # daemon cannot be running; starting it fails on its own if it is still missing then.
                if self.module.check_mode:
                    self.notes = ["%s is not installed yet, so %s does not run; the real run starts it once its package"
                                  " is there" % (status, self.name)]
                return False
            return self.module.run_command(self.params["status_argv"])[0] == 0
        return pid_alive(read_pid(self.params["pidfile"]), self.params["argv"][0])

    def current_pid(self):
        pid = read_pid(self.params["pidfile"]) if self.params["pidfile"] else None
        return pid if pid_alive(pid, self.params["argv"][0]) else None

    def pidfiles(self):
        """The pid files read at a start, each with the program it should name: the daemon's own, then its children's."""
        own = [(self.params["pidfile"], self.params["argv"][0])] if self.params["pidfile"] else []
        return own + [(item["path"], item["executable"]) for item in self.params["child_pidfiles"] or []]

    def stale_pids(self):
        """The pid files left behind (after a crash, or a host restart that kept /run) that name no process of their
        program, as path -> the pid they name (0: none readable) and that program. dockerd refuses to start while its pid file names any
        live process, and waits for a containerd that is not there while containerd's does."""
        stale = {}
        for path, executable in self.pidfiles():
            if os.path.exists(path):
                pid = read_pid(path)
                if not pid_alive(pid, executable):
                    stale[path] = {"pid": pid or 0, "executable": executable}
        return stale

    def read(self):
        return dict(running=self.is_running(), stale_pids=self.stale_pids())

    def view(self, state):
        return {key: value for key, value in state.items() if key != "stale_pids" or value}

    def missing_programs(self, actions):
        """The commands the planned actions run that are not on this host, as (parameter, program)."""
        needed = []
        if "start" in actions:
            needed += [("argv", self.params["argv"])] + [("ready_argv", self.params["ready_argv"])]
        if "stop" in actions:
            needed += [("stop_argv", self.params["stop_argv"])]
        return [(param, argv[0]) for param, argv in needed if argv and not shutil.which(argv[0])]

    def plan(self, before):
        actions = plan(self.params["state"], before["running"])
        # Before anything is stopped: a restart whose start or readiness check cannot run would leave the daemon down.
        missing = self.missing_programs(actions)
        if missing and not self.module.check_mode:
            param, program = missing[0]
            action = "stop" if param == "stop_argv" else "start"
            raise self.fail(action, "cannot run %s: no such executable; install it or fix %s%s" % (
                program, param, "" if actions == [action] else ". Nothing was changed"))
        if missing and not getattr(self, "notes", None):
            self.notes = ["%s (%s) is not installed yet; the real run needs it to %s %s" % (
                program, param, "stop" if param == "stop_argv" else "start", self.name) for param, program in missing]
        steps = [Step(action, self.name, {}) for action in actions]
        if "start" in actions and not before["running"]:
            steps[:0] = [Step("remove-pidfile", self.name, dict(found, path=path)) for path, found in before["stale_pids"].items()]
        return steps

    def predict(self, before, steps):
        running = steps[-1].kind == "start" if steps else before["running"]
        return dict(running=running, stale_pids={} if running else before["stale_pids"])

    def apply(self, steps):
        for step in steps:
            _converge.dispatch(self, step)

    def fail(self, step, detail):
        return NetlabError("%s: %s failed: %s" % (self.name, step, detail))

    def do_start(self, step):
        argv = self.params["argv"]
        if self.params["detach"]:
            argv = [sys.executable, "-c", DETACH, self.params["log_file"] or os.devnull] + argv
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            raise self.fail("start", "%s exited %d: %s" % (self.params["argv"][0], rc, (err or out).strip()))
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            running = self.is_running()
            ready = running and (not self.params["ready_argv"] or self.module.run_command(self.params["ready_argv"])[0] == 0)
            if ready:
                return
            if time.monotonic() > deadline:
                where = " (see %s)" % self.params["log_file"] if self.params["log_file"] else ""
                state = "is not ready" if running else "did not stay running"
                raise self.fail("start", "the daemon %s after %ds%s" % (state, self.params["timeout"], where))
            time.sleep(0.25)

    def do_remove_pidfile(self, step):
        try:
            os.unlink(step.detail["path"])
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self.fail("start", "cannot remove the stale pid file %s (%s); remove it by hand" % (step.detail["path"], exc))

    def do_stop(self, step):
        if self.params["stop_argv"]:
            rc, out, err = self.module.run_command(self.params["stop_argv"])
            if rc != 0:
                raise self.fail("stop", "%s exited %d: %s" % (self.params["stop_argv"][0], rc, (err or out).strip()))
        elif self.current_pid() is not None:
            try:
                os.kill(self.current_pid(), signal.SIGTERM)
            except (ProcessLookupError, TypeError):
                pass
        deadline = time.monotonic() + self.params["timeout"]
        while self.is_running():
            if time.monotonic() > deadline:
                raise self.fail("stop", "the daemon still runs after %ds" % self.params["timeout"])
            time.sleep(0.25)

    def describe(self, step):
        if step.kind == "remove-pidfile":
            return "remove the stale pid file %s of %s (it names %s, not %s)" % (
                step.detail["path"], step.name, "pid %d" % step.detail["pid"] if step.detail["pid"] else "no valid pid",
                step.detail["executable"])
        return "%s %s" % (step.kind, step.name)

    def result(self, after):
        result = dict(name=self.name, running=after["running"])
        pid = None if self.module.check_mode else self.current_pid()
        if pid is not None:
            result["pid"] = pid
        return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            argv=dict(type="list", elements="str", required=True),
            detach=dict(type="bool", default=True),
            pidfile=dict(type="path"),
            child_pidfiles=dict(type="list", elements="dict", options=dict(
                path=dict(type="path", required=True),
                executable=dict(type="str", required=True),
            )),
            status_argv=dict(type="list", elements="str"),
            stop_argv=dict(type="list", elements="str"),
            ready_argv=dict(type="list", elements="str"),
            log_file=dict(type="path"),
            timeout=dict(type="int", default=60),
            state=dict(type="str", default="started", choices=["started", "restarted", "stopped"]),
        ),
        required_one_of=[("pidfile", "status_argv")],
        supports_check_mode=True,
    )
    _converge.run(module, Daemon)


if __name__ == "__main__":
    main()
