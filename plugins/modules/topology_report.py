#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: topology_report
short_description: Write the topology report's files on the controller
version_added: 0.1.0
description:
  - Writes C(topology.json), C(topology.dot) and C(topology.md) into O(dest) on the controller, and C(topology.svg)
    drawn from O(svg) by Graphviz (C(dot -Tsvg)) where C(dot) is installed there, in one task (the action itself
    writes them, so no module runs per file).
  - The report is the run's output, not state the collection manages - the task never reports a change, and check
    mode writes nothing. A file that already holds the content is left alone; others are replaced atomically.
  - Runs as the user who runs Ansible, so the files are theirs.
  - Used by the C(encompass.netlab.verify) role's C(report) entry point.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
  check_mode:
    support: full
    details: Check mode writes nothing and says so.
  diff_mode:
    support: N/A
    details: The report is the run's output, not managed state; it has no diff.
  idempotent:
    support: full
options:
  dest:
    description: The folder on the controller (made when missing).
    type: path
    required: true
  files:
    description: The contents of the files, by name (V(topology.json), V(topology.dot), V(topology.md)).
    type: dict
    default: {}
  svg:
    description:
      - The drawing in Graphviz's DOT language, rendered into C(topology.svg) where C(dot) is installed.
      - A drawing C(dot) cannot make (under either of its rankings, C(newrank)) is a warning, not a failure - the
        other files are written and C(svg) is false.
    type: str
  mode:
    description: The files' permissions.
    type: str
    default: "0644"
notes:
  - The files are written on the controller whatever host the task runs for.
seealso:
  - module: encompass.netlab.netlab_info
"""

EXAMPLES = r"""
- name: Write the report
  encompass.netlab.topology_report:
    dest: "{{ playbook_dir }}/topology"
    files:
      topology.json: "{{ data | to_nice_json }}"
      topology.dot: "{{ data | encompass.netlab.topology_dot }}"
    svg: "{{ data | encompass.netlab.topology_dot }}"
  run_once: true
"""

RETURN = r"""
written:
  description: The files written (or found holding their content already).
  returned: success
  type: list
  elements: str
  sample: [topology.json, topology.dot, topology.md, topology.svg]
svg:
  description: Whether C(topology.svg) was drawn.
  returned: always
  type: bool
graphviz:
  description: Where C(dot) is on the controller; null when Graphviz is not installed.
  returned: always
  type: str
controller_root:
  description: Whether the controller's user is root (who may install Graphviz without C(sudo)).
  returned: always
  type: bool
"""
