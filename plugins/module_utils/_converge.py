# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one path every module of the collection takes: read the object, plan the steps that make it
match, stop there in check mode, apply them, and report `changes` (always) and `diff` (in diff mode)
the same way; a NetlabError anywhere becomes fail_json here and nowhere else."""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import stat
import sys
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.encompass.netlab.plugins.module_utils._errors import NetlabError

# One change: what kind of step, on which object, with which values.
Step = collections.namedtuple("Step", "kind name detail")


class Target:
    """What a module converges. Subclasses read the real state, plan steps from it, predict the state
    the steps lead to (check mode and diff use the prediction), and apply them."""

    def read(self):
        """The current state (None when the object does not exist)."""
        return None

    def plan(self, before):
        """The steps that take before to the wanted state; raise InputError for input that cannot be applied."""
        del before
        return []

    def predict(self, before, steps):
        """The state the steps lead to, computed from before."""
        del steps
        return before

    def apply(self, steps):
        """Make the steps real; on failure remove what this run made and raise a NetlabError."""
        del steps

    def settle(self, predicted):
        """The state after apply (read back where that is cheap, else the prediction)."""
        return predicted

    def describe(self, step):
        """One step as a line of the `changes` result."""
        return "%s %s" % (step.kind, step.name)

    def view(self, state):
        """The public form of a state, as the diff shows it."""
        return state

    def diff(self, before, after):
        """The diff result: the views of before and after."""
        return dict(before=self.view(before), after=self.view(after))

    def result(self, after):
        """Module-specific result keys for the state after the run."""
        del after
        return {}

    def finish(self):
        """After every real run (changed or not; never in check mode): what is no change of state but must be
        done each time, such as announcing an address. Returns result keys."""
        return {}

    def pending(self):
        """What only a real run can tell (an address Docker will assign, a bridge a daemon will make), as lines of
        text; check mode reports them instead of failing (see pending_in_check_mode)."""
        return list(getattr(self, "notes", []))

    def close(self):
        """Release connections."""


def dispatch(owner, step, *args, prefix="do_"):
    """Apply one step by the owner's method <prefix><kind> (dashes become underscores), called with
    args and the step: every module applies its steps this one way."""
    return getattr(owner, prefix + step.kind.replace("-", "_"))(*args, step)


def pending_in_check_mode(module, target, note, connect):
    """connect() and return its value; in check mode a NetlabError (a daemon that is not running yet, an object
    an earlier task of the same run would make) becomes a note in the result's `pending` and None, so that check
    mode on a fresh host completes and says what it cannot know yet. Outside check mode the error stands."""
    try:
        return connect()
    except NetlabError as exc:
        if not module.check_mode:
            raise
        target.notes = getattr(target, "notes", []) + ["%s (%s)" % (note, exc)]
        return None


def require(module, available, library, import_error, changes=True):
    """Fail with the standard missing-library message when a Python library is not importable. In check mode on a
    fresh host the library may only be going to be installed (the host role's apt task is simulated there): the
    module then says so as `pending` and predicts a change (changes=False for modules that never change anything)."""
    if available:
        return
    if module.check_mode:
        module.exit_json(changed=changes, changes=[], pending=[
            "the Python library %s is not installed yet for %s; the real run installs it first (role encompass.netlab.host,"
            " host_install_python_packages), then this task can read the host" % (library, sys.executable)])
    reason = "by the modules of encompass.netlab; the role encompass.netlab.host installs it (host_install_python_packages)"
    module.fail_json(msg=missing_required_lib(library, reason=reason), exception=import_error)


# The host lock lives in a directory only root (the user the modules run as) can write: in a world-writable one
# such as /run/lock any local user could hold it, or put a link there, and make every run wait or fail.
LOCK_DIR = "/run/encompass-netlab"
LOCK_NAME = "host.lock"
LOCK_SECONDS = 300


def lock_directory(path):
    """Make the lock's directory (0700) or check the one that is there: a directory of this user, not a link,
    that nobody else can write."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise NetlabError("cannot make the host lock's directory %s: %s; the modules of encompass.netlab run as root"
                          " (become: true)" % (path, exc.strerror)) from None
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        what = ("a link" if stat.S_ISLNK(info.st_mode) else "not a directory" if not stat.S_ISDIR(info.st_mode)
                else "owned by uid %d" % info.st_uid if info.st_uid != os.geteuid() else "writable by others (mode %04o)"
                % stat.S_IMODE(info.st_mode))
        raise NetlabError("the host lock's directory %s is %s, so another user could take or block the lock; remove it"
                          " (the next run makes it again, mode 0700)" % (path, what))


def lock_holder(handle):
    """Who holds the lock open on handle: the pid from /proc/locks and what that process wrote when it took it."""
    info = os.fstat(handle)
    where = "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino)
    pid = None
    try:
        with open("/proc/locks", encoding="ascii") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == where:
                    pid = fields[4]
    except OSError:
        pass
    written = os.pread(handle, 200, 0).decode("ascii", "replace").strip()
    if pid is None:
        return "a process (%s)" % (written or "unknown")
    what = written.split(" ", 1)[1] if written.split(" ", 1)[0] == pid and " " in written else "not of this collection"
    return "pid %s (%s)" % (pid, what)


@contextlib.contextmanager
def host_lock(module):
    """One change at a time on a host: two runs of a play against one host at once (or two tasks of one run)
    read, plan and apply one after the other, so neither plans from a state the other is changing. Check mode
    changes nothing and takes no lock (and writes no lock file). A run that had to wait says who it waited for."""
    if module.check_mode:
        yield
        return
    lock_directory(LOCK_DIR)
    path = os.path.join(LOCK_DIR, LOCK_NAME)
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise NetlabError("cannot open the host lock %s: %s; remove it (the next run makes it again)" % (path, exc.strerror)) from None
    try:
        started = time.monotonic()
        holder = None
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = lock_holder(handle)
                if time.monotonic() - started > LOCK_SECONDS:
                    raise NetlabError("another run has held the host lock %s for %d s: %s; wait for it to end, or stop"
                                      " that process" % (path, LOCK_SECONDS, holder)) from None
                time.sleep(0.2)
        if holder is not None and hasattr(module, "warn"):
            module.warn("waited %.1f s for the host lock %s, held by %s" % (time.monotonic() - started, path, holder))
        os.ftruncate(handle, 0)
        os.pwrite(handle, ("%d %s\n" % (os.getpid(), getattr(module, "_name", "a module"))).encode("ascii", "replace"), 0)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def run(module, make_target):
    """Converge one target made by make_target(module) and exit the module."""
    target = None
    steps = []
    try:
        with host_lock(module):
            target = make_target(module)
            before = target.read()
            steps = target.plan(before)
            after = target.predict(before, steps)
            if steps and not module.check_mode:
                target.apply(steps)
                after = target.settle(after)
            extra = {} if module.check_mode else target.finish()
        pending = target.pending()
    except NetlabError as exc:
        changes = [target.describe(step) for step in steps] if target is not None else []
        if target is not None:
            target.close()
        module.fail_json(msg=str(exc), changes=changes)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # A defect of this collection, not of the input: one message, the trace for -vvv.
        module.fail_json(msg="%s: unexpected %s: %s (a defect of encompass.netlab; please report it with the output of -vvv)"
                         % (module._name, type(exc).__name__, exc), exception=traceback.format_exc())  # pylint: disable=protected-access
    target.close()
    result = dict(changed=bool(steps), changes=[target.describe(step) for step in steps])
    result.update(target.result(after))
    result.update(extra)
    if pending:
        result["pending"] = pending
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = target.diff(before, after)
    module.exit_json(**result)
