# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stack's services as data, and the containers Tomcat is linked to, computed once for every mode (pure logic)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.module_utils._link_env import env_prefix

SERVICE_KEYS = ("container", "image", "env", "ports", "alias", "properties", "sources")
PROPERTY_FORMS = ("address:port", "address")
# What service_replicas adds to each instance: the service it is a replica of, its number (1 is the service's own
# container) and its slot (the position its static address is numbered by).
INSTANCE_KEYS = ("replica_of", "replica", "slot")
VIEWS = ("aliases", "containers", "images", "policy", "properties", "ports", "run", "slots")
# Replica k (k > 1) of a service publishes each port on port + PORT_STEP * (k - 1) in portmap mode (one host).
PORT_STEP = 1000
# Docker's rule for a container name.
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _fail(message):
    raise AnsibleFilterError("stack_services: %s. Nothing was changed." % message)


def _check_services(services, containers):
    """Raise on anything service_view cannot read; return nothing."""
    if not isinstance(services, dict) or not services:
        _fail("want a dict of service to its definition (%s), got %r" % (", ".join(SERVICE_KEYS), services))
    if containers is not None and sorted(containers) != sorted(services):
        _fail("defines %s, but the stack's containers are %s; define each once"
              % (", ".join(services), ", ".join(containers)))
    aliases = {}
    names = {}
    for service, spec in services.items():
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            _fail("%s: want a dict with %s, got %r" % (service, ", ".join(SERVICE_KEYS), spec))
        unknown = sorted(set(spec) - set(SERVICE_KEYS) - set(INSTANCE_KEYS))
        if unknown:
            _fail("%s: unknown key %s (a service has %s)" % (service, ", ".join(unknown), ", ".join(SERVICE_KEYS)))
        ports = spec.get("ports", [])
        bad_port = [p for p in ports if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535] \
            if isinstance(ports, list) else [ports]
        if bad_port or len(set(ports)) != len(ports):
            _fail("%s: ports want a list of distinct TCP ports 1 to 65535, got %r" % (service, ports))
        alias = spec.get("alias")
        if alias is not None:
            if not isinstance(alias, str) or not alias:
                _fail("%s: alias wants a link alias of its own, got %r" % (service, alias))
            if env_prefix(alias) in aliases:
                _fail("%s: alias wants a link alias of its own, got %r (%s has it)" % (service, alias, aliases[env_prefix(alias)]))
            aliases[env_prefix(alias)] = service
        sources = spec.get("sources", [])
        if not isinstance(sources, list) or [s for s in sources if s not in services]:
            _fail("%s: sources want a list of the stack's services (%s), got %r" % (service, ", ".join(services), sources))
        properties = spec.get("properties", [])
        if not isinstance(properties, list):
            _fail("%s: properties want a list of {name, port, form}, got %r" % (service, properties))
        for prop in properties:
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str) or not prop["name"] \
                    or prop.get("port") not in ports or prop.get("form", "address:port") not in PROPERTY_FORMS \
                    or set(prop) - {"name", "port", "form"}:
                _fail("%s: a property wants a name, one of the service's ports (%s) and a form (%s), got %r"
                      % (service, ", ".join(str(p) for p in ports) or "none", " or ".join(PROPERTY_FORMS), prop))
            if alias is None:
                _fail("%s: property %s needs the service's alias (its link variables' prefix)" % (service, prop["name"]))
        name = spec.get("container")
        if not isinstance(name, str) or not CONTAINER_NAME.match(name):
            _fail("%s: container wants a container name of letters, digits and _ . - (starting with a letter or digit),"
                  " got %r" % (service, name))
        if name in names:
            _fail("%s: container wants a name of its own, got %r (%s has it)" % (service, name, names[name]))
        names[name] = service
        image = spec.get("image")
        if not isinstance(image, str) or not image.strip():
            _fail("%s: image wants the image's name (a stand-in the images role builds, or one to pull), got %r"
                  % (service, image))
        env = spec.get("env", {})
        if not isinstance(env, dict) or [k for k, v in env.items() if not isinstance(k, str) or not k
                                         or isinstance(v, (dict, list, bool)) or v is None]:
            _fail("%s: env wants a dict of variable name to a string (quote true, false and yes, as Docker wants), got %r"
                  % (service, env))


