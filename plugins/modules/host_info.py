#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_info
short_description: Read what a Docker host's setup depends on, in one call
version_added: 0.1.0
description:
  - Reads, without changing anything, what the C(encompass.netlab.host) role decides from - the distribution, the
    Python this module runs with and which of O(imports) it cannot import, the Debian packages installed, where
    O(commands) are, which of O(paths) exist, and the contents of O(files) - in one task instead of one per question
    (each task costs a connection and a Python start on the host).
  - Sets the same distribution facts as M(ansible.builtin.setup) with C(gather_subset=distribution) (C(distribution),
    C(distribution_release), C(distribution_major_version), ...), read with the same code, and C(python.executable).
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ACTIONGROUP
  - encompass.netlab.attributes.READ_ONLY
options:
  imports:
    description:
      - Top-level Python packages the collection's modules import on this host; RV(missing_imports) lists those the
        interpreter running this module cannot find.
    type: list
    elements: str
    default: []
  commands:
    description: Commands to look up on C(PATH) (and in C(/usr/sbin), C(/sbin)).
    type: list
    elements: str
    default: []
  paths:
    description: Paths whose existence is asked (a directory such as C(/run/systemd/system), a file).
    type: list
    elements: path
    default: []
  files:
    description: Files to read (text, at most 1 MiB each); a file that does not exist reads as null.
    type: list
    elements: path
    default: []
  packages:
    description: Read the Debian packages installed (RV(packages)).
    type: bool
    default: false
notes:
  - Reads the package database with C(dpkg-query) (O(packages)); on a system without it RV(packages) is empty.
seealso:
  - module: ansible.builtin.setup
  - module: encompass.netlab.netlab_info
"""

EXAMPLES = r"""
- name: What the host role decides from
  encompass.netlab.host_info:
    packages: true
    imports: [docker, pyroute2, ovs]
    commands: [dockerd, docker]
    paths: [/run/systemd/system, /sys/module/openvswitch]
    files: [/etc/docker/daemon.json]
  register: host
"""

RETURN = r"""
ansible_facts:
  description: The distribution facts (as M(ansible.builtin.setup) sets them) and C(python.executable).
  returned: always
  type: dict
  sample: {distribution: Debian, distribution_release: bookworm, distribution_major_version: "12",
           python: {executable: /usr/bin/python3}}
missing_imports:
  description: The packages of O(imports) the interpreter cannot find.
  returned: always
  type: list
  elements: str
  sample: [pyroute2]
packages:
  description: The Debian packages installed (C(ii)), sorted; empty unless O(packages) is set.
  returned: always
  type: list
  elements: str
commands:
  description: Where each command of O(commands) is; a command not found is left out.
  returned: always
  type: dict
  sample: {dockerd: /usr/sbin/dockerd}
paths:
  description: Whether each path of O(paths) exists.
  returned: always
  type: dict
  sample: {/run/systemd/system: false}
files:
  description: The contents of each file of O(files), null for a file that does not exist.
  returned: always
  type: dict
  sample: {/etc/docker/daemon.json: '{"mtu": 1450}'}
"""

import importlib.util
import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.facts.system.distribution import DistributionFactCollector

MAX_FILE = 1024 * 1024
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def read_packages(module):
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg is None:
        return []
    rc, out, err = module.run_command([dpkg, "-W", "-f", "${Package} ${db:Status-Abbrev}\\n"])
    if rc != 0:
        module.fail_json(msg="host_info: dpkg-query failed: %s; check the package database (dpkg --audit)" % (err or out).strip())
    return sorted({line.split()[0] for line in out.splitlines() if len(line.split()) > 1 and line.split()[1] == "ii"})


def read_file(module, path):
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        hint = "; the task needs root (become)" if isinstance(exc, PermissionError) else "; name a file there"
        module.fail_json(msg="host_info: cannot read %s: %s%s" % (path, exc.strerror, hint))
    if len(data) > MAX_FILE:
        module.fail_json(msg="host_info: %s is larger than 1 MiB; it is not a configuration file this collection reads" % path)
    return data.decode("utf-8", errors="replace")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            imports=dict(type="list", elements="str", default=[]),
            commands=dict(type="list", elements="str", default=[]),
            paths=dict(type="list", elements="path", default=[]),
            files=dict(type="list", elements="path", default=[]),
            packages=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    facts = DistributionFactCollector().collect(module=module)
    facts["python"] = {"executable": sys.executable,
                       "version": {"major": sys.version_info[0], "minor": sys.version_info[1], "micro": sys.version_info[2]}}
    module.exit_json(
        changed=False,
        ansible_facts=facts,
        missing_imports=[name for name in module.params["imports"] if importlib.util.find_spec(name) is None],
        packages=read_packages(module) if module.params["packages"] else [],
        commands={name: found for name in module.params["commands"]
                  for found in [shutil.which(name, path=SEARCH_PATH)] if found},
        paths={path: os.path.exists(path) for path in module.params["paths"]},
        files={path: read_file(module, path) for path in module.params["files"]},
    )


if __name__ == "__main__":
    main()
