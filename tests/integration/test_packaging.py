# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as users get it: build the tarball, install it, read every plugin's documentation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
TESTS = sorted(p.stem for p in (ROOT / "plugins" / "test").glob("*.yml"))
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.fixture(scope="module", name="installed")
def fixture_installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("packaging")
    subprocess.run([BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp, ROOT], check=True, capture_output=True)
    tarball = tmp / "encompass-netlab-0.1.0.tar.gz"
    assert tarball.exists()
    dest = tmp / "collections"
    proc = subprocess.run([BIN / "ansible-galaxy", "collection", "install", "--offline", "--force", "-p", dest, tarball],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tarball, dest


def doc(installed, *argv):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed[1]), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    return subprocess.run([BIN / "ansible-doc", *argv], capture_output=True, text=True, check=False, env=env, cwd=installed[1])


def test_tarball_holds_the_collection_and_nothing_local(installed):
    with tarfile.open(installed[0]) as tar:
        names = set(tar.getnames())
    for required in ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "README.md", "LICENSE", "roles/host/meta/argument_specs.yml"):
        assert required in names, required
    local = {".venv", ".venv-sanity", ".collections", ".ansible", ".ci", ".cache", ".pytest_cache", "bench", "build"}
    leaked = [n for n in names if n.split("/")[0] in local or n.startswith("tests/output") or "__pycache__" in n]
    assert not leaked, leaked


def test_there_is_something_to_document():
    assert MODULES and TESTS and ROLES


@pytest.mark.parametrize("name", MODULES)
def test_module_docs_from_the_installed_tarball(installed, name):
    proc = doc(installed, "encompass.netlab.%s" % name)
    assert proc.returncode == 0, proc.stderr
    assert str(installed[1]) in proc.stdout, "documentation was not read from the installed copy"
    assert "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout


@pytest.mark.parametrize("name", TESTS)
def test_test_plugin_docs(installed, name):
    proc = doc(installed, "-t", "test", "encompass.netlab.%s" % name)
    assert proc.returncode == 0 and name in proc.stdout, proc.stderr


@pytest.mark.parametrize("name", ROLES)
def test_role_argument_specs(installed, name):
    proc = doc(installed, "-t", "role", "encompass.netlab.%s" % name)
    assert proc.returncode == 0 and re.search(r"ENTRY POINT: \*?main\b", proc.stdout), proc.stderr + proc.stdout
