# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_info on the session's Docker-in-Docker host: what it reads is what the host says (setup's distribution facts,
dpkg, the files, PATH), and it changes nothing, in check mode or not."""

from __future__ import annotations

import json

MODULE = "encompass.netlab.host_info"


def test_one_read_says_what_the_host_says(target):
    target.sh("sh", "-c", "printf '{\"mtu\": 1450}\\n' > /tmp/netlab-hi.json")
    try:
        args = dict(packages=True, imports=["docker", "pyroute2", "netlab_no_such_library"], commands=["dockerd", "netlab-no-such"],
                    paths=["/run/systemd/system", "/tmp/netlab-hi.json"], files=["/tmp/netlab-hi.json", "/tmp/netlab-absent"])
        result = target.module(MODULE, args)
        assert not result.get("failed") and not result["changed"], result
        facts = target.module("ansible.builtin.setup", dict(gather_subset=["!all", "!min", "distribution"]))["ansible_facts"]
        for key in ("distribution", "distribution_release", "distribution_major_version", "distribution_version"):
            assert result["ansible_facts"][key] == facts["ansible_" + key], key
        assert result["ansible_facts"]["python"]["executable"] == "/usr/bin/python3"
        assert result["missing_imports"] == ["netlab_no_such_library"]
        dpkg = target.sh("dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n").stdout.splitlines()
        assert result["packages"] == sorted({line.split()[0] for line in dpkg if line.split()[1:2] == ["ii"]})
        assert "docker.io" in result["packages"]
        assert result["commands"] == {"dockerd": target.sh("sh", "-c", "command -v dockerd").stdout.strip()}
        assert result["paths"] == {"/run/systemd/system": False, "/tmp/netlab-hi.json": True}
        assert json.loads(result["files"]["/tmp/netlab-hi.json"]) == {"mtu": 1450}
        assert result["files"]["/tmp/netlab-absent"] is None
        checked = target.module(MODULE, args, check=True)
        assert not checked["changed"] and checked["files"] == result["files"]
        # Without packages=true the package database is not read.
        assert target.module(MODULE, dict(files=["/tmp/netlab-absent"]))["packages"] == []
    finally:
        target.sh("rm", "-f", "/tmp/netlab-hi.json")


def test_a_file_it_cannot_read_is_named(target):
    result = target.module(MODULE, dict(files=["/etc"]))
    assert result.get("failed") and "host_info: cannot read /etc: Is a directory; name a file there" == result["msg"], result


def test_the_lab_hosts_compile_a_modules_sources_once(target):
    """The test hosts' bytecode cache (role dind_host_image, docs/lab.md) is what their modules import through: a
    module run leaves its compiled sources there, and a second run of it adds nothing."""
    listing = "ls /var/cache/netlab-zipimport 2>/dev/null | sort"
    target.module(MODULE, dict(files=["/tmp/netlab-absent"]))
    first = target.sh("sh", "-c", listing).stdout.split()
    assert len(first) > 10, first
    target.module(MODULE, dict(files=["/tmp/netlab-absent"]))
    assert target.sh("sh", "-c", listing).stdout.split() == first
