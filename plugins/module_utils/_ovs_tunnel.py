# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of ovs_gre_tunnel: naming, validation, normalisation, and the difference to apply."""

from __future__ import annotations

import hashlib
import ipaddress

from ansible_collections.encompass.netlab.plugins.module_utils import _underlay
from ansible_collections.encompass.netlab.plugins.module_utils import _validate as valid
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

TUNNEL_TYPES = ("gre", "vxlan", "geneve")
# GRE keys are 32 bits; VXLAN and Geneve identifiers (VNI) 24 bits.
KEY_MAX = {"gre": 2 ** 32 - 1, "vxlan": 2 ** 24 - 1, "geneve": 2 ** 24 - 1}
MANAGER = "ovs_gre_tunnel"
# The operations that are OVSDB changes of the tunnel bridge (the rest is underlay plumbing and netlink).
TUNNEL_OPS = ("add-bridge", "set-bridge", "set-mtu", "add-tunnel", "set-tunnel", "del-tunnel", "del-bridge")
TunnelError = InputError


def normalise_ip(value, what):
    return str(valid.ip_address(value, what))


def port_name(bridge, peer):
    """A stable tunnel port name (<= 15 characters) from the bridge and the peer: OVS port names are
    global, so the bridge is part of it; the tunnel type is not, so a type change keeps the port."""
    digest = hashlib.sha256(("%s|%s" % (bridge, peer)).encode()).hexdigest()
    return "tun" + digest[:10]


def tunnel_options(peer, key, local_ip):
    options = {"remote_ip": peer}
    if key is not None:
        options["key"] = str(key)
    if local_ip is not None:
        options["local_ip"] = local_ip
    return options


def normalise_options(options):
    """OVSDB option values as strings, with addresses in one canonical form."""
    out = {}
    for name, value in (options or {}).items():
        value = str(value)
        if name in ("remote_ip", "local_ip"):
            try:
                value = str(ipaddress.ip_address(value))
            except ValueError:
                pass
        elif name == "key" and value.isdigit():
            value = str(int(value))
        out[name] = value
    return out


def validate(params, local_addresses):
    """Check every option and return the desired state; raise TunnelError before anything is written."""
    bridge = valid.ifname(params["bridge"], "bridge")
    tunnel_type = params["tunnel_type"]
    if tunnel_type not in TUNNEL_TYPES:
        raise TunnelError("tunnel_type %r is not one of %s" % (tunnel_type, ", ".join(TUNNEL_TYPES)))
    key = params.get("key")
    if key is not None and not 0 <= key <= KEY_MAX[tunnel_type]:
        raise TunnelError("key %d is out of range for %s (0 to %d)" % (key, tunnel_type, KEY_MAX[tunnel_type]))
    if params.get("stp") and params.get("rstp"):
        raise TunnelError("stp and rstp are both true; enable one of them (rstp converges faster)")
    valid.mtu(params.get("mtu"))
    local_ip = normalise_ip(params["local_ip"], "local_ip") if params.get("local_ip") else None
    if local_ip is not None and local_addresses is not None and local_ip not in local_addresses:
        raise TunnelError("local_ip %s is not an address of this host" % local_ip)
    peers = []
    for value in params.get("remote_ips") or []:
        peer = normalise_ip(value, "remote_ips entry")
        if peer in peers:
            raise TunnelError("remote_ips lists %s twice" % peer)
        if local_addresses is not None and peer in local_addresses:
            raise TunnelError("remote_ips entry %s is an address of this host; a tunnel needs a remote peer" % peer)
        if local_ip is not None and ipaddress.ip_address(peer).version != ipaddress.ip_address(local_ip).version:
            raise TunnelError("remote_ips entry %s and local_ip %s are of different IP versions" % (peer, local_ip))
        peers.append(peer)
    tunnels = {}
    for peer in peers:
        tunnels[port_name(bridge, peer)] = dict(peer=peer, type=tunnel_type, options=tunnel_options(peer, key, local_ip))
    return peers, tunnels


