#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_link_env
short_description: Compute the variables Docker's legacy links inject, exactly, on any engine and across hosts
version_added: 0.1.0
description:
  - Computes the environment variables (C(DB_PORT_27017_TCP_ADDR), ...) and C(/etc/hosts) lines that
    C(docker run --link name:alias) gives the receiving container, from the source containers' real
    state read through the Docker API, exactly as the engine does.
  - Docker Engine 28 changed how these variables are computed, Engine 29 no longer injects them by
    default, and links never worked across hosts. Configuration written against the variables keeps
    working when they come from this module, with any engine and in every networking mode.
  - Without O(dest) the module only reads, and reports no change. With O(dest) it writes the variables
    to a file, idempotently, with check mode and diff support.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ACTIONGROUP
  - encompass.netlab.docker
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: With O(dest), the file's content and attributes.
  idempotent:
    support: full
options:
  links:
    description:
      - The links, as on the docker command line (V(MongoDB:db), or V(MongoDB) for an alias equal to the
        name) or as dicts with C(name) and C(alias) (the alias defaults to the name).
      - Each source container must exist and run; Docker refuses a link to anything else.
    type: list
    elements: raw
    required: true
  recipient:
    description:
      - The name of the container that receives the variables (C(ALIAS_NAME) is C(/recipient/alias)).
        It need not exist yet.
    type: str
    required: true
  algorithm:
    description:
      - V(v27) computes as Docker 27 and older do (the lowest port is C(ALIAS_PORT); ranges need three
        ports), V(v28) as Docker 28 and newer (TCP ports first; ranges of two ports of one protocol).
      - V(auto) picks by the daemon's version.
    type: str
    choices: [auto, v27, v28]
    default: auto
  addresses:
    description:
      - A map from alias to the IP address to use instead of the source container's address on the
        default bridge, for static addresses (M(encompass.netlab.veth_attach)) or containers reached
        across hosts.
    type: dict
    default: {}
  published:
    description:
      - Describe each port by the host address and the host port it is published on instead of the
        container's address and port, so that port-mapping mode produces the same variable names.
      - Only ports published on the host are included.
    type: bool
    default: false
  host_address:
    description:
      - The host address used with O(published=true) for ports published on all addresses
        (C(0.0.0.0) or C(::)). Ports published on one address use that address.
    type: str
  dest:
    description: Write the variables to this file. Without it nothing is written.
    type: path
  format:
    description:
      - V(env) writes C(KEY=VALUE) lines, as C(docker run --env-file) reads them. V(shell) writes
        C(export KEY='VALUE') lines for a shell to source (for example Tomcat's C(setenv.sh)).
    type: str
    choices: [env, shell]
    default: env
notes:
  - Variables from two links whose aliases give one prefix (V(my-db) and V(my_db)) would overwrite each
    other in an arbitrary order; the module refuses such links.
  - With V(v27), when two ports share the lowest number and neither is TCP (V(53/udp) and V(53/sctp)),
    Docker's choice between them is arbitrary; the module takes the protocol name's order.
seealso:
  - module: community.docker.docker_container
"""

EXAMPLES = r"""
- name: The variables Tomcat would get from --link MongoDB:db --link ElasticSearch:es
  encompass.netlab.docker_link_env:
    links: ["MongoDB:db", "ElasticSearch:es"]
    recipient: Tomcat
  register: links

- name: Build JAVA_OPTS from them, on any engine
  ansible.builtin.set_fact:
    tomcat_java_opts: >-
      -Des.node.hosts={{ links.env.ES_PORT_9200_TCP_ADDR }}
      -Ddb.encompass.hosts={{ links.env.DB_PORT_27017_TCP_ADDR }}:{{ links.env.DB_PORT_27017_TCP_PORT }}

- name: The same names for containers with static addresses, written for a shell to source
  encompass.netlab.docker_link_env:
    links:
      - {name: MongoDB, alias: db}
      - {name: ElasticSearch, alias: es}
    recipient: Tomcat
    addresses:
      db: 192.168.50.10
      es: 192.168.50.11
    dest: /srv/tomcat/links.sh
    format: shell
    mode: "0644"

- name: Port-mapping mode, described by the host's address and published ports
  encompass.netlab.docker_link_env:
    links: ["MongoDB:db"]
    recipient: Tomcat
    published: true
    host_address: 192.0.2.10
"""

RETURN = r"""
env:
  description: Every variable Docker would inject for these links, and nothing else.
  returned: success
  type: dict
  sample:
    DB_NAME: /Tomcat/db
    DB_PORT: tcp://172.17.0.3:27017
    DB_PORT_27017_TCP: tcp://172.17.0.3:27017
    DB_PORT_27017_TCP_ADDR: 172.17.0.3
    DB_PORT_27017_TCP_PORT: "27017"
    DB_PORT_27017_TCP_PROTO: tcp
hosts:
  description: The C(/etc/hosts) lines Docker would add (address, a tab, then alias, hostname and name).
  returned: success
  type: list
  elements: str
  sample: ["172.17.0.3\tdb 5f0c1e2d3a4b MongoDB"]
links:
  description: Each link as resolved.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The source container's name.
      type: str
    alias:
      description: The alias.
      type: str
    address:
      description: The address the variables carry.
      type: str
    ports:
      description: The ports, as C(NUMBER/PROTOCOL), in the order the algorithm sorts them.
      type: list
      elements: str
  sample:
    - {name: MongoDB, alias: db, address: 172.17.0.3, ports: [27017/tcp, 27018/tcp]}
algorithm:
  description: The algorithm used (V(v27) or V(v28)).
  returned: success
  type: str
  sample: v27
dest:
  description: The file written, when O(dest) is set.
  returned: when O(dest) is set
  type: str
  sample: /srv/tomcat/links.sh
changes:
  description: What was written, or in check mode what would be; empty without O(dest).
  returned: always
  type: list
  elements: str
  sample: ["write /srv/tomcat/links.sh"]
pending:
  description:
    - In check mode, what cannot be known before the real run, which this module then says instead of failing
      (a daemon that is not running yet, a container or bridge an earlier task of the run would make).
  returned: in check mode, when something is pending
  type: list
  elements: str
  sample: ["link MongoDB:db: container MongoDB does not run yet; its variables are known once it runs"]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils._converge import Step, Target
from ansible_collections.encompass.netlab.plugins.module_utils._docker import DOCKER_ARGUMENT_SPEC, DOCKER_IMPORT_ERROR, HAS_DOCKER, DockerAccess
from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError
from ansible_collections.encompass.netlab.plugins.module_utils._link_env import (
    LinkError,
    Port,
    algorithm_for,
    as_dict,
    check_prefixes,
    hosts_line,
    link_env,
    parse_link,
    parse_port,
    render,
    valid_address,
)

UNSPECIFIED = ("", "0.0.0.0", "::")


def bridge_address(info):
    network = ((info.get("NetworkSettings") or {}).get("Networks") or {}).get("bridge") or {}
    return network.get("IPAddress") or None


def resolve_ports(info, address, published, host_address, where):
    """The link's Port objects: the container's exposed ports, or with published=True its published ones."""
    exposed = sorted(((info.get("Config") or {}).get("ExposedPorts") or {}).keys())
    if not published:
        return [Port(num, proto, address) for num, proto in map(parse_port, exposed)]
    bindings = (info.get("NetworkSettings") or {}).get("Ports") or {}
    ports = []
    for spec in sorted(bindings):
        for binding in bindings[spec] or ():
            num, proto = parse_port(spec)
            addr = binding.get("HostIp") or ""
            if addr in UNSPECIFIED:
                if not host_address:
                    raise LinkError(
                        "%s: port %s is published on all host addresses; set host_address to the address the recipient should use" % (where, spec)
                    )
                addr = host_address
            ports.append(Port(num, proto, addr, int(binding["HostPort"])))
            break  # the first binding describes the port, as Docker lists them
    return ports


def resolve(params, docker, specs, notes=None):
    """The links' sources as Docker reports them. With notes (check mode), a source that does not run yet is
    left out and noted instead: an earlier task of the same run would start it."""
    addresses = {}
    for alias, value in (params["addresses"] or {}).items():
        try:
            addresses[alias] = valid_address(value)
        except LinkError as exc:
            raise LinkError("addresses.%s: %s" % (alias, exc)) from None
    host_address = valid_address(params["host_address"]) if params["host_address"] else None

    parsed = [parse_link(spec) for spec in specs]
    check_prefixes([alias for dummy_name, alias in parsed])
    unknown = sorted(set(addresses) - {alias for dummy_name, alias in parsed})
    if unknown:
        raise LinkError("addresses names aliases that no link has: %s" % ", ".join(unknown))

    resolved = []
    for name, alias in parsed:
        where = "link %s:%s" % (name, alias)
        info = docker.inspect_container(name)
        if notes is not None and not ((info or {}).get("State") or {}).get("Running"):
            notes.append("%s: container %s does not run yet; its variables are known once it runs" % (where, name))
            continue
        if info is None:
            raise LinkError("%s: no container named %s; create it first or fix the name" % (where, name))
        if not (info.get("State") or {}).get("Running"):
            raise LinkError("%s: container %s is not running, and Docker refuses a link to it; start it first" % (where, name))
        address = addresses.get(alias) or bridge_address(info)
        if not address and not params["published"]:
            raise LinkError(
                "%s: container %s has no IPv4 address on the default bridge; give one in addresses.%s" % (where, name, alias)
            )
        resolved.append(dict(
            name=info["Name"].lstrip("/"), alias=alias, address=address,
            ports=resolve_ports(info, address, params["published"], host_address, where),
            env=(info.get("Config") or {}).get("Env") or [], hostname=(info.get("Config") or {}).get("Hostname") or ""))
    return resolved


def read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except FileNotFoundError:
        return None


class LinkEnv(Target):
    """The link variables, read from the source containers; with dest, the file they are written to."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.dest = self.params["dest"]
        if not self.params["recipient"].strip("/"):
            raise InputError("recipient is empty; give the name of the container that receives the variables")
        if self.dest and not os.path.isdir(os.path.dirname(self.dest) or "."):
            raise InputError("dest %s: folder %s does not exist; create it first" % (self.dest, os.path.dirname(self.dest)))
        _converge.require(module, HAS_DOCKER, "docker (the Docker SDK for Python)", DOCKER_IMPORT_ERROR)
        self.docker = DockerAccess(self.params)
        self.notes = []

    def read(self):
        params = self.params
        self.algorithm = params["algorithm"] if params["algorithm"] != "auto" else algorithm_for(self.docker.version())
        self.notes = []
        self.links = resolve(params, self.docker, params["links"], self.notes if self.module.check_mode else None)
        pairs = []
        for link in self.links:
            pairs += link_env(params["recipient"], link["alias"], link["ports"], link["env"], self.algorithm)
        self.env = as_dict(pairs)
        self.content = render(self.env, params["format"]) if self.dest else None
        return dict(content=read_file(self.dest)) if self.dest else None

    def plan(self, before):
        if not self.dest:
            return []
        steps = [Step("write", self.dest, {})] if before["content"] != self.content else []
        if self.attributes_differ(before["content"] is not None):
            steps.append(Step("set-attributes", self.dest, {}))
        return steps

    def attributes_differ(self, exists):
        """Whether mode, owner or group differ from the file options (asked of Ansible in check mode)."""
        args = self.module.load_file_common_arguments(self.params, path=self.dest)
        if not exists:
            return any(args.get(key) is not None for key in ("mode", "owner", "group", "seuser", "serole", "setype", "selevel"))
        check_mode, self.module.check_mode = self.module.check_mode, True
        self.attributes = dict(before=dict(path=self.dest), after=dict(path=self.dest))
        try:
            return self.module.set_fs_attributes_if_different(args, False, diff=self.attributes)
        finally:
            self.module.check_mode = check_mode

    def predict(self, before, steps):
        return dict(content=self.content) if self.dest else None

    def apply(self, steps):
        for step in steps:
            _converge.dispatch(self, step)

    def do_write(self, step):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.dest) or ".", prefix=".%s." % os.path.basename(self.dest))
        with os.fdopen(fd, "wb") as handle:
            handle.write(to_bytes(self.content))
        self.module.atomic_move(tmp, self.dest)

    def do_set_attributes(self, step):
        self.module.set_fs_attributes_if_different(self.module.load_file_common_arguments(self.params, path=self.dest), False)

    def describe(self, step):
        return "%s %s" % ("write" if step.kind == "write" else "set mode, owner and group of", step.name)

    def view(self, state):
        return (state or {}).get("content") or ""

    def diff(self, before, after):
        """The file's content, then (when they differ) its attributes, as Ansible's file modules show them."""
        diffs = [dict(before=self.view(before), after=self.view(after), before_header=self.dest or "", after_header=self.dest or "")]
        attributes = getattr(self, "attributes", None)
        if attributes and attributes["before"] != attributes["after"]:
            diffs.append(attributes)
        return diffs

    def result(self, after):
        result = dict(
            env=self.env, algorithm=self.algorithm,
            hosts=[hosts_line(link["address"], link["alias"], link["hostname"], link["name"]) for link in self.links if link["address"]],
            links=[dict(name=link["name"], alias=link["alias"], address=link["address"],
                        ports=["%d/%s" % (p.num, p.proto) for p in link["ports"]]) for link in self.links])
        if self.dest:
            result["dest"] = self.dest
        return result

    def close(self):
        self.docker.close()


def main():
    argument_spec = dict(
        links=dict(type="list", elements="raw", required=True),
        recipient=dict(type="str", required=True),
        algorithm=dict(type="str", default="auto", choices=["auto", "v27", "v28"]),
        addresses=dict(type="dict", default={}),
        published=dict(type="bool", default=False),
        host_address=dict(type="str"),
        dest=dict(type="path"),
        format=dict(type="str", default="env", choices=["env", "shell"]),
        **DOCKER_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, add_file_common_args=True)
    _converge.run(module, LinkEnv)


if __name__ == "__main__":
    main()
