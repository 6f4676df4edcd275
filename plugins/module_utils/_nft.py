# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's network policy as nftables tables, through nft's JSON interface (libnftables' structured form:
nothing is read from or written as rule text). Pure functions: render the wanted tables as one nft batch, and read
a listed table back into the same model, so that read, diff and apply compare like with like."""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.encompass.netlab.plugins.module_utils import _validate

# Where the policy hooks in. bridge/forward: frames a Linux bridge forwards between its ports (container to container
# on docker0 or a user's bridge, and what a tunnel port brings in). inet/forward: packets the host routes to a
# container (after Docker's DNAT of a published port). inet/input: packets to the host itself (a published port's
# docker-proxy). A drop in any base chain is final, so these chains only drop and never weaken another table's policy.
CHAINS = {"bridge": ("forward",), "inet": ("forward", "input")}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")
NAME_RULE = "the name must be letters, digits and _ . - (at most 41, starting with a letter or digit)"
COMMENT_PREFIX = "encompass.netlab "


def check_rules(rules):
    """The rules as the model: {name: {protocol: {"endpoints": sorted [(address, port)], "sources": sorted or None}}}."""
    model = {}
    for rule in rules:
        name = rule["name"]
        if not NAME.match(name):
            raise ValueError("policy rule %r: %s" % (name, NAME_RULE))
        if name in model:
            raise ValueError("policy rule %s is listed twice; list each service once" % name)
        sources = rule.get("sources")
        if sources is not None:
            sources = sorted({_address(name, "source", source) for source in sources}, key=_sort_key)
        by_protocol = {}
        for endpoint in rule.get("endpoints") or []:
            protocol = endpoint.get("protocol") or "tcp"
            if protocol not in ("tcp", "udp"):
                raise ValueError("policy rule %s: protocol %s is not tcp or udp" % (name, protocol))
            port = endpoint.get("port")
            if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
                raise ValueError("policy rule %s: port %r of %s is not a port number (1 to 65535)"
                                 % (name, port, endpoint.get("address")))
            by_protocol.setdefault(protocol, set()).add((_address(name, "endpoint", endpoint.get("address")), port))
        model[name] = {protocol: {"endpoints": sorted(points, key=lambda p: (_sort_key(p[0]), p[1])), "sources": sources}
                       for protocol, points in sorted(by_protocol.items())}
    return model


def _address(name, what, value):
    return str(_validate.ipv4_address(value, "policy rule %s: %s" % (name, what)))


def _sort_key(address):
    return int(ipaddress.IPv4Address(address))


def comment(name, protocol):
    return "%s%s %s" % (COMMENT_PREFIX, name, protocol)


def rule_expr(protocol, endpoints, sources):
    """One rule: to these (address, port) pairs, from anything but these sources, drop."""
    expr = [{"match": {"op": "==",
                       "left": {"concat": [{"payload": {"protocol": "ip", "field": "daddr"}},
                                           {"payload": {"protocol": protocol, "field": "dport"}}]},
                       "right": {"set": [{"concat": [address, port]} for address, port in endpoints]}}}]
    if sources:
        expr.append({"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                               "right": {"set": list(sources)}}})
    expr.append({"drop": None})
    return expr


def render(table, model, existing_families):
    """The nft batch that makes the tables exactly the model: in one transaction, so no packet ever meets a half-made
    policy. existing_families: those of the tables that exist now (flushed, not deleted, so their chains stay hooked)."""
    commands = []
    for family, chains in sorted(CHAINS.items()):
        commands.append({"add": {"table": {"family": family, "name": table}}})
        if family in existing_families:
            commands.append({"flush": {"table": {"family": family, "name": table}}})
        for chain in chains:
            commands.append({"add": {"chain": {"family": family, "table": table, "name": chain, "type": "filter",
                                               "hook": chain, "prio": 0, "policy": "accept"}}})
            for name, protocols in sorted(model.items()):
                for protocol, rule in sorted(protocols.items()):
                    commands.append({"add": {"rule": {"family": family, "table": table, "chain": chain,
                                                      "comment": comment(name, protocol),
                                                      "expr": rule_expr(protocol, rule["endpoints"], rule["sources"])}}})
    return {"nftables": commands}


def render_delete(table, existing_families):
    return {"nftables": [{"delete": {"table": {"family": family, "name": table}}} for family in sorted(existing_families)]}


def _elements(right):
    """The elements of a match's right side: nft lists a one-element set as the element itself."""
    if isinstance(right, dict) and "set" in right:
        return right["set"]
    return [right]


