# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the OVN modules: names and addresses checked, a logical switch (its ports and ACLs) and a
chassis's settings compared with what the databases hold, and the steps between the two."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

# Logical switch and port names: what ovn-nbctl and the CMSes that drive OVN use.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")
DIRECTIONS = ("from-lport", "to-lport")
ACTIONS = ("allow", "allow-related", "allow-stateless", "drop", "reject")
# Address forms OVN takes besides "MAC IP...".
KEYWORDS = ("unknown", "router", "dynamic")
# The chassis settings ovn-controller reads from the Open_vSwitch table (external_ids), and the token this
# collection adds to ovn-cms-options so that its chassis can be told apart in the southbound database.
CHASSIS_KEYS = ("system-id", "ovn-remote", "ovn-encap-type", "ovn-encap-ip", "ovn-bridge-datapath-type", "ovn-cms-options")
CMS_TOKEN = "encompass-netlab"


def name(value, what):
    if not isinstance(value, str) or not NAME.match(value):
        raise InputError("%s %r is not a valid OVN name (1 to 63 of A-Z a-z 0-9 _ . : -, starting with a letter or digit)"
                         % (what, value))
    return value


def address_entry(entry, subnet, what):
    """One entry of a port's addresses or port_security: 'MAC IP...' (or a keyword) in canonical form."""
    text = " ".join(str(entry).split())
    if text in KEYWORDS:
        return text
    parts = text.split(" ")
    mac = valid.mac(parts[0], "%s MAC" % what)
    ips = []
    for part in parts[1:]:
        ip = valid.ip_interface(part, what).ip if "/" in part else valid.ip_address(part, what)
        if subnet is not None and (ip.version != subnet.version or ip not in subnet):
            raise InputError("%s: address %s is outside the switch's subnet %s" % (what, ip, subnet))
        ips.append(part if "/" in part else str(ip))
    return " ".join([mac] + ips)


def acl_key(acl):
    return (acl["direction"], int(acl["priority"]), acl["match"], acl["action"], acl.get("name") or "")


def normalise_acl(acl, index):
    where = "acls[%d]" % index
    if acl.get("direction") not in DIRECTIONS:
        raise InputError("%s: direction %r is not one of %s" % (where, acl.get("direction"), ", ".join(DIRECTIONS)))
    if acl.get("action") not in ACTIONS:
        raise InputError("%s: action %r is not one of %s" % (where, acl.get("action"), ", ".join(ACTIONS)))
    valid.in_range(acl.get("priority"), 0, 32767, "%s: priority" % where)
    if not str(acl.get("match") or "").strip():
        raise InputError("%s: match is empty; give an OVN match expression (e.g. ip4 && tcp.dst == 27017)" % where)
    return dict(direction=acl["direction"], priority=int(acl["priority"]), match=" ".join(str(acl["match"]).split()),
                action=acl["action"], name=acl.get("name") or "")


def normalise_switch(params):
    """The wanted switch from the module's arguments; InputError before anything is written."""
    switch = name(params["name"], "name")
    subnet = valid.ip_network(params["subnet"], "subnet") if params.get("subnet") else None
    ports, seen_ips = {}, {}
    for port in params.get("ports") or []:
        port_name = name(port.get("name"), "ports: name")
        if port_name in ports:
            raise InputError("ports: %s is listed twice" % port_name)
        where = "port %s" % port_name
        addresses = [address_entry(a, subnet, where) for a in port.get("addresses") or []]
        security = port.get("port_security")
        security = addresses if security is None else [address_entry(a, subnet, where + " port_security") for a in security]
        for entry in addresses:
            for ip in entry.split(" ")[1:] if entry not in KEYWORDS else []:
                ip = ip.split("/")[0]
                if ip in seen_ips:
                    raise InputError("ports %s and %s both claim address %s" % (seen_ips[ip], port_name, ip))
                seen_ips[ip] = port_name
        ports[port_name] = dict(addresses=sorted(addresses), port_security=sorted(security),
                                external_ids={str(k): str(v) for k, v in (port.get("external_ids") or {}).items()},
                                options={str(k): str(v) for k, v in (port.get("options") or {}).items()})
    acls = [normalise_acl(acl, i) for i, acl in enumerate(params.get("acls") or [])]
    if len({acl_key(a) for a in acls}) != len(acls):
        raise InputError("acls: the same ACL is listed twice")
    return dict(name=switch, subnet=str(subnet) if subnet is not None else None, ports=ports,
                acls=sorted(acls, key=acl_key))


