# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of kernel_vxlan: argument rules, the difference to apply and the state it leads to."""

from __future__ import annotations

import ipaddress

from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

MARKER = "encompass.netlab:kernel_vxlan"
IMMUTABLE = ("vni", "port", "local_ip", "underlay_interface", "learning")
# Bytes VXLAN adds in front of the inner frame: outer IP header (20 or 40) + UDP 8 + VXLAN 8 + inner Ethernet 14.
OVERHEAD = {4: 50, 6: 70}
VxlanError = InputError


def validate(params, local_addresses=None):
    """Check the arguments; return the normalised local address (or None) and peer list."""
    name = valid.ifname(params["name"], "name")
    valid.in_range(params["vni"], 0, 16777215, "vni")
    valid.in_range(params["port"], 1, 65535, "port")
    valid.mtu(params["mtu"])
    local = valid.ip_address(params["local_ip"], "local_ip") if params["local_ip"] else None
    if local is not None and local_addresses is not None and str(local) not in local_addresses:
        raise InputError("local_ip %s is not an address of this host; give one of its own addresses" % local)
    peers = []
    for raw in params["remote_ips"]:
        peer = valid.ip_address(raw, "remote_ips entry")
        if local is not None and peer == local:
            raise InputError("remote_ips: %s is this host's own local_ip; list only the peers" % peer)
        if peer not in peers:
            peers.append(peer)
    families = {p.version for p in peers} | ({local.version} if local is not None else set())
    if len(families) > 1:
        raise InputError("remote_ips and local_ip mix IPv4 and IPv6; one VXLAN device carries one family")
    del name
    return (str(local) if local is not None else None), [str(p) for p in sorted(peers)]


def kernel_mtu(underlay_mtu, family=4):
    """The MTU Linux gives a new VXLAN device without one: the underlay device's minus the overhead, else 1500."""
    return underlay_mtu - OVERHEAD[family] if underlay_mtu else 1500


def plan(current, desired, state, exclusive):
    """The operations that take the device from current (read_vxlan) to desired."""
    name = desired["name"]
    if current is not None:
        if current["kind"] != "vxlan":
            raise InputError("%s exists and is not a VXLAN device (%s); choose another name"
                             % (name, current["kind"] or "a plain interface"))
        if current["alias"] != MARKER:
            raise InputError("%s is a VXLAN device this module did not make; remove it (ip link del %s) or choose"
                             " another name" % (name, name))
    if state == "absent":
        return [Step("delete", name, {})] if current is not None else []

    ops = []
    fresh = current is None or any(current[key] != desired[key] for key in IMMUTABLE)
    if fresh:
        if current is not None:
            changed = [key for key in IMMUTABLE if current[key] != desired[key]]
            ops.append(Step("delete", name, {"reason": ", ".join(changed)}))
        ops.append(Step("create", name, {key: desired[key] for key in IMMUTABLE}))
        current = dict(mtu=None, master=None, up=False, peers=[])
    if desired["mtu"] is not None and current["mtu"] != desired["mtu"]:
        ops.append(Step("set-mtu", name, {"mtu": desired["mtu"]}))
    if desired["master"] and current["master"] != desired["master"]:
        ops.append(Step("attach", name, {"master": desired["master"]}))
    if not current["up"]:
        ops.append(Step("up", name, {}))
    ops += [Step("add-peer", name, {"peer": peer}) for peer in desired["peers"] if peer not in current["peers"]]
    if exclusive:
        ops += [Step("del-peer", name, {"peer": peer}) for peer in current["peers"] if peer not in desired["peers"]]
    return ops


def describe(op):
    kind, name, detail = op
    if kind == "create":
        text = "create %s: vni=%d port=%d" % (name, detail["vni"], detail["port"])
        if detail["local_ip"]:
            text += " local=%s" % detail["local_ip"]
        if detail["underlay_interface"]:
            text += " dev=%s" % detail["underlay_interface"]
        return text + ("" if detail["learning"] else " nolearning")
    if kind == "delete":
        return "remove %s" % name + (" (to change %s)" % detail["reason"] if detail.get("reason") else "")
    if kind == "set-mtu":
        return "set mtu %d on %s" % (detail["mtu"], name)
    if kind == "attach":
        return "attach %s to %s" % (name, detail["master"])
    if kind == "up":
        return "bring %s up" % name
    return "%s peer %s on %s" % ("add" if kind == "add-peer" else "remove", detail["peer"], name)


def public(state):
    if state is None or state.get("kind") != "vxlan":
        return None
    keys = ("name", "vni", "port", "local_ip", "underlay_interface", "learning", "mtu", "master", "peers")
    return {key: state.get(key) for key in keys}


def state_after(current, ops, desired, fresh_mtu=1500):
    """The device as it is after ops (what check mode reports); fresh_mtu is the MTU the kernel gives
    a new device when desired has none (kernel_mtu)."""
    if any(op[0] == "delete" for op in ops) and not any(op[0] == "create" for op in ops):
        return None
    fresh = any(op[0] == "create" for op in ops)
    after = dict(current) if current is not None and not fresh else dict(
        kind="vxlan", peers=[], mtu=fresh_mtu if desired["mtu"] is None else desired["mtu"], master=None)
    after["name"] = desired["name"]
    for kind, dummy, detail in ops:
        if kind == "create":
            after.update(detail)
        elif kind == "set-mtu":
            after["mtu"] = detail["mtu"]
        elif kind == "attach":
            after["master"] = detail["master"]
        elif kind == "add-peer":
            after["peers"] = after["peers"] + [detail["peer"]]
        elif kind == "del-peer":
            after["peers"] = [p for p in after["peers"] if p != detail["peer"]]
    after["peers"] = sorted(after["peers"], key=ipaddress.ip_address)
    return after
