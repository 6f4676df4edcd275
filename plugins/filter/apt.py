# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError


def _one_line(text, suite):
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            rest = words[1:]
            if len(rest) >= 2 and rest[1] == suite:
                return rest[0]
    return None


def _deb822(text, suite):
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and suite in fields.get("suites", []) and fields.get("uris"):
            if fields.get("enabled", ["yes"])[0].lower() != "no":
                return fields["uris"][0]
    return None


def apt_mirror(sources, suite):
    """The mirror URI that apt source texts (sources.list lines or deb822 .sources) name for suite."""
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, (list, tuple)):
        raise AnsibleFilterError("apt_mirror: want the text of apt source files (a string or a list of strings)")
    for text in sources:
        found = _deb822(text, suite) or _one_line(text, suite)
        if found:
            return found
    return ""


class FilterModule:
    def filters(self):
        return {"apt_mirror": apt_mirror}
