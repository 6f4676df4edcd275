# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the project's test gates in order and close with one "N passed, N failed" line.

pytest gates count their own tests; sanity, lint and each Molecule scenario count as one test.
Every gate runs even after an earlier one failed, so one run shows everything that is wrong.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SANITY_BIN = ROOT / ".venv-sanity" / "bin"
OUTPUT = ROOT / "tests" / "output"


def run(argv, cwd=ROOT, env=None):
    print("+ " + " ".join(str(a) for a in argv), flush=True)
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, check=False).returncode


def pytest_gate(name, path, *extra):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    junit = OUTPUT / ("junit-%s.xml" % name)
    junit.unlink(missing_ok=True)
    rc = run([BIN / "python", "-m", "pytest", "-q", "-rfEs", "--durations=15", "--junitxml", junit, *extra, path])
    if not junit.exists():
        return 0, 1
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total = int(suite.get("tests", 0))
    bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    if rc not in (0, 1):  # pytest itself failed (collection error, no tests, interrupted)
        bad = max(bad, 1)
    return total - bad - skipped, bad


def collection_copy(tmp):
    """Lay the collection out as ansible_collections/encompass/netlab, as ansible-test requires."""
    dest = Path(tmp) / "ansible_collections" / "encompass" / "netlab"
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


# ansible-test bootstraps pip into each of its virtual environments with a script it downloads from
# a host this machine cannot reach. This stand-in does the same job from the interpreter's bundled
# pip (ensurepip) and PyPI, and is written to the cache path ansible-test looks at first.
GET_PIP_STANDIN = """\
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
"""


# The pip version ansible-test (ansible-core 2.19) bootstraps; see get_venv_packages() there.
ANSIBLE_TEST_PIP = "24.2"


def provide_pip_bootstrap():
    cache = Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % ANSIBLE_TEST_PIP.replace(".", "_"))
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(GET_PIP_STANDIN, encoding="utf-8")


def gate_sanity():
    provide_pip_bootstrap()
    with tempfile.TemporaryDirectory(prefix="netlab-sanity-") as tmp:
        dest = collection_copy(tmp)
        # ansible-test's own requirements live in .venv-sanity (requirements/sanity.txt): its
        # --venv mode downloads a pip bootstrap script from a host this machine cannot reach.
        rc = run([SANITY_BIN / "ansible-test", "sanity", "--local", "--python",
                  "%d.%d" % sys.version_info[:2], "--color", "no"], cwd=dest)
    return (1, 0) if rc == 0 else (0, 1)


def drop_installed_copies():
    """Molecule and ansible-lint install copies of the collection; a stale one would shadow the tree."""
    for path in (Path.home() / ".ansible" / "collections" / "ansible_collections" / "encompass" / "netlab",
                 ROOT / ".ansible" / "collections" / "ansible_collections" / "encompass" / "netlab"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)


def gate_lint():
    drop_installed_copies()
    rc = run([BIN / "ansible-lint", "--profile", "production", "--strict", "--nocolor"])
    drop_installed_copies()  # ansible-lint leaves its copy in ~/.ansible; the tests leave the machine as they found it
    return (1, 0) if rc == 0 else (0, 1)


def gate_unit():
    return pytest_gate("unit", "tests/unit")


IMAGES = {}


