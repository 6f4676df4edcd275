# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one module path: check mode stops before apply, `changes` always, `diff` only in diff mode,
every NetlabError becomes one fail_json."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target, dispatch, run
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError, NetlabError, OvsdbError


class Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind, self.result = kind, result


class FakeModule:
    """Only what run() touches: check_mode, _diff, exit_json and fail_json (both end the module)."""

    def __init__(self, check_mode=False, diff=False):
        self.check_mode, self._diff = check_mode, diff

    def exit_json(self, **result):
        raise Exit("exit", result)

    def fail_json(self, **result):
        raise Exit("fail", result)


class Counter(Target):
    """A number that should become `wanted`: one step per missing unit."""

    def __init__(self, module, value=1, wanted=3, fail_in=None):
        self.value, self.wanted, self.fail_in, self.applied, self.closed = value, wanted, fail_in, [], False

    def read(self):
        if self.fail_in == "read":
            raise OvsdbError("database at x: not reachable; start it")
        return dict(value=self.value)

    def plan(self, before):
        return [Step("add", "counter", {"n": n}) for n in range(before["value"], self.wanted)]

    def predict(self, before, steps):
        return dict(value=before["value"] + len(steps))

    def apply(self, steps):
        for step in steps:
            dispatch(self, step)

    def do_add(self, step):
        if self.fail_in == "apply":
            raise NetlabError("counter: cannot add %d; what this run made was removed" % step.detail["n"])
        self.applied.append(step.detail["n"])
        self.value += 1

    def settle(self, predicted):
        return dict(value=self.value)

    def describe(self, step):
        return "add %d" % step.detail["n"]

    def result(self, after):
        return dict(value=after["value"])

    def close(self):
        self.closed = True


def converge(module, **kwargs):
    made = []

    def factory(mod):
        made.append(Counter(mod, **kwargs))
        return made[0]

    with pytest.raises(Exit) as caught:
        run(module, factory)
    return caught.value, made[0] if made else None


def test_check_mode_predicts_and_applies_nothing():
    out, target = converge(FakeModule(check_mode=True, diff=True))
    assert out.kind == "exit" and target.applied == [] and target.closed
    assert out.result == dict(changed=True, changes=["add 1", "add 2"], value=3, diff=dict(before=dict(value=1), after=dict(value=3)))


def test_real_run_applies_and_reports_the_same():
    predicted, dummy = converge(FakeModule(check_mode=True, diff=True))
    applied, target = converge(FakeModule(diff=True))
    assert target.applied == [1, 2] and applied.result == predicted.result


def test_converged_reports_no_change_and_diff_only_in_diff_mode():
    out, target = converge(FakeModule(), value=3)
    assert out.result == dict(changed=False, changes=[], value=3) and "diff" not in out.result and target.applied == []


def test_errors_become_one_fail_json_with_the_planned_changes():
    out, target = converge(FakeModule(), fail_in="apply")
    assert out.kind == "fail" and out.result["msg"].startswith("counter: cannot add 1")
    assert out.result["changes"] == ["add 1", "add 2"] and target.closed
    out, dummy = converge(FakeModule(), fail_in="read")
    assert out.kind == "fail" and "not reachable" in out.result["msg"] and out.result["changes"] == []


def test_input_errors_while_making_the_target_fail_the_same_way():
    def factory(module):
        raise InputError("bridge br0: mtu 20 is out of range (68 to 65535)")

    with pytest.raises(Exit) as caught:
        run(FakeModule(), factory)
    assert caught.value.kind == "fail" and caught.value.result == dict(msg="bridge br0: mtu 20 is out of range (68 to 65535)", changes=[])


def test_every_error_shares_one_base():
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.encompass.netlab.plugins.module_utils import _errors, _link_env, _ovs_tunnel, _veth, _vxlan
    for cls in (_link_env.LinkError, _ovs_tunnel.TunnelError, _veth.AttachError, _vxlan.VxlanError, _errors.NetlinkFailure,
                _errors.OvsdbError, _errors.DockerFailure, _errors.StepFailure):
        assert issubclass(cls, NetlabError)