def plan(current, desired, params):
    """The operations that take current to desired, as (operation, object, detail) tuples.

    current: {"bridge": {...} or None, "tunnels": {port: {peer, type, options, managed, bridge}}}
    desired: {"bridge": {name, datapath_type, stp, rstp, mtu}, "tunnels": {port: {peer, type, options}}}
    Only the options the user set are compared (None means "leave as it is").
    """
    ops = []
    want = desired["bridge"]
    have = current["bridge"]
    state = params["state"]
    if state == "present":
        if have is None:
            ops.append(Step("add-bridge", want["name"], {"datapath_type": want["datapath_type"]}))
            have = dict(name=want["name"], datapath_type=want["datapath_type"], stp=False, rstp=False, mtu=None)
        elif have["datapath_type"] != want["datapath_type"]:
            ops.append(Step("set-bridge", want["name"], {"datapath_type": want["datapath_type"]}))
        for column in ("stp", "rstp"):
            if want.get(column) is not None and bool(have.get(column)) != want[column]:
                ops.append(Step("set-bridge", want["name"], {column: want[column]}))
        if want.get("mtu") is not None and have.get("mtu") != want["mtu"]:
            ops.append(Step("set-mtu", want["name"], {"mtu_request": want["mtu"]}))
        for name, tunnel in sorted(desired["tunnels"].items()):
            existing = current["tunnels"].get(name)
            if existing is None:
                ops.append(Step("add-tunnel", name, tunnel))
                continue
            if not existing["managed"] or existing["bridge"] != want["name"]:
                raise TunnelError(
                    "port %s already exists (on bridge %s) and was not made by this module for this bridge; "
                    "remove it or choose another bridge name" % (name, existing["bridge"])
                )
            change = {}
            if existing["type"] != tunnel["type"]:
                change["type"] = tunnel["type"]
            if normalise_options(existing["options"]) != normalise_options(tunnel["options"]):
                change["options"] = tunnel["options"]
            if change:
                ops.append(Step("set-tunnel", name, change))
        if params.get("exclusive"):
            for name, tunnel in sorted(current["tunnels"].items()):
                if tunnel["managed"] and tunnel["bridge"] == want["name"] and name not in desired["tunnels"]:
                    ops.append(Step("del-tunnel", name, {"peer": tunnel["peer"]}))
    else:
        if have is None:
            return ops
        only = set(desired["tunnels"]) if params.get("remote_ips") else None
        for name, tunnel in sorted(current["tunnels"].items()):
            if tunnel["managed"] and tunnel["bridge"] == want["name"] and (only is None or name in only):
                ops.append(Step("del-tunnel", name, {"peer": tunnel["peer"]}))
        if params.get("remove_bridge"):
            ops.append(Step("del-bridge", want["name"], {}))
    return ops


def describe(op):
    """One operation as a line for the 'changes' result."""
    kind, name, detail = op
    underlay = _underlay.describe(op)
    if underlay:
        return underlay
    if kind in ("add-tunnel",):
        return "add tunnel port %s: type=%s %s" % (name, detail["type"], " ".join("options:%s=%s" % kv for kv in sorted(detail["options"].items())))
    if kind == "set-tunnel":
        parts = []
        if "type" in detail:
            parts.append("type=%s" % detail["type"])
        if "options" in detail:
            parts += ["options:%s=%s" % kv for kv in sorted(detail["options"].items())]
        return "set tunnel port %s: %s" % (name, " ".join(parts))
    if kind == "del-tunnel":
        return "delete tunnel port %s (peer %s)" % (name, detail["peer"])
    if kind == "add-bridge":
        return "add bridge %s: datapath_type=%s" % (name, detail["datapath_type"])
    if kind == "del-bridge":
        return "delete bridge %s" % name
    if kind == "attach":
        return "attach %s to Linux bridge %s" % (name, detail["master"])
    if kind == "remake-tunnels":
        return "re-create tunnel ports %s on %s (spanning tree turned off; Open vSwitch keeps old ports blocked)" % (
            " ".join(detail["names"]), name)
    return "set %s %s: %s" % ("interface" if kind == "set-mtu" else "bridge", name,
                              " ".join("%s=%s" % (k, str(v).lower() if isinstance(v, bool) else v) for k, v in sorted(detail.items())))


def state_after(current, ops, desired):
    """The state the operations lead to, for the diff (computed from the real before-state)."""
    bridge = dict(current["bridge"]) if current["bridge"] else None
    tunnels = {name: dict(t) for name, t in current["tunnels"].items() if t["managed"]}
    for kind, name, detail in ops:
        if kind == "add-bridge":
            bridge = dict(name=name, datapath_type=detail["datapath_type"], stp=False, rstp=False, mtu=None)
        elif kind == "set-bridge":
            bridge.update(detail)
        elif kind == "set-mtu":
            bridge["mtu"] = detail["mtu_request"]
        elif kind == "del-bridge":
            bridge = None
        elif kind == "add-tunnel":
            tunnels[name] = dict(detail, managed=True, bridge=desired["bridge"]["name"])
        elif kind == "set-tunnel":
            tunnels[name] = dict(tunnels[name], **detail)
        elif kind == "del-tunnel":
            tunnels.pop(name, None)
    if bridge is None:
        tunnels = {}
    return bridge, tunnels


def spanning_tree_turned_off(ops, before_bridge):
    """True when ops turn STP or RSTP off on a bridge that had it on."""
    if before_bridge is None:
        return False
    return any(kind == "set-bridge" and detail.get(column) is False and before_bridge.get(column)
               for kind, dummy, detail in ops for column in ("stp", "rstp"))
