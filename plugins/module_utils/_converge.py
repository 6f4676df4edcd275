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


LOCK_PATH = "/run/lock/encompass-netlab.lock"
LOCK_SECONDS = 300


@contextlib.contextmanager
def host_lock(module):
    """One change at a time on a host: two runs of a play against one host at once (or two tasks of one run)
    read, plan and apply one after the other, so neither plans from a state the other is changing. Check mode
    changes nothing and takes no lock (and writes no lock file)."""
    if module.check_mode:
        yield
        return
    os.makedirs(os.path.dirname(LOCK_PATH), exist_ok=True)
    with open(LOCK_PATH, "a", encoding="ascii") as handle:
        deadline = time.monotonic() + LOCK_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise NetlabError("another run has held %s for %d s; wait for it to end, or remove the file if no run"
                                      " is left" % (LOCK_PATH, LOCK_SECONDS)) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
