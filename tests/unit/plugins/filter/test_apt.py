# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.apt import FilterModule, apt_mirror

DEB822 = """Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
"""


def test_deb822():
    assert apt_mirror([DEB822], "bookworm") == "http://deb.debian.org/debian"
    assert apt_mirror(DEB822, "bookworm-security") == "http://deb.debian.org/debian-security"


def test_one_line_with_options_and_comments():
    text = "# deb http://old/ bookworm main\ndeb-src http://src/ bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n"
    assert apt_mirror([text], "bookworm") == "http://mirror.example/debian"


def test_disabled_and_missing():
    assert apt_mirror([DEB822.replace("Types: deb\n# http", "Enabled: no\nTypes: deb\n# http", 1)], "bookworm") == ""
    assert apt_mirror([DEB822], "trixie") == ""
    assert apt_mirror([], "bookworm") == ""


def test_first_file_wins_and_bad_input():
    assert apt_mirror(["deb http://a/ bookworm main", DEB822], "bookworm") == "http://a/"
    with pytest.raises(AnsibleFilterError):
        apt_mirror(42, "bookworm")
    assert FilterModule().filters()["apt_mirror"] is apt_mirror
