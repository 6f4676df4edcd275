# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The topology report's drawings (pure logic): the merged state of every host (netlab_info per host) and the
probe results, turned into one graph and written as Graphviz DOT or as a Mermaid flowchart.

Conventions: one cluster per host; bridges, OVS bridges, VXLAN devices and OVN logical switches as nodes;
container links labelled with interface, address, VLAN and MTU; tunnels as dashed host-to-host edges labelled
with type and key/VNI; every probe an edge coloured by its result (answered green, failed red)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

ANSWERED = "#2e7d32"
FAILED = "#c62828"
TUNNEL_TYPES = ("gre", "vxlan", "geneve", "stt")


def _address(cidr):
    return cidr.split("/")[0]


def _check(topology, name):
    if not isinstance(topology, dict) or not isinstance(topology.get("hosts"), dict):
        raise AnsibleFilterError("%s: want the topology report's data: a dict with 'hosts' (inventory name -> the result of"
                                 " encompass.netlab.netlab_info) and 'probes'" % name)


class Graph:
    """Nodes (id -> attributes), clusters (host -> node ids), edges (source, target, attributes)."""

    def __init__(self, topology):
        self.nodes, self.clusters, self.edges = {}, {}, []
        self.owner = {}  # an address -> the node that has it
        self.local = {}  # (host, address) -> the node of that host that has it (docker0 ranges repeat across hosts)
        self.tunnels = {}  # (the two ends, label) -> its edge: one edge per pair of hosts, however many sides list it
        hosts = topology["hosts"]
        for host in sorted(hosts):
            self._host(host, hosts[host] or {})
        for host in sorted(hosts):
            self._tunnels(host, hosts[host] or {})
        for (ends, dummy), edge in self.tunnels.items():
            # A tunnel that only one of two hosts of the report lists carries nothing: drawn as broken.
            peer = ends[1] if edge[0] == ends[0] else ends[0]
            if len(edge[2]["sides"]) == 1 and peer.split("/")[0] in hosts:
                edge[2].update(down=True, label="%s (only on %s)" % (edge[2]["label"], edge[0].split("/")[0]))
        for host in sorted(hosts):
            self._ovn(hosts[host] or {})
        for probe in topology.get("probes") or []:
            self._probe(probe)

    def node(self, node_id, label, kind, host=None):
        if node_id not in self.nodes:
            self.nodes[node_id] = dict(label=label, kind=kind)
            if host is not None:
                self.clusters.setdefault(host, []).append(node_id)
        return node_id

    def _host(self, host, info):
        anchor = self.node("%s" % host, "%s\n%s" % (host, ", ".join(
            _address(a) for i in info.get("host_interfaces", []) for a in i["addresses"] if ":" not in a) or "-"), "host", host)
        for iface in info.get("host_interfaces", []):
            for cidr in iface["addresses"]:
                self.owner.setdefault(_address(cidr), anchor)
        for bridge in info.get("linux_bridges", []):
            node = self.node("%s/%s" % (host, bridge["name"]), "%s\n%s" % (bridge["name"], ", ".join(bridge["addresses"]) or "bridge"),
                             "bridge", host)
            for cidr in bridge["addresses"]:
                self.owner.setdefault(_address(cidr), node)
        for bridge in (info.get("ovs") or {}).get("bridges", []):
            self.node("%s/%s" % (host, bridge["name"]), "%s\nOVS %s" % (bridge["name"], bridge["datapath_type"]), "ovs", host)
        # Every OVS interface: (its bridge, its port's VLAN tag).
        on_ovs = {iface["name"]: (bridge["name"], port["tag"]) for bridge in (info.get("ovs") or {}).get("bridges", [])
                  for port in bridge["ports"] for iface in port["interfaces"]}
        for bridge in info.get("linux_bridges", []):
            for port in bridge["ports"]:
                if port in on_ovs:  # an OVS bridge's internal interface joined to a Linux bridge (docker0)
                    self.edges.append(("%s/%s" % (host, bridge["name"]), "%s/%s" % (host, on_ovs[port][0]),
                                       dict(kind="link", label="port %s" % port, down=False)))
        for container in info.get("containers", []):
            node = self.node("%s/%s" % (host, container["name"]), "%s\n%s" % (container["name"], container["state"]), "container", host)
            for iface in container.get("interfaces", []):
                for cidr in iface["addresses"]:
                    self.owner[_address(cidr)] = node
                    self.local[(host, _address(cidr))] = node
                if not iface.get("attached_to"):
                    continue
                label = [iface["name"]] + iface["addresses"][:1]
                tag = on_ovs.get(iface.get("host_peer"), (None, None))[1]
                if tag is not None:
                    label.append("VLAN %s" % tag)
                label.append("MTU %s" % iface["mtu"])
                target = "%s/%s" % (host, iface["attached_to"])
                if target not in self.nodes:
                    self.node(target, iface["attached_to"], "interface", host)
                self.edges.append((node, target, dict(kind="link", label=" ".join(label), down=not iface["up"])))
        for device in info.get("vxlan", []):
            node = self.node("%s/%s" % (host, device["name"]), "%s\nVXLAN %s" % (device["name"], device["vni"]), "vxlan", host)
            if device.get("master"):
                self.edges.append((node, "%s/%s" % (host, device["master"]), dict(kind="link", label="port", down=False)))

    def _remote_host(self, address):
        found = self.owner.get(address)
        return found.split("/")[0] if found else None

    def _tunnel(self, src, dst, label):
        pair = (tuple(sorted((src, dst))), label)
        if pair not in self.tunnels:
            self.tunnels[pair] = (src, dst, dict(kind="tunnel", label=label, down=False, sides=set()))
            self.edges.append(self.tunnels[pair])
        self.tunnels[pair][2]["sides"].add(src)

    def _tunnels(self, host, info):
        for bridge in (info.get("ovs") or {}).get("bridges", []):
            for port in bridge["ports"]:
                for iface in port["interfaces"]:
                    if iface["type"] not in TUNNEL_TYPES or "remote_ip" not in iface["options"]:
                        continue
                    remote = iface["options"]["remote_ip"]
                    peer = self._remote_host(remote)
                    key = iface["options"].get("key")
                    label = "%s%s" % (iface["type"], " key %s" % key if key and key != "flow" else "")
                    target = "%s/%s" % (peer, bridge["name"]) if peer and "%s/%s" % (peer, bridge["name"]) in self.nodes else \
                        (peer or self.node("remote/%s" % remote, remote, "address"))
                    self._tunnel("%s/%s" % (host, bridge["name"]), target, label)
        for device in info.get("vxlan", []):
            for remote in device.get("peers", []):
                peer = self._remote_host(remote)
                twin = "%s/%s" % (peer, device["name"]) if peer else None
                target = twin if twin in self.nodes else (peer or self.node("remote/%s" % remote, remote, "address"))
                self._tunnel("%s/%s" % (host, device["name"]), target, "vxlan VNI %s" % device["vni"])

    def _ovn(self, info):
        for switch in (info.get("ovn") or {}).get("switches", []):
            node = self.node("ovn/%s" % switch["name"], "%s\nOVN logical switch %s" % (switch["name"], switch["subnet"] or ""), "switch")
            for port in switch["ports"]:
                if port["chassis"] and "%s/br-int" % port["chassis"] in self.nodes:
                    edge = ("%s/br-int" % port["chassis"], node, dict(kind="logical", label="", down=False))
                    if edge not in self.edges:
                        self.edges.append(edge)

    def _probe(self, probe):
        source = probe.get("from") or {}
        src = "%s/%s" % (source.get("host"), source["container"]) if source.get("container") else str(source.get("host"))
        if src not in self.nodes:
            src = self.node(src, src, "address")
        target = probe.get("to") or {}
        address = target.get("address") or ""
        named = "%s/%s" % (target.get("host"), target.get("container"))
        # The container the probe names, else the one with the address on the probe's own host, else anywhere.
        dst = (named if named in self.nodes else None) or self.local.get((source.get("host"), address)) \
            or self.owner.get(address) or self.node("address/%s" % address, address, "address")
        label = "%s %s%s" % (probe.get("kind", "probe"), address, ":%s" % target["port"] if target.get("port") else "")
        answered = probe.get("answered") in (True, "True", "true")
        for edge in self.edges:  # probes of one path with one result share an edge (one label line each)
            if edge[:2] == (src, dst) and edge[2]["kind"] == "probe" and edge[2]["answered"] == answered:
                edge[2]["label"] += "\n" + label
                return
        self.edges.append((src, dst, dict(kind="probe", label=label, answered=answered)))


