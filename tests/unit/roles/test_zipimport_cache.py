# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test hosts' bytecode cache for zipimport (role dind_host_image, files/netlab_zipimport_cache.py), in a Python
of its own each time (the cache replaces zipimport's compiler for the whole interpreter): a module imported from a zip
is compiled once, loaded from the cache by the next interpreter under the new zip's path, and a cache entry that
cannot be read is compiled again."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

HOOK = Path(__file__).resolve().parents[3] / "roles" / "dind_host_image" / "files" / "netlab_zipimport_cache.py"
SOURCE = "def where():\n    return __file__, where.__code__.co_filename\n\nVALUE = sum(range(10))\n"
PROBE = """
import importlib.util, json, sys, zipimport
spec = importlib.util.spec_from_file_location("netlab_zipimport_cache", sys.argv[1])
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)
hook.CACHE_DIR = sys.argv[2]
sys.path.insert(0, sys.argv[3])
import netlab_probe_mod
fresh = compile(open(sys.argv[4]).read(), netlab_probe_mod.__file__, "exec", dont_inherit=True)
print(json.dumps({"hooked": zipimport._compile_source is hook.cached_compile, "where": netlab_probe_mod.where(),
                  "value": netlab_probe_mod.VALUE, "same": fresh == netlab_probe_mod.__loader__.get_code("netlab_probe_mod")}))
"""


def probe(tmp_path, name):
    source = tmp_path / "netlab_probe_mod.py"
    source.write_text(SOURCE, encoding="utf-8")
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(source, "netlab_probe_mod.py")
    out = subprocess.run([sys.executable, "-c", PROBE, str(HOOK), str(tmp_path / "cache"), str(archive), str(source)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out), archive


def test_compiled_once_then_loaded_under_the_new_path(tmp_path):
    first, archive = probe(tmp_path, "one.zip")
    entries = sorted((tmp_path / "cache").iterdir())
    assert first["hooked"] and first["value"] == 45 and first["same"], first
    assert first["where"] == [str(archive / "netlab_probe_mod.py")] * 2
    assert len(entries) == 1, entries
    stamp = entries[0].stat().st_mtime_ns
    second, archive = probe(tmp_path, "two.zip")
    # Loaded from the entry (not written again), with the file names of the zip it came from this time.
    assert sorted((tmp_path / "cache").iterdir()) == entries and entries[0].stat().st_mtime_ns == stamp
    assert second["where"] == [str(archive / "netlab_probe_mod.py")] * 2 and second["value"] == 45 and second["same"], second


def test_an_entry_it_cannot_read_is_compiled_again(tmp_path):
    probe(tmp_path, "one.zip")
    entry = next((tmp_path / "cache").iterdir())
    entry.write_bytes(b"\x00not marshal data")
    again, archive = probe(tmp_path, "two.zip")
    assert again["value"] == 45 and again["where"] == [str(archive / "netlab_probe_mod.py")] * 2, again
    assert entry.read_bytes() != b"\x00not marshal data"


def test_a_cache_it_cannot_write_changes_nothing(tmp_path):
    (tmp_path / "cache").write_text("a file where the folder would be", encoding="utf-8")
    result, archive = probe(tmp_path, "one.zip")
    assert result["value"] == 45 and result["where"] == [str(archive / "netlab_probe_mod.py")] * 2, result