def start_images():
    """Start building the base and host images in the background (mostly downloads and unpacking), so the build
    overlaps the CPU-bound gates that come before the ones that need the images."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = OUTPUT / "lab_images.log"
    print("+ ansible-playbook lab_images.yml (in the background; log: %s)" % log.relative_to(ROOT), flush=True)
    with open(log, "w", encoding="utf-8") as handle:
        IMAGES["proc"] = subprocess.Popen([str(BIN / "ansible-playbook"), "lab_images.yml"], cwd=ROOT / "playbooks",
                                          stdout=handle, stderr=subprocess.STDOUT)
    IMAGES["log"], IMAGES["start"] = log, time.monotonic()


def build_images():
    """The base and host images the integration tests and scenarios run on; a no-op when current."""
    if "proc" not in IMAGES:
        start_images()
    if "rc" not in IMAGES:
        IMAGES["rc"] = IMAGES["proc"].wait()
        print("  lab images %s after %.0f s" % ("ready" if IMAGES["rc"] == 0 else "FAILED", time.monotonic() - IMAGES["start"]),
              flush=True)
        if IMAGES["rc"] != 0:
            print("".join(IMAGES["log"].read_text(encoding="utf-8").splitlines(True)[-60:]), flush=True)
    return IMAGES["rc"] == 0


# Integration test files run on three workers: most of their time is Docker-in-Docker hosts starting and
# playbooks waiting (two workers kept the two cores about 40 % busy); each file stays on one worker (its module
# fixtures are made once), and every lab takes a free underlay subnet of its own.
INTEGRATION_WORKERS = os.environ.get("NETLAB_INTEGRATION_WORKERS", "3")


def gate_integration():
    if not build_images():
        return 0, 1
    return pytest_gate("integration", "tests/integration", "-n", INTEGRATION_WORKERS, "--dist", "loadfile",
                       # The files in conftest's order (longest first), not by their number of tests.
                       "--no-loadscope-reorder")


# Molecule scenarios in groups: the scenarios of a group run one after another on the same Docker-in-Docker
# hosts (NETLAB_MOLECULE_SHARED: create keeps running hosts, destroy leaves them), so a later scenario also
# proves that a host switches from the earlier one's mode without cleanup; three groups run side by side (most
# of a scenario's time is spent waiting on its hosts). A scenario in no group runs alone, on hosts of its own.
MOLECULE_GROUPS = [
    # One single-host host for the bookworm modes (Debian 13 is met over SSH: tests/integration/test_first_contact.py).
    ["default", "portmap", "link", "pipework"],
    ["multihost", "ovn"],
    # mesh3 on three hosts of its own (it stops one of them); systemd on its own host after it.
    ["mesh3", "systemd"],
]
LAB_LABEL = "org.encompass.netlab.lab"


def scenario_platforms():
    """The names of the scenarios' hosts and underlay networks (molecule.yml's platforms and the base config's)."""
    hosts, networks = set(), set()
    for config in [ROOT / ".config" / "molecule" / "config.yml", *sorted((ROOT / "molecule").glob("*/molecule.yml"))]:
        for platform in (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("platforms") or []:
            hosts.add(platform["name"])
            if platform.get("network"):
                networks.add(platform["network"])
    return sorted(hosts), sorted(networks)


def remove_lab_hosts():
    """Every Docker-in-Docker host and underlay network the scenarios made: the lab-labelled ones named in the
    scenarios' platforms, and no other (the integration tests' hosts are labelled the same, and a developer may
    run them in another terminal)."""
    hosts, networks = scenario_platforms()
    ids = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=" + LAB_LABEL],
                         capture_output=True, text=True, check=False).stdout.split()
    ids = [name for name in ids if name in hosts]
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, check=False)
    nets = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}", "--filter", "label=" + LAB_LABEL],
                          capture_output=True, text=True, check=False).stdout.split()
    nets = [name for name in nets if name in networks]
    if nets:
        subprocess.run(["docker", "network", "rm", *nets], capture_output=True, check=False)


def run_group(scenarios, results):
    """Run scenarios one after another, each logged to tests/output/molecule-<scenario>.log."""
    for scenario in scenarios:
        log = OUTPUT / ("molecule-%s.log" % scenario)
        start = time.monotonic()
        # Molecule calls ansible-config and ansible-playbook from PATH: the pinned ones first.
        env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")), NETLAB_MOLECULE_SHARED="1")
        with open(log, "w", encoding="utf-8") as handle:
            rc = subprocess.run([str(BIN / "molecule"), "test", "-s", scenario], cwd=ROOT, stdout=handle,
                                stderr=subprocess.STDOUT, check=False, env=env).returncode
        results[scenario] = (rc, time.monotonic() - start, log)
        print("  molecule %-10s %s in %5.0f s (log: %s)"
              % (scenario, "passed" if rc == 0 else "FAILED", results[scenario][1], log.relative_to(ROOT)), flush=True)


def gate_molecule():
    if not build_images():
        return 0, 1
    OUTPUT.mkdir(parents=True, exist_ok=True)
    scenarios = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    grouped = [[s for s in group if s in scenarios] for group in MOLECULE_GROUPS]
    groups = [g for g in grouped if g] + [[s] for s in scenarios if not any(s in g for g in MOLECULE_GROUPS)]
    remove_lab_hosts()
    results = {}
    parallel = int(os.environ.get("NETLAB_MOLECULE_PARALLEL", "3"))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
            for future in [pool.submit(run_group, group, results) for group in groups]:
                future.result()
    finally:
        remove_lab_hosts()
    failed = [s for s, (rc, dummy, dummy_log) in results.items() if rc != 0]
    for scenario in failed:
        print("\n--- molecule %s failed; the end of its log:" % scenario)
        print("".join(results[scenario][2].read_text(encoding="utf-8").splitlines(True)[-60:]))
    return len(results) - len(failed), len(failed)


GATES = {
    "sanity": gate_sanity,
    "lint": gate_lint,
    "unit": gate_unit,
    "integration": gate_integration,
    "molecule": gate_molecule,
}


def main(names):
    unknown = [n for n in names if n not in GATES]
    if unknown or not names:
        sys.exit("usage: gates.py %s ..." % "|".join(GATES))
    os.environ.setdefault("PY_COLORS", "0")
    os.environ.setdefault("ANSIBLE_FORCE_COLOR", "0")
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(ROOT / ".collections")
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "playbooks" / "ansible.cfg"))
    if {"integration", "molecule"} & set(names):
        start_images()
    results = []
    for name in names:
        print("\n=== gate: %s" % name, flush=True)
        start = time.monotonic()
        passed, failed = GATES[name]()
        results.append((name, passed, failed, time.monotonic() - start))
    print("\n=== summary")
    for name, passed, failed, seconds in results:
        print("  %-12s %4d passed %4d failed  %7.1f s" % (name, passed, failed, seconds))
    total_passed = sum(r[1] for r in results)
    total_failed = sum(r[2] for r in results)
    print("%d passed, %d failed" % (total_passed, total_failed), flush=True)
    return 1 if total_failed or not total_passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