def test_a_defect_becomes_one_message_not_a_traceback():
    def factory(module):
        raise KeyError("port")

    module = FakeModule()
    module._name = "encompass.netlab.ovn_switch"  # pylint: disable=protected-access
    with pytest.raises(Exit) as caught:
        run(module, factory)
    result = caught.value.result
    assert caught.value.kind == "fail" and result["msg"].startswith("encompass.netlab.ovn_switch: unexpected KeyError")
    assert "please report" in result["msg"] and "Traceback" in result["exception"] and "Traceback" not in result["msg"]


# The host lock, on a real file in a directory of the test's own, held by a real second process.
HOLDER = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(handle, fcntl.LOCK_EX)
os.pwrite(handle, b"%d encompass.netlab.veth_attach\\n" % os.getpid(), 0)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture(name="lockdir")
def fixture_lockdir(tmp_path, monkeypatch):
    path = tmp_path / "lockdir"
    monkeypatch.setattr(_converge, "LOCK_DIR", str(path))
    return path


def hold(path, seconds):
    path.parent.mkdir(mode=0o700, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


class Warned(FakeModule):
    def __init__(self):
        super().__init__()
        self.warnings, self._name = [], "encompass.netlab.ovn_switch"

    def warn(self, text):
        self.warnings.append(text)


def test_the_lock_directory_is_made_for_root_only_and_the_holder_is_written(lockdir):
    module = Warned()
    with _converge.host_lock(module):
        assert stat.S_IMODE(os.lstat(lockdir).st_mode) == 0o700
        assert (lockdir / "host.lock").read_text() == "%d encompass.netlab.ovn_switch\n" % os.getpid()
    assert stat.S_IMODE(os.lstat(lockdir / "host.lock").st_mode) == 0o600 and module.warnings == []


def test_a_run_that_waited_says_which_process_held_the_lock(lockdir):
    proc = hold(lockdir / "host.lock", 1)
    module = Warned()
    with _converge.host_lock(module):
        assert proc.poll() is not None, "the lock was taken while the other process held it"
    assert len(module.warnings) == 1 and "held by pid %d (encompass.netlab.veth_attach)" % proc.pid in module.warnings[0]
    proc.wait()


def test_a_run_that_waits_too_long_names_the_holder(lockdir, monkeypatch):
    monkeypatch.setattr(_converge, "LOCK_SECONDS", 0.5)
    proc = hold(lockdir / "host.lock", 30)
    try:
        with pytest.raises(NetlabError, match=r"held the host lock .*host.lock for 0 s: pid %d \(encompass.netlab.veth_attach\)" % proc.pid):
            with _converge.host_lock(Warned()):
                pass
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("spoil, what", [
    (lambda d: d.chmod(0o777), "writable by others (mode 0777)"),
    (lambda d: (d.rmdir(), d.symlink_to(d.parent)), "a link"),
    (lambda d: (d.rmdir(), d.write_text("")), "not a directory"),
])
def test_a_lock_directory_others_could_write_is_refused(lockdir, spoil, what):
    lockdir.mkdir(mode=0o700)
    spoil(lockdir)
    with pytest.raises(NetlabError, match=re.escape("the host lock's directory %s is %s" % (lockdir, what))):
        with _converge.host_lock(Warned()):
            pass


def test_a_link_in_place_of_the_lock_file_is_not_followed(lockdir, tmp_path):
    lockdir.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    (lockdir / "host.lock").symlink_to(target)
    with pytest.raises(NetlabError, match="cannot open the host lock .*host.lock: Too many levels of symbolic links; remove it"):
        with _converge.host_lock(Warned()):
            pass
    assert not target.exists()