def plan_switch(current, desired, state, exclusive, elsewhere=None):
    """Steps from current (read from the northbound database) to desired.

    current: None or {managed, subnet, ports: {name: {addresses, port_security, external_ids, options, managed}} (the switch's
    own ports), acls: [the ACLs this collection made on the switch]}; elsewhere: {port name: its switch or None}
    for wanted ports that exist but not on this switch."""
    switch = desired["name"]
    if current is not None and not current["managed"]:
        raise InputError("logical switch %s exists and was not made by this collection; choose another name" % switch)
    if state == "absent":
        return [Step("del-switch", switch, {})] if current is not None else []
    for port, other in sorted((elsewhere or {}).items()):
        raise InputError("logical switch port %s exists (on %s); remove it or choose another name" % (port, other or "no switch"))
    steps = []
    if current is None:
        steps.append(Step("add-switch", switch, {"subnet": desired["subnet"]}))
        current = dict(managed=True, subnet=desired["subnet"], ports={}, acls=[])
    elif current["subnet"] != desired["subnet"]:
        steps.append(Step("set-subnet", switch, {"subnet": desired["subnet"]}))
    for port, want in sorted(desired["ports"].items()):
        have = current["ports"].get(port)
        if have is None:
            steps.append(Step("add-port", port, want))
        elif not have["managed"]:
            raise InputError("logical switch port %s on %s was not made by this collection; remove it or choose another name"
                             % (port, switch))
        elif {k: have.get(k, {}) for k in want} != want:
            steps.append(Step("set-port", port, want))
    if exclusive:
        steps += [Step("del-port", port, {}) for port, have in sorted(current["ports"].items())
                  if have["managed"] and port not in desired["ports"]]
    wanted = {acl_key(a) for a in desired["acls"]}
    have_acls = {acl_key(a) for a in current["acls"]}
    steps += [Step("add-acl", switch, a) for a in desired["acls"] if acl_key(a) not in have_acls]
    if exclusive:
        steps += [Step("del-acl", switch, a) for a in current["acls"] if acl_key(a) not in wanted]
    return steps


def view_switch(current):
    """The switch as the diff and the result show it: what this collection manages on it."""
    if current is None:
        return None
    return dict(subnet=current["subnet"],
                ports={p: {k: v.get(k, {}) for k in ("addresses", "port_security", "external_ids", "options")}
                       for p, v in sorted(current["ports"].items()) if v["managed"]},
                acls=[{k: a[k] for k in ("direction", "priority", "match", "action", "name")} for a in sorted(current["acls"], key=acl_key)])


def predict_switch(desired, state, exclusive, current):
    """The switch after the steps, in read's shape."""
    if state == "absent":
        return None
    ports = {p: v for p, v in (current or {}).get("ports", {}).items() if not v["managed"] or not exclusive}
    ports.update({p: dict(v, managed=True) for p, v in desired["ports"].items()})
    acls = {acl_key(a): a for a in ([] if current is None or exclusive else current["acls"]) + desired["acls"]}
    return dict(managed=True, subnet=desired["subnet"], ports=ports, acls=sorted(acls.values(), key=acl_key))


def describe_switch(step):
    kind, obj, detail = step
    if kind == "add-switch":
        return "add logical switch %s%s" % (obj, " subnet %s" % detail["subnet"] if detail["subnet"] else "")
    if kind == "set-subnet":
        return "set logical switch %s subnet %s" % (obj, detail["subnet"])
    if kind == "del-switch":
        return "delete logical switch %s (its ports and ACLs go with it)" % obj
    if kind in ("add-port", "set-port"):
        return "%s logical switch port %s: addresses=%s port_security=%s%s" % (
            "add" if kind == "add-port" else "set", obj, detail["addresses"], detail["port_security"],
            "".join(" external_ids:%s=%s" % kv for kv in sorted(detail["external_ids"].items()))
            + "".join(" options:%s=%s" % kv for kv in sorted(detail.get("options", {}).items())))
    if kind == "del-port":
        return "delete logical switch port %s" % obj
    verb = "add" if kind == "add-acl" else "delete"
    return "%s ACL on %s: %s %d %s %s" % (verb, obj, detail["direction"], detail["priority"], detail["action"], detail["match"])


