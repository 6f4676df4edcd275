# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base image's recipe (roles/base_image/files/make-rootfs) past the bootstrap: the machine's apt sources and the
keyrings they name go into the image. debootstrap itself is replaced by a stand-in that makes an empty system (the
real one is run by the lab image builds and the cold-machine test); everything after it runs for real."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RECIPE = ROOT / "roles" / "base_image" / "files" / "make-rootfs"
STUB = """#!/bin/sh
# debootstrap stand-in: the last-but-one argument is the target; an empty Debian with its own archive keyring.
for last; do :; done
target=$(eval echo \\${$(($# - 1))})
mkdir -p "$target/etc/apt" "$target/usr/share/keyrings" "$target/var/lib/apt/lists"
echo debian > "$target/usr/share/keyrings/debian-archive-keyring.gpg"
"""


def run_recipe(tmp_path, sources):
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "trusted.gpg.d").mkdir()
    (apt / "trusted.gpg.d" / "extra.gpg").write_text("trusted")
    for name, text in sources.items():
        (apt / "sources.list.d" / name).write_text(text)
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "debootstrap").write_text(STUB)
    (stub / "debootstrap").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PATH="%s:%s" % (stub, os.environ["PATH"]))
    subprocess.run(["sh", str(RECIPE), "bookworm", "minbase", "python3", "http://deb.example/debian", str(apt), str(work),
                    str(work / "rootfs.tar")], check=True, env=env, capture_output=True)
    with tarfile.open(work / "rootfs.tar") as tar:
        return {m.name.lstrip("./"): (tar.extractfile(m).read().decode() if m.isfile() else None) for m in tar.getmembers()}


def test_the_keyrings_the_sources_name_go_into_the_image(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "vendor.gpg").write_text("vendor key")
    (keys / "other.gpg").write_text("other key")
    files = run_recipe(tmp_path, {
        "vendor.sources": "Types: deb\nURIs: https://vendor.example/apt\nSuites: stable\nComponents: main\nSigned-By: %s\n"
                          % (keys / "vendor.gpg"),
        "other.list": "deb [arch=amd64 signed-by=%s] https://other.example/apt stable main\n" % (keys / "other.gpg"),
        "debian.sources": "Types: deb\nURIs: http://deb.example/debian\nSuites: bookworm\nComponents: main\n"
                          "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
    })
    inside = str(keys).lstrip("/")
    assert files[inside + "/vendor.gpg"] == "vendor key"
    assert files[inside + "/other.gpg"] == "other key"
    assert files[str(tmp_path / "apt" / "trusted.gpg.d" / "extra.gpg").lstrip("/")] == "trusted"
    # A keyring the new system has of its own is kept, not replaced by the machine's.
    assert files["usr/share/keyrings/debian-archive-keyring.gpg"] == "debian\n"
    assert files[str(tmp_path / "apt" / "sources.list.d" / "vendor.sources").lstrip("/")].startswith("Types: deb")


def test_a_keyring_that_is_not_there_is_no_error(tmp_path):
    files = run_recipe(tmp_path, {"gone.sources": "Types: deb\nURIs: https://x.example\nSuites: s\nComponents: main\n"
                                                  "Signed-By: /nonexistent/key.gpg\n"})
    assert not [name for name in files if name.endswith("key.gpg")]
