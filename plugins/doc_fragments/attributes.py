# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Shared attribute descriptions; each module declares in its own documentation how far it supports each.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/encompass.netlab.netlab) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - encompass.netlab.netlab
"""

    # For modules that only read: what they return is the same in check mode, and they change nothing.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads; it returns the same data in check mode.
  diff_mode:
    support: N/A
    details: This module changes nothing.
  idempotent:
    support: full
"""
