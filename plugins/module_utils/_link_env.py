# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The environment variables and /etc/hosts lines that Docker's legacy links inject (pure logic).

Reimplemented from the engine's behaviour (moby daemon/links) for two generations:

- ``v27`` (Docker <= 27, the lab's 20.10 included): ALIAS_PORT is the lowest port number, TCP first
  on a tie; ports are sorted by number (TCP first on a tie); a range needs three or more consecutive
  numbers, whatever their protocols, and repeats the first port's _ADDR and _PROTO.
- ``v28`` (Docker >= 28): ports are sorted TCP first, then by protocol name, then by number;
  ALIAS_PORT is the first of that order; a range is two or more consecutive numbers of one protocol.

Nothing here does I/O; the module feeds it what the Docker API reports.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError

ALGORITHMS = ("v27", "v28")
# Variables Docker leaves out of ALIAS_ENV_*: set by docker build, not relevant to a link.
SKIPPED_ENV = ("HOME", "PATH")
PORT_RE = re.compile(r"^(\d{1,5})(?:/([A-Za-z]+))?$")


class LinkError(InputError):
    """Input Docker would refuse, or for which its result would be arbitrary."""


class Port:
    """One exposed container port and the endpoint that describes it (address and port number)."""

    __slots__ = ("num", "proto", "addr", "value")

    def __init__(self, num, proto, addr, value=None):
        self.num = num
        self.proto = proto
        self.addr = addr
        self.value = num if value is None else value

    @property
    def url(self):
        return "%s://%s:%d" % (self.proto, self.addr, self.value)

    def __repr__(self):
        return "Port(%d/%s -> %s:%d)" % (self.num, self.proto, self.addr, self.value)


def parse_port(spec):
    """'27017/tcp' -> (27017, 'tcp'); a bare number is TCP, as in Docker."""
    match = PORT_RE.match(str(spec).strip())
    if not match or not 0 < int(match.group(1)) <= 65535:
        raise LinkError("%r is not a port (want NUMBER or NUMBER/PROTOCOL, 1 to 65535)" % (spec,))
    return int(match.group(1)), (match.group(2) or "tcp").lower()


def parse_link(spec):
    """A link as given on the command line ('name:alias', 'name') or as a dict -> (name, alias)."""
    if isinstance(spec, dict):
        unknown = set(spec) - {"name", "alias"}
        if unknown:
            raise LinkError("link %r: unknown keys %s (want name and alias)" % (spec, ", ".join(sorted(unknown))))
        name = spec.get("name")
        alias = spec.get("alias")
        if alias is None:
            alias = name
    elif isinstance(spec, str):
        parts = spec.split(":")
        if len(parts) > 2:
            raise LinkError("link %r: bad format, Docker rejects it (want name:alias)" % spec)
        name, alias = (parts[0], parts[-1])
    else:
        raise LinkError("link %r: want a 'name:alias' string or a dict with name and alias" % (spec,))
    if not isinstance(name, str) or not name.strip("/"):
        raise LinkError("link %r: the container name is empty" % (spec,))
    name = name.lstrip("/")
    validate_alias(alias, spec)
    return name, alias


def validate_alias(alias, spec=None):
    where = "link %r" % (spec if spec is not None else alias,)
    if not isinstance(alias, str) or not alias:
        raise LinkError("%s: the alias is empty; Docker ignores such a link" % where)
    if "/" in alias or ":" in alias:
        raise LinkError("%s: alias %r contains '/' or ':'; Docker rejects or rewrites it, use letters, digits, '_', '-', '.'" % (where, alias))
    if not re.match(r"^[A-Za-z0-9_.-]+$", alias):
        raise LinkError("%s: alias %r would make broken variable names (use letters, digits, '_', '-', '.')" % (where, alias))


def env_prefix(alias):
    """Docker's variable prefix for an alias: upper case, '-' becomes '_' ('.' is kept)."""
    return posixpath.basename(alias).upper().replace("-", "_")


def check_prefixes(aliases):
    """Two aliases with one prefix would overwrite each other's variables in an arbitrary order."""
    seen = {}
    for alias in aliases:
        prefix = env_prefix(alias)
        if prefix in seen:
            if seen[prefix] == alias:
                raise LinkError("alias %r is used by two links; give each link its own alias" % alias)
            raise LinkError(
                "aliases %r and %r both give the variable prefix %s_; Docker's result would be arbitrary, rename one"
                % (seen[prefix], alias, prefix)
            )
        seen[prefix] = alias


def _v27_order(port):
    # Number first, TCP first on a tie; other protocols on a tie by name (Go's sort leaves them arbitrary).
    return (port.num, port.proto != "tcp", port.proto)


def _v28_order(port):
    return (port.proto != "tcp", port.proto, port.num)


def _per_port(prefix, port):
    key = "%s_PORT_%d_%s" % (prefix, port.num, port.proto.upper())
    return [
        (key, port.url),
        (key + "_ADDR", port.addr),
        (key + "_PORT", str(port.value)),
        (key + "_PROTO", port.proto),
    ]


def _ports_v27(prefix, ports):
    ordered = sorted(ports, key=_v27_order)
    out = [("%s_PORT" % prefix, ordered[0].url)] if ordered else []
    i = 0
    while i < len(ordered):
        first = ordered[i]
        # The last index whose number continues the run (protocol is not looked at).
        j, value = i, first.num
        while j + 1 < len(ordered) and ordered[j + 1].num <= value + 1:
            j, value = j + 1, value + 1
        if j > i + 1:
            key = "%s_PORT_%d_%s" % (prefix, first.num, first.proto.upper())
            last = ordered[j]
            end_key = "%s_PORT_%d_%s" % (prefix, first.num, last.proto.upper())
            out += [
                (key + "_START", first.url),
                (key + "_ADDR", first.addr),
                (key + "_PROTO", first.proto),
                (key + "_PORT_START", str(first.value)),
                (end_key + "_END", last.url),
                (end_key + "_PORT_END", str(last.value)),
            ]
            i = j + 1
        else:
            i += 1
    for port in ordered:
        out += _per_port(prefix, port)
    return out


def _ports_v28(prefix, ports):
    ordered = sorted(ports, key=_v28_order)
    out = []
    start = end = None
    for i, port in enumerate(ordered):
        if i == 0:
            start = end = port
            out.append(("%s_PORT" % prefix, port.url))
        out += _per_port(prefix, port)
        if port.num == end.num + 1 and port.proto == start.proto:
            end = port
            if i < len(ordered) - 1:
                continue
        if end is not start:
            key = "%s_PORT_%d_%s" % (prefix, start.num, start.proto.upper())
            out += [
                (key + "_START", start.url),
                (key + "_PORT_START", str(start.value)),
                (key + "_END", end.url),
                (key + "_PORT_END", str(end.value)),
            ]
        start = end = port
    return out


def link_env(recipient, alias, ports, env, algorithm):
    """The variables one link injects, in Docker's order, as (name, value) pairs.

    recipient: the receiving container's name; alias: the link's alias; ports: Port objects;
    env: the source container's Config.Env ('KEY=VALUE' strings); algorithm: 'v27' or 'v28'.
    """
    if algorithm not in ALGORITHMS:
        raise LinkError("unknown algorithm %r (want %s)" % (algorithm, " or ".join(ALGORITHMS)))
    prefix = env_prefix(alias)
    out = (_ports_v27 if algorithm == "v27" else _ports_v28)(prefix, list(ports))
    out.append(("%s_NAME" % prefix, posixpath.join("/" + recipient.lstrip("/"), alias)))
    for item in env or ():
        key, sep, value = item.partition("=")
        if not sep or key in SKIPPED_ENV:
            continue
        out.append(("%s_ENV_%s" % (prefix, key), value))
    return out


def hosts_line(address, alias, hostname, name):
    """The /etc/hosts line a link adds: the alias, the source's hostname, and its name when it differs."""
    names = [alias, hostname]
    if alias != name:
        names.append(name)
    return "%s\t%s" % (address, " ".join(names))


def as_dict(pairs):
    """Docker passes duplicates (v27 ranges repeat _ADDR and _PROTO) with equal values; keep the first."""
    result = {}
    for key, value in pairs:
        if key in result and result[key] != value:
            raise LinkError("variable %s would get two values (%r, %r)" % (key, result[key], value))
        result.setdefault(key, value)
    return result


def algorithm_for(version):
    """Docker's version string ('20.10.24+dfsg1', '28.0.1') -> the link algorithm it uses."""
    match = re.match(r"^\s*v?(\d+)\.", str(version))
    if not match:
        raise LinkError("cannot tell the link algorithm from the Docker version %r; set algorithm" % (version,))
    return "v28" if int(match.group(1)) >= 28 else "v27"


def valid_address(value):
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise LinkError("%r is not an IP address" % (value,)) from None


SHELL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def render(env, fmt):
    """File content for the variables: 'env' (KEY=VALUE, as docker --env-file reads) or 'shell' (export)."""
    lines = []
    for key in sorted(env):
        value = env[key]
        if fmt == "env":
            if "\n" in value:
                raise LinkError("variable %s has a newline in its value; an env file cannot hold it, use format shell" % key)
            lines.append("%s=%s" % (key, value))
        else:
            if not SHELL_NAME.match(key):
                raise LinkError("variable %s is not a valid shell name (an alias with '.'?); use format env or rename the alias" % key)
            lines.append("export %s=%s" % (key, shell_quote(value)))
    return "".join(line + "\n" for line in lines)


def shell_quote(value):
    if value and re.match(r"^[A-Za-z0-9_@%+=:,./-]+$", value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"
