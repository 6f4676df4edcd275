# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bytecode cache for zipimport, on the Docker-in-Docker test hosts only (role dind_host_image,
dind_host_image_bytecode_cache; docs/lab.md).

Ansible runs every module from a zip of Python sources (AnsiballZ), and zipimport compiles each source it imports
on every run: a third of a small module's CPU time on these hosts. This keeps each compiled source under the hash of
its bytes (and of the interpreter's bytecode version), so the next run loads what the last one compiled. The code is
what compile() makes of the same bytes; its file names are set to the importing path, as the importer's own cache
would. Any failure to read or write the cache falls back to compiling."""

import _imp
import hashlib
import importlib.util
import marshal
import os
import zipimport

CACHE_DIR = "/var/cache/netlab-zipimport"
_COMPILE = getattr(zipimport, "_compile_source", None)


def cached_compile(pathname, source):
    """zipimport's _compile_source, through the cache."""
    path = os.path.join(CACHE_DIR, hashlib.sha256(importlib.util.MAGIC_NUMBER + source).hexdigest())
    try:
        with open(path, "rb") as handle:
            code = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        code = _COMPILE(pathname, source)
        try:
            os.makedirs(CACHE_DIR, mode=0o755, exist_ok=True)
            partial = "%s.%d" % (path, os.getpid())
            with open(partial, "wb") as handle:
                marshal.dump(code, handle)
            os.replace(partial, path)
        except OSError:
            pass
        return code
    _imp._fix_co_filename(code, pathname)
    return code


if _COMPILE is not None:
    zipimport._compile_source = cached_compile
