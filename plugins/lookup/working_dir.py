# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: working_dir
short_description: The folder ansible-playbook was started in, on the controller
version_added: 0.1.0
description:
  - Returns the controller's current working directory, the folder the user ran C(ansible-playbook) in. Not
    C(playbook_dir), which for a collection's playbook (C(encompass.netlab.site)) is inside the installed collection,
    and not the C(pipe) lookup's C(pwd), which runs in the playbook's folder.
author:
  - encompass.netlab maintainers (@encompass)
options: {}
"""

EXAMPLES = r"""
- name: Write beside the user's files
  ansible.builtin.copy:
    content: "report\n"
    dest: "{{ lookup('encompass.netlab.working_dir') }}/report.txt"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
_raw:
  description: The absolute path of the folder.
  type: list
  elements: path
  sample: [/home/ops/work]
"""

import os

from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        del terms, variables, kwargs
        return [os.getcwd()]
