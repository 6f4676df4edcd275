# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The containers Tomcat is linked to, computed once for every mode (pure logic)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def link_sources(aliases, containers, placement=None):
    """[{service, name, alias, host, link}] for each service Tomcat reaches by a link alias, in the aliases' order.

    aliases: service -> link alias (the stack's: mongodb -> db, elasticsearch -> es).
    containers: service -> container name.
    placement: service -> the inventory host the container runs on (host is None where it is not given).
    link is the source as docker_link_env and `docker run --link` take it, name:alias.
    """
    if not isinstance(aliases, dict):
        raise AnsibleFilterError("link_sources: want a dict of service to link alias, got %r" % (aliases,))
    if not isinstance(containers, dict):
        raise AnsibleFilterError("link_sources: want a dict of service to container name, got %r" % (containers,))
    placement = placement or {}
    seen = {}
    sources = []
    for service, alias in aliases.items():
        if service not in containers:
            raise AnsibleFilterError("link_sources: service %s has link alias %s but no container (the stack's services"
                                     " are %s)" % (service, alias, ", ".join(containers)))
        alias = str(alias)
        if alias in seen:
            raise AnsibleFilterError("link_sources: services %s and %s both have link alias %s; give each its own"
                                     % (seen[alias], service, alias))
        seen[alias] = service
        sources.append({"service": service, "name": containers[service], "alias": alias, "host": placement.get(service),
                        "link": "%s:%s" % (containers[service], alias)})
    return sources


class FilterModule:
    def filters(self):
        return {"link_sources": link_sources}