def _with_result(attrs):
    result = "answered" if attrs["answered"] else "FAILED"
    return "\n".join("%s %s" % (line, result) for line in attrs["label"].split("\n"))


def _dot_quote(text):
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


SHAPES = {"host": "box3d", "bridge": "box", "ovs": "box", "vxlan": "cds", "container": "component", "switch": "hexagon",
          "interface": "box", "address": "plaintext"}


def topology_dot(topology):
    """The topology as a Graphviz digraph; every identifier quoted."""
    _check(topology, "topology_dot")
    graph = Graph(topology)
    lines = ["digraph %s {" % _dot_quote("encompass.netlab topology"),
             '  graph [rankdir=LR, newrank=true, fontname="Helvetica", compound=true, label=%s];' % _dot_quote(
                 "encompass.netlab: %s mode" % topology.get("mode", "?")),
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']

    def node_line(node_id, indent):
        attrs = graph.nodes[node_id]
        style = ', style=filled, fillcolor="#e3f2fd"' if attrs["kind"] == "container" else ""
        return "%s%s [label=%s, shape=%s%s];" % (indent, _dot_quote(node_id), _dot_quote(attrs["label"]), SHAPES[attrs["kind"]], style)

    clustered = set()
    for host in sorted(graph.clusters):
        lines.append("  subgraph %s {" % _dot_quote("cluster_%s" % host))
        lines.append("    label=%s; style=rounded;" % _dot_quote(host))
        for node_id in graph.clusters[host]:
            lines.append(node_line(node_id, "    "))
            clustered.add(node_id)
        lines.append("  }")
    lines += [node_line(node_id, "  ") for node_id in graph.nodes if node_id not in clustered]
    for src, dst, attrs in graph.edges:
        if attrs["kind"] == "probe":
            color = ANSWERED if attrs["answered"] else FAILED
            extra = "color=%s, fontcolor=%s, penwidth=2, constraint=false, class=%s" % (
                _dot_quote(color), _dot_quote(color), _dot_quote("probe-answered" if attrs["answered"] else "probe-failed"))
            label = _with_result(attrs)
        elif attrs["kind"] == "tunnel":
            extra, label = "style=dashed, dir=none" + (', color="#c62828", fontcolor="#c62828"' if attrs["down"] else ""), attrs["label"]
        elif attrs["kind"] == "logical":
            extra, label = "style=dotted, dir=none", attrs["label"]
        else:
            extra = "dir=none" + (', color="#c62828", style=dotted' if attrs["down"] else "")
            label = attrs["label"] + (" (down)" if attrs["down"] else "")
        lines.append("  %s -> %s [label=%s, %s];" % (_dot_quote(src), _dot_quote(dst), _dot_quote(label), extra))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text):
    return '"%s"' % str(text).replace('"', "#quot;").replace("\n", "<br/>")


