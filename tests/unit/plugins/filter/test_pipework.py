# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.pipework import static_addresses

SERVICES = ["mongodb", "elasticsearch", "tomcat"]


def test_dockers_default_bridge_keeps_the_old_defaults():
    assert static_addresses("172.17.0.1/16", SERVICES) == {
        "mongodb": "172.17.200.10/16", "elasticsearch": "172.17.200.11/16", "tomcat": "172.17.200.12/16"}


def test_the_addresses_follow_the_bridge_docker_really_made():
    assert static_addresses("172.18.0.1/16", SERVICES)["mongodb"] == "172.18.200.10/16"
    assert static_addresses("10.20.0.0/12", SERVICES)["tomcat"] == "10.16.200.12/12"


def test_a_small_subnet_takes_its_last_addresses():
    assert static_addresses("192.168.5.1/24", SERVICES) == {
        "mongodb": "192.168.5.252/24", "elasticsearch": "192.168.5.253/24", "tomcat": "192.168.5.254/24"}


@pytest.mark.parametrize("subnet, message", [
    ("192.168.5.1/30", "no room"), ("bogus", "CIDR"), ("fd00::1/64", "not IPv4")])
def test_what_cannot_hold_the_addresses(subnet, message):
    with pytest.raises(AnsibleFilterError, match=message):
        static_addresses(subnet, SERVICES)