def service_view(services, view, containers=None):
    """One view of the stack's service definitions (stack_services), checked whole first.

    aliases: service -> link alias, for the services that have one (the sources Tomcat is linked to).
    containers: service -> container name (stack_containers), in the definition's order.
    images: service -> image (stack_images).
    policy: service -> {ports, sources}, for the services that name sources (stack_policy_services).
    properties: [{name, service, port, form, address_variable, port_variable}], Tomcat's JAVA_OPTS properties in the
      definition's order, with the link variables each is made from (ES_PORT_9200_TCP_ADDR, ..._PORT).
    ports: service -> {container port: host port}, the same number (net_portmap_ports).
    run: service -> {container, image, env}, what its container runs with (the service role).
    containers: service -> container name; when given, it must name the same services.
    """
    if view not in VIEWS:
        _fail("no view %r (the views are %s)" % (view, ", ".join(VIEWS)))
    _check_services(services, containers)
    specs = {service: spec or {} for service, spec in services.items()}
    if view == "aliases":
        return {service: spec["alias"] for service, spec in specs.items() if spec.get("alias") is not None}
    if view == "policy":
        return {service: {"ports": list(spec.get("ports", [])), "sources": list(spec["sources"])}
                for service, spec in specs.items() if spec.get("sources")}
    if view == "ports":
        out = {}
        taken = {}
        for service, spec in specs.items():
            step = PORT_STEP * (int(spec.get("replica", 1)) - 1)
            out[service] = {}
            for port in spec.get("ports", []):
                if port + step > 65535 or port + step in taken:
                    _fail("%s: its port %d would be published on %d, %s; give its host ports in net_portmap_ports"
                          % (service, port, port + step, "past 65535" if port + step > 65535
                             else "which %s has" % taken[port + step]))
                taken[port + step] = service
                out[service][str(port)] = port + step
        return out
    if view == "slots":
        return {service: int(spec.get("slot", position)) for position, (service, spec) in enumerate(specs.items())}
    if view == "containers":
        return {service: spec["container"] for service, spec in specs.items()}
    if view == "images":
        return {service: spec["image"] for service, spec in specs.items()}
    if view == "run":
        return {service: {"container": spec["container"], "image": spec["image"],
                          "env": {str(k): str(v) for k, v in spec.get("env", {}).items()}}
                for service, spec in specs.items()}
    # One entry a property, its endpoints every container that feeds it (a service and its replicas), in order.
    out = {}
    for service, spec in specs.items():
        for prop in spec.get("properties", []):
            prefix = "%s_PORT_%d_TCP" % (env_prefix(spec["alias"]), prop["port"])
            endpoint = {"service": service, "address_variable": prefix + "_ADDR", "port_variable": prefix + "_PORT"}
            owner = spec.get("replica_of", service)
            entry = out.setdefault(prop["name"], {"name": prop["name"], "service": owner, "port": prop["port"],
                                                  "form": prop.get("form", "address:port"), "endpoints": []})
            if entry["service"] != owner:
                _fail("%s: property %s is %s's already; give it a name of its own" % (service, prop["name"], entry["service"]))
            entry["endpoints"].append(endpoint)
    return list(out.values())


def service_replicas(services, replicas=None):
    """The stack's containers: each service of stack_services, then each replica stack_replicas asks for.

    services: service -> its definition (stack_services).
    replicas: service -> how many containers run it (default 1 each; a partial dict is enough).
    Returns service_view's input, in the definition's order and then the replicas: replica k (k > 1) of service S is
    the entry S-k, its container <container>-k, its alias <alias>-k (its link variables DB_2_PORT_...), the same image,
    env, ports and properties (Tomcat lists every replica), and every source's replicas among its sources. Each entry
    gains replica_of (S), replica (k) and slot (S's position + k - 1 times the number of services): the position its
    static address is numbered by, so that adding a replica moves no other container's address.
    """
    if not isinstance(services, dict) or not services:
        _fail("want a dict of service to its definition (%s), got %r" % (", ".join(SERVICE_KEYS), services))
    replicas = {} if replicas in (None, "") else replicas
    if not isinstance(replicas, dict):
        raise AnsibleFilterError("stack_replicas: want a dict of service to a count of containers (1 or more), got %r."
                                 " Nothing was changed." % (replicas,))
    bad = sorted("%s: %r" % (s, n) for s, n in replicas.items()
                 if s not in services or isinstance(n, bool) or not isinstance(n, int) or n < 1)
    if bad:
        raise AnsibleFilterError("stack_replicas: want a count of containers (1 or more) for services of stack_services"
                                 " (%s), got %s. Nothing was changed." % (", ".join(services), "; ".join(bad)))
    if replicas.get("tomcat", 1) > 1:
        raise AnsibleFilterError("stack_replicas: tomcat runs one container (replicas of the services it reaches are"
                                 " supported; of Tomcat itself not yet), got %r. Nothing was changed." % replicas["tomcat"])
    counts = {service: int(replicas.get(service, 1)) for service in services}
    specs = {}
    for position, (service, spec) in enumerate(services.items()):
        spec = dict(spec or {})
        given = sorted(set(spec) & set(INSTANCE_KEYS))
        if given:
            _fail("%s: %s are the collection's (service_replicas sets them; the count goes in stack_replicas)"
                  % (service, ", ".join(given)))
        spec.update(replica_of=service, replica=1, slot=position)
        specs[service] = spec
    _check_services(specs, None)

    def name(service, k):
        return service if k == 1 else "%s-%d" % (service, k)

    out = dict(specs)
    for k in range(2, max(counts.values()) + 1):
        for position, (service, spec) in enumerate(specs.items()):
            if counts[service] < k:
                continue
            key = name(service, k)
            if key in services:
                _fail("%s: its replica %d would be %s, a service of its own; rename that service" % (service, k, key))
            replica = dict(spec, container="%s-%d" % (spec["container"], k), replica=k,
                           slot=position + len(specs) * (k - 1))
            if spec.get("alias") is not None:
                replica["alias"] = "%s-%d" % (spec["alias"], k)
            out[key] = replica
    for key, spec in out.items():
        if spec.get("sources"):
            spec["sources"] = [name(source, k) for source in spec["sources"] for k in range(1, counts[source] + 1)]
    _check_services(out, None)
    return out


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
        return {"link_sources": link_sources, "service_replicas": service_replicas, "service_view": service_view}