def topology_mermaid(topology):
    """The topology as a Mermaid flowchart (for a README or a pull request); node ids are generated, labels quoted."""
    _check(topology, "topology_mermaid")
    graph = Graph(topology)
    ids = {node_id: "n%d" % number for number, node_id in enumerate(graph.nodes)}
    lines = ["flowchart LR"]
    clustered = set()
    for number, host in enumerate(sorted(graph.clusters)):
        lines.append("  subgraph h%d[%s]" % (number, _mermaid_text(host)))
        for node_id in graph.clusters[host]:
            lines.append("    %s[%s]" % (ids[node_id], _mermaid_text(graph.nodes[node_id]["label"])))
            clustered.add(node_id)
        lines.append("  end")
    lines += ["  %s{{%s}}" % (ids[n], _mermaid_text(graph.nodes[n]["label"])) for n in graph.nodes if n not in clustered]
    styles = []
    for number, (src, dst, attrs) in enumerate(graph.edges):
        if attrs["kind"] == "probe":
            lines.append("  %s ==>|%s| %s" % (ids[src], _mermaid_text(_with_result(attrs)), ids[dst]))
            styles.append("  linkStyle %d stroke:%s,stroke-width:2px" % (number, ANSWERED if attrs["answered"] else FAILED))
        elif attrs["kind"] in ("tunnel", "logical"):
            lines.append("  %s -.-|%s| %s" % (ids[src], _mermaid_text(attrs["label"] or "port"), ids[dst]))
        else:
            lines.append("  %s ---|%s| %s" % (ids[src], _mermaid_text(attrs["label"] + (" (down)" if attrs["down"] else "")), ids[dst]))
    return "\n".join(lines + styles) + "\n"


