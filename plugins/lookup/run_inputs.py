# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: run_inputs
short_description: The digest of a run's inputs - the collection's code and its roles' variables on every host
version_added: 0.1.0
description:
  - Returns the SHA-256 of the collection's own files that make a run (C(galaxy.yml) or C(MANIFEST.json), C(meta),
    C(plugins), C(roles) and the playbooks, not what runs write next to them) and of the variables whose names match O(pattern) (by
    default those of the collection's roles, and C(net_mode)), with their values - every such variable the task sees
    on this host (inventory, play, extra variables, and the defaults of the role it runs in), and the host variables
    of every other host in O(hosts).
  - A variable whose value cannot be templated yet counts by the error it gives.
  - C(site.yml) takes it before any fact of the run is set and compares it with the one its last complete run left
    in each host's memo; a changed variable or a changed collection makes the next run a full one.
author:
  - encompass.netlab maintainers (@encompass)
options:
  hosts:
    description: The other hosts whose variables count (C(site.yml) gives every host of the inventory).
    type: list
    elements: str
    default: []
  pattern:
    description: A regular expression the names of the variables that count match (from their start).
    type: str
    default: "^(net_mode$|(stack|net|host|images|image_build|base_image|dind_host_image|service|tomcat|verify)_[a-z0-9])"
"""

EXAMPLES = r"""
- name: The digest of this run's inputs, before any fact is set
  ansible.builtin.set_fact:
    stack__run_inputs: "{{ lookup('encompass.netlab.run_inputs', hosts=groups['all']) }}"
"""

RETURN = r"""
_raw:
  description: The SHA-256 digest, in hexadecimal (one element).
  type: list
  elements: str
"""

import hashlib
import json
import os
import re

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What a run of the collection is made of: its roles, plugins and playbooks (not what runs write next to them), and
# its version (galaxy.yml in a source tree, MANIFEST.json where it was installed from its tarball).
CODE = ("galaxy.yml", "MANIFEST.json", "meta", "plugins", "roles", "playbooks")
CODE_SUFFIXES = (".yml", ".yaml", ".py", ".j2", ".json", ".cfg", ".sh", ".txt", ".md")

_CODE_DIGEST = {}


def code_digest(root=None):
    """The SHA-256 of the collection's files that make a run (their paths and contents), once per process."""
    root = root or COLLECTION
    if root not in _CODE_DIGEST:
        digest = hashlib.sha256()
        for top in CODE:
            path = os.path.join(root, top)
            found = [path] if os.path.isfile(path) else []
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(name for name in dirs if name != "__pycache__" and not name.startswith("."))
                found.extend(os.path.join(folder, name) for name in sorted(files) if name.endswith(CODE_SUFFIXES))
                if top == "playbooks":  # its sub-folders hold what the runs write (the topology report)
                    dirs[:] = []
            for name in found:
                with open(name, "rb") as handle:
                    digest.update(os.path.relpath(name, root).encode() + b"\0" + hashlib.sha256(handle.read()).digest())
        _CODE_DIGEST[root] = digest.hexdigest()
    return _CODE_DIGEST[root]


def matching(variables, wanted, value_of):
    """{name: value as JSON} of the variables whose names match, each value as value_of gives it, or the error it raises.

    The value is written out here, not later: another host's variables (hostvars) are resolved only as they are read,
    so a value that names what is not defined there (a role's default, in a value given in the inventory) raises only
    then.
    """
    found = {}
    for name in sorted(variables.keys()):
        if wanted.match(name):
            try:
                found[name] = json.dumps(value_of(name), sort_keys=True, default=str)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # Whatever templating raises (a variable that names what is not defined yet): the error is the input.
                found[name] = "<%s: %s>" % (type(exc).__name__, exc)
    return found


def digest_of(here, others, root=None):
    """The SHA-256 of the code under root and the variables: here ({name: value}), others ({host: {name: value}})."""
    text = json.dumps({"code": code_digest(root), "here": here, "hosts": others}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        variables = variables or {}
        try:
            wanted = re.compile(self.get_option("pattern"))
        except re.error as exc:
            raise AnsibleLookupError("run_inputs: pattern %r: %s" % (self.get_option("pattern"), exc)) from None
        here = matching(variables, wanted, lambda name: self._templar.template(variables[name]))
        hostvars = variables.get("hostvars", {})
        others = {}
        for host in sorted(set(self.get_option("hosts")) - {variables.get("inventory_hostname")}):
            if host not in hostvars:
                raise AnsibleLookupError("run_inputs: %s is not a host of the inventory" % host)
            facts = hostvars[host]
            others[host] = matching(facts, wanted, lambda name, facts=facts: facts[name])
        try:
            return [digest_of(here, others)]
        except OSError as exc:
            raise AnsibleLookupError("run_inputs: reading the collection at %s: %s" % (COLLECTION, exc)) from None
