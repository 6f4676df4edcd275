# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: net_modes
short_description: The networking modes of this collection
version_added: 0.1.0
description:
  - Returns the names of the networking modes this collection has, sorted, that is every role C(net_<mode>) with
    an argument spec (the mode contract, see C(docs/modes.md)). Adding a mode role adds it here; nothing else lists
    modes.
  - With O(phases=true), returns each mode with the phases (entry points) it has, that is the phase files
    C(tasks/<phase>.yml) of its role. The playbooks run a phase only where the mode has it, so a mode that needs
    nothing in a phase leaves its file out.
author:
  - encompass.netlab maintainers (@encompass)
options:
  phases:
    description: Return each mode with its phases instead of the names alone.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Fail unless net_mode names a mode
  ansible.builtin.assert:
    that: net_mode in query('encompass.netlab.net_modes')

- name: Run the attach phase only where the mode has one
  ansible.builtin.include_role:
    name: "encompass.netlab.net_{{ net_mode }}"
    tasks_from: attach
  when: >-
    'attach' in (query('encompass.netlab.net_modes', phases=true)
                 | items2dict(key_name='mode', value_name='phases'))[net_mode]
"""

RETURN = r"""
_raw:
  description:
    - The mode names (the role names without C(net_)).
    - With O(phases=true), one dictionary per mode, with keys C(mode) (the name) and C(phases) (the phases its role
      has, in the order C(plan), C(prune), C(segment), C(wire), C(attach), C(teardown)).
  type: list
  elements: raw
  sample: [link, multihost, pipework, portmap]
"""

import os

from ansible.plugins.lookup import LookupBase

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


# The mode contract's phases (docs/modes.md), in the order the playbooks run them; plan is the one every mode has.
PHASES = ("plan", "prune", "segment", "wire", "attach", "teardown")


def net_modes(roles=ROLES):
    """The modes whose role is in roles: folders net_<mode> that hold meta/argument_specs.yml."""
    try:
        names = os.listdir(roles)
    except OSError:
        return []
    return sorted(name[len("net_"):] for name in names
                  if name.startswith("net_") and os.path.isfile(os.path.join(roles, name, "meta", "argument_specs.yml")))


def mode_phases(roles=ROLES):
    """Each mode with the phases its role has: [{'mode': name, 'phases': [phase, ...]}, ...], sorted by name."""
    return [{"mode": mode,
             "phases": [phase for phase in PHASES
                        if os.path.isfile(os.path.join(roles, "net_" + mode, "tasks", phase + ".yml"))]}
            for mode in net_modes(roles)]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return mode_phases() if self.get_option("phases") else net_modes()
