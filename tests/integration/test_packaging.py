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
    """ansible-doc shows every entry point of the installed role's spec: main where the role has tasks/main.yml,
    the phases it has for a mode role (which has no main)."""
    import yaml  # pylint: disable=import-outside-toplevel
    role = installed[1] / "ansible_collections" / "encompass" / "netlab" / "roles" / name
    entry_points = list(yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))["argument_specs"])
    assert ("main" in entry_points) == (role / "tasks" / "main.yml").is_file(), entry_points
    proc = doc(installed, "-t", "role", "encompass.netlab.%s" % name)
    assert proc.returncode == 0, proc.stderr
    for entry_point in entry_points:
        assert re.search(r"ENTRY POINT: \*?%s\b" % entry_point, proc.stdout), entry_point + "\n" + proc.stdout


# Where YAML refers to another collection's content: a module or include key, a role, a filter or test, a connection.
# A role or connection is named in block style (a `name: es.node.hosts` inside a flow mapping is data: stack_services'
# JAVA_OPTS properties).
COLLECTION_REF = re.compile(
    r"^\s*-?\s*(?P<key>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*:"
    r"|^\s*-?\s*(?:name|role|ansible_connection|connection):\s*[\"']?(?P<named>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*"
    r"|(?:\|\s*|\bis\s+(?:not\s+)?|map\(['\"]|select\(['\"]|reject\(['\"])(?P<plugin>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*",
    re.MULTILINE,
)


def test_every_collection_the_content_uses_is_declared():
    """galaxy.yml declares every collection the roles, playbooks and scenarios use (community.general was
    used by two roles and declared nowhere)."""
    import yaml  # pylint: disable=import-outside-toplevel
    declared = set(yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))["dependencies"]) | {"ansible.builtin", "encompass.netlab"}
    used = {}
    for path in sorted(p for folder in ("roles", "playbooks", "molecule") for p in (ROOT / folder).rglob("*.yml")):
        for match in COLLECTION_REF.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group("key") or match.group("named") or match.group("plugin"), path.relative_to(ROOT))
    assert "community.docker" in used and "encompass.netlab" in used, used
    assert {c: str(p) for c, p in used.items() if c not in declared} == {}


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_its_own_attributes(installed, name):
    """Each module says how far it supports check mode, diff and idempotence; daemon_process's state=restarted
    changes on every run, so it is not fully idempotent."""
    import json  # pylint: disable=import-outside-toplevel
    proc = doc(installed, "--json", "encompass.netlab.%s" % name)
    attributes = json.loads(proc.stdout)["encompass.netlab.%s" % name]["doc"]["attributes"]
    # An info module changes nothing, so it has no diff to give; nor has the report, the run's output.
    assert {key: attributes[key]["support"] for key in ("check_mode", "diff_mode", "idempotent")} == {
        "check_mode": "full", "diff_mode": "N/A" if name.endswith("_info") or name == "topology_report" else "full",
        "idempotent": "partial" if name == "daemon_process" else "full"}
    if name == "daemon_process":
        assert "restarted" in attributes["idempotent"]["details"]
