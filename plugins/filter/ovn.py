# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Address planning for the stack's containers on one OVN logical switch (pure logic)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._ovn import stack_addresses
from ansible_collections.encompass.netlab.plugins.module_utils._veth import default_mac

# The first service's place in its host's block; each next service (the stack's order) takes the next one.
FIRST_OFFSET = 10


def ovn_addresses(placement, indexes, subnet="172.29.0.0/16", host_prefix=24, offsets=None):
    """{service: {address: CIDR, mac: MAC}} for the services placed on hosts with stable indexes.

    placement: service -> host, in the stack's order (stack_services'): the i-th service has offset 10 + i in its
    host's block (the seed's MongoDB 10, Elasticsearch 11, Tomcat 12), unless offsets gives it one.
    """
    if not isinstance(placement, dict):
        raise AnsibleFilterError("ovn_addresses: want the placement, service to host, got %r" % (placement,))
    offsets = dict({service: FIRST_OFFSET + i for i, service in enumerate(placement)}, **(offsets or {}))
    try:
        taken = {}
        for service in placement:
            if offsets[service] in taken:
                raise InputError("%s and %s have the same address offset %s" % (taken[offsets[service]], service, offsets[service]))
            taken[offsets[service]] = service
        missing = sorted(set(placement.values()) - set(indexes))
        if missing:
            raise InputError("no index for host %s" % ", ".join(missing))
        planned = stack_addresses(placement, {h: int(i) for h, i in indexes.items()}, str(subnet), int(host_prefix), offsets)
    except (InputError, ValueError) as exc:
        raise AnsibleFilterError("ovn_addresses: %s" % exc) from None
    return {service: {"address": cidr, "mac": default_mac(cidr)} for service, cidr in planned.items()}


class FilterModule:
    def filters(self):
        return {"ovn_addresses": ovn_addresses}
