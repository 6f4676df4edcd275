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
author:
  - encompass.netlab maintainers (@encompass)
options: {}
"""

EXAMPLES = r"""
- name: Fail unless net_mode names a mode
  ansible.builtin.assert:
    that: net_mode in query('encompass.netlab.net_modes')
"""

RETURN = r"""
_raw:
  description: The mode names (the role names without C(net_)).
  type: list
  elements: str
  sample: [link, multihost, pipework, portmap]
"""

import os

from ansible.plugins.lookup import LookupBase

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def net_modes(roles=ROLES):
    """The modes whose role is in roles: folders net_<mode> that hold meta/argument_specs.yml."""
    try:
        names = os.listdir(roles)
    except OSError:
        return []
    return sorted(name[len("net_"):] for name in names
                  if name.startswith("net_") and os.path.isfile(os.path.join(roles, name, "meta", "argument_specs.yml")))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return net_modes()