def parse_rule(expr):
    """(protocol, endpoints, sources) of a rule this module wrote, or None for any other rule."""
    endpoints, sources, protocol, verdict = None, [], None, False
    for item in expr:
        if "drop" in item and item is expr[-1]:
            verdict = True
            continue
        match = item.get("match")
        if not match:
            return None
        left = match.get("left") or {}
        if match.get("op") == "==" and "concat" in left:
            fields = left["concat"]
            if len(fields) != 2 or fields[0].get("payload") != {"protocol": "ip", "field": "daddr"}:
                return None
            protocol = (fields[1].get("payload") or {}).get("protocol")
            if (fields[1].get("payload") or {}).get("field") != "dport":
                return None
            endpoints = []
            for element in _elements(match.get("right")):
                pair = element.get("concat") if isinstance(element, dict) else None
                if not pair or len(pair) != 2:
                    return None
                endpoints.append((str(pair[0]), int(pair[1])))
        elif match.get("op") == "!=" and left.get("payload") == {"protocol": "ip", "field": "saddr"}:
            sources = [str(element) for element in _elements(match.get("right"))]
        else:
            return None
    if not verdict or endpoints is None or protocol not in ("tcp", "udp"):
        return None
    return protocol, sorted(endpoints, key=lambda p: (_sort_key(p[0]), p[1])), sorted(sources, key=_sort_key)


def read_tables(listing, table):
    """From `nft -j list ruleset` output: {family: {chain: [rule view, ...]}} of this table in each family it exists
    in. A rule view is {"name", "protocol", "endpoints", "sources"} or {"foreign": handle} for a rule not of this
    module (it is replaced by the next apply); a chain not of this module is listed with its rules as foreign."""
    out = {}
    for item in listing.get("nftables", []):
        if "table" in item and item["table"].get("name") == table:
            out.setdefault(item["table"]["family"], {})
        elif "chain" in item and item["chain"].get("table") == table:
            chain = item["chain"]
            hooked = chain.get("hook") == chain.get("name") and chain.get("type") == "filter" and chain.get("prio") == 0 \
                and chain.get("policy", "accept") == "accept"
            key = chain["name"] if hooked else "foreign:" + chain["name"]
            out.setdefault(chain["family"], {})[key] = []
        elif "rule" in item and item["rule"].get("table") == table:
            rule = item["rule"]
            chains = out.setdefault(rule["family"], {})
            chain = rule["chain"] if rule["chain"] in chains else "foreign:" + rule["chain"]
            parsed = parse_rule(rule.get("expr") or [])
            text = rule.get("comment") or ""
            if parsed is None or not text.startswith(COMMENT_PREFIX) or text.split()[-1] != parsed[0]:
                view = {"foreign": rule.get("handle")}
            else:
                view = dict(name=text[len(COMMENT_PREFIX):].rsplit(" ", 1)[0], protocol=parsed[0],
                            endpoints=["%s:%d" % point for point in parsed[1]], sources=parsed[2])
            chains.setdefault(chain, []).append(view)
    return out


def model_view(model):
    """The model as read_tables returns a table that holds it (the state check mode predicts)."""
    rules = [dict(name=name, protocol=protocol, endpoints=["%s:%d" % point for point in rule["endpoints"]],
                  sources=list(rule["sources"] or []))
             for name, protocols in sorted(model.items()) for protocol, rule in sorted(protocols.items())]
    return {family: {chain: [dict(rule) for rule in rules] for chain in chains} for family, chains in CHAINS.items()}


def current_sources(tables):
    """{(name, protocol): sources} of the rules found, for rules whose sources the input leaves to what is there."""
    out = {}
    for chains in tables.values():
        for rules in chains.values():
            for rule in rules:
                if "name" in rule:
                    out.setdefault((rule["name"], rule["protocol"]), rule["sources"])
    return out
