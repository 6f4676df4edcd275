# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.portmap import portmap_published

PORTS = {"mongodb": {"27017": 27017, "27018": 27018}, "tomcat": {"8080": 18080}}


def test_on_the_bridge_by_default_everywhere_or_on_an_address():
    assert portmap_published(PORTS, {"tomcat": {"8080": "all"}}, "172.17.0.1") == {
        "mongodb": ["172.17.0.1:27017:27017", "172.17.0.1:27018:27018"], "tomcat": ["18080:8080"]}
    assert portmap_published(PORTS, {"mongodb": {"27018": "10.0.0.5"}}, "172.17.0.1")["mongodb"] == [
        "172.17.0.1:27017:27017", "10.0.0.5:27018:27018"]


def test_before_docker0_is_known_the_bridge_ports_have_no_address():
    assert portmap_published(PORTS)["mongodb"] == ["27017:27017", "27018:27018"]


@pytest.mark.parametrize("ports, addresses", [(["27017"], None), ({"mongodb": [27017]}, None), (PORTS, ["all"])])
def test_bad_input_is_named(ports, addresses):
    with pytest.raises(AnsibleFilterError, match="portmap_published: want service"):
        portmap_published(ports, addresses)