def topology_summary(topology):
    """The probe results as counts and the failed paths, for the report's Markdown and the play's last check."""
    _check(topology, "topology_summary")
    probes = topology.get("probes") or []
    failed = [p for p in probes if p.get("answered") not in (True, "True", "true")]
    return dict(probes=len(probes), answered=len(probes) - len(failed), failed=[
        "%s %s@%s -> %s%s" % (p.get("kind"), (p.get("from") or {}).get("container") or "host", (p.get("from") or {}).get("host"),
                              (p.get("to") or {}).get("address"), ":%s" % p["to"]["port"] if (p.get("to") or {}).get("port") else "")
        for p in failed])


def mesh_endpoints(host, placement, containers, planned, running):
    """The containers of host on the segment, each {host, name, address}.

    With planned addresses (planned: container name -> CIDR), the stack's containers the plan places on host
    (placement: service -> host; containers: service -> container name), in the plan's order, at their planned
    address. Without (Docker assigns them on docker0): every running container (running: docker_host_info's
    verbose containers) at its default-bridge address ('' when it has none).
    """
    if not isinstance(host, str) or not isinstance(placement, dict) or not isinstance(containers, dict) \
            or not isinstance(planned, dict) or not isinstance(running, list):
        raise AnsibleFilterError("mesh_endpoints: give a host name, the placement and container names (dicts), the"
                                 " planned addresses (a dict) and the running containers (a list)")
    if planned:
        out = []
        for service, placed in placement.items():
            if placed != host:
                continue
            name = containers.get(service)
            if name is None or name not in planned:
                raise AnsibleFilterError("mesh_endpoints: the plan places %s on %s but gives %s no address; the mode's"
                                         " plan must address every container it places" % (service, host, name or service))
            out.append({"host": host, "name": name, "address": str(planned[name]).split("/", 1)[0]})
        return out
    out = []
    for item in running:
        names = item.get("Names") or [""]
        networks = (item.get("NetworkSettings") or {}).get("Networks") or {}
        address = (networks.get("bridge") or {}).get("IPAddress") or ""
        out.append({"host": host, "name": names[0].lstrip("/"), "address": address})
    return out


class FilterModule:
    def filters(self):
        return {"mesh_endpoints": mesh_endpoints, "topology_dot": topology_dot, "topology_mermaid": topology_mermaid, "topology_summary": topology_summary}
