# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.stack import link_sources

CONTAINERS = {"mongodb": "MongoDB", "elasticsearch": "ElasticSearch", "tomcat": "Tomcat"}
ALIASES = {"mongodb": "db", "elasticsearch": "es"}


def test_the_seeds_sources_in_the_aliases_order():
    assert link_sources(ALIASES, CONTAINERS, {"mongodb": "h1", "elasticsearch": "h2", "tomcat": "h3"}) == [
        {"service": "mongodb", "name": "MongoDB", "alias": "db", "host": "h1", "link": "MongoDB:db"},
        {"service": "elasticsearch", "name": "ElasticSearch", "alias": "es", "host": "h2", "link": "ElasticSearch:es"},
    ]


def test_renamed_containers_and_no_placement():
    renamed = dict(CONTAINERS, mongodb="mongo-1")
    assert [(s["name"], s["host"], s["link"]) for s in link_sources(ALIASES, renamed)] == [
        ("mongo-1", None, "mongo-1:db"), ("ElasticSearch", None, "ElasticSearch:es")]


@pytest.mark.parametrize("aliases, containers, message", [
    ({"redis": "cache"}, CONTAINERS, "service redis has link alias cache but no container"),
    ({"mongodb": "db", "elasticsearch": "db"}, CONTAINERS, "services mongodb and elasticsearch both have link alias db"),
    (["db"], CONTAINERS, "want a dict of service to link alias"),
    (ALIASES, None, "want a dict of service to container name"),
])
def test_bad_sources(aliases, containers, message):
    with pytest.raises(AnsibleFilterError) as err:
        link_sources(aliases, containers)
    assert message in str(err.value)