def chassis_settings(params, local_addresses, datapath):
    """The Open_vSwitch external_ids a chassis needs, checked: {key: value}."""
    system_id = name(params["system_id"], "system_id")
    remote = str(params["remote"] or "")
    if not re.match(r"^(tcp|ssl):[^:]+:[0-9]+$|^unix:/", remote):
        raise InputError("remote %r is not an OVSDB remote (tcp:IP:PORT, ssl:IP:PORT or unix:PATH)" % remote)
    encap_ip = str(valid.ip_address(params["encap_ip"], "encap_ip"))
    if local_addresses is not None and encap_ip not in local_addresses:
        raise InputError("encap_ip %s is not an address of this host" % encap_ip)
    return {"system-id": system_id, "ovn-remote": remote, "ovn-encap-type": params["encap_type"],
            "ovn-encap-ip": encap_ip, "ovn-bridge-datapath-type": datapath}


def with_token(cms_options):
    """ovn-cms-options with this collection's token added (other tokens kept, in order)."""
    tokens = [t for t in (cms_options or "").split(",") if t]
    return ",".join(tokens + ([CMS_TOKEN] if CMS_TOKEN not in tokens else []))


def without_token(cms_options):
    return ",".join(t for t in (cms_options or "").split(",") if t and t != CMS_TOKEN)


def stack_addresses(placement, indexes, subnet, host_prefix, offsets):
    """Each container's address on the stack's switch: host index i's block (the i-th /host_prefix of subnet)
    plus the service's offset, with the subnet's prefix length. Stable when hosts are added (indexes are),
    never colliding (blocks are disjoint, offsets distinct)."""
    net = ipaddress.ip_network(subnet)
    if not net.prefixlen < host_prefix <= net.max_prefixlen - 4:
        raise InputError("the blocks of /%d must be longer than the subnet's /%d and hold at least 16 addresses"
                         % (host_prefix, net.prefixlen))
    blocks = list(net.subnets(new_prefix=host_prefix))
    out = {}
    for service, host in placement.items():
        index = indexes[host]
        if not 1 <= index < len(blocks):
            raise InputError("host %s has index %d; subnet %s has blocks 1 to %d of /%d" % (
                host, index, subnet, len(blocks) - 1, host_prefix))
        block = blocks[index]
        if not 0 < offsets[service] < block.num_addresses - 1:
            raise InputError("offset %d of %s does not fit a /%d block" % (offsets[service], service, host_prefix))
        out[service] = "%s/%d" % (block.network_address + offsets[service], net.prefixlen)
    return out


def plan_chassis(current, wanted, state):
    """Steps from the Open_vSwitch row's external_ids (current) to the chassis settings (wanted)."""
    if state == "absent":
        gone = [k for k in CHASSIS_KEYS if k.startswith("ovn-") and k in current and k != "ovn-cms-options"]
        steps = [Step("del-key", key, {}) for key in gone]
        if "ovn-cms-options" in current and without_token(current["ovn-cms-options"]) != current["ovn-cms-options"]:
            rest = without_token(current["ovn-cms-options"])
            steps.append(Step("set-key", "ovn-cms-options", {"value": rest}) if rest else Step("del-key", "ovn-cms-options", {}))
        return steps
    wanted = dict(wanted, **{"ovn-cms-options": with_token(current.get("ovn-cms-options"))})
    return [Step("set-key", key, {"value": value}) for key, value in sorted(wanted.items()) if current.get(key) != value]


def chassis_after(current, steps):
    after = dict(current)
    for kind, key, detail in steps:
        if kind == "set-key":
            after[key] = detail["value"]
        elif kind == "del-key":
            after.pop(key, None)
    return after


def describe_chassis(step):
    kind, key, detail = step
    if kind == "set-key":
        return "set external_ids:%s=%s" % (key, detail["value"])
    return "remove external_ids:%s" % key
