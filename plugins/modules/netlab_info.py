#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: netlab_info
short_description: Read a Docker host's container wiring in one call (containers, bridges, OVS, VXLAN, OVN)
version_added: 0.1.0
description:
  - Reads, from the live system and never changing it, everything a picture of the host's wiring needs, in one
    task instead of one C(docker inspect), C(ip) or C(ovs-vsctl) command per object.
  - Containers (name, image, state) with every interface inside their network namespace (kind, address, MAC,
    MTU, up) and where it leads on the host (the veth peer and the bridge it is a port of, or a macvlan's parent).
  - Linux bridges with their ports and addresses; Open vSwitch bridges (datapath type) with their ports, VLAN tags
    and interfaces (type, tunnel remote and key, OVN C(iface-id)); kernel VXLAN devices with their VNI and peers;
    the Docker bridge network's subnet, range and gateway; this host's OVN chassis settings.
  - Where the OVN databases answer on this host (the central host), the logical switches, their ports (addresses,
    up) and the chassis each port is bound to.
  - Every list is sorted and no counter, process ID or timer is returned, so two reads of an unchanged host
    return the same data.
author:
  - encompass.netlab maintainers (@encompass)
extends_documentation_fragment:
  - encompass.netlab.attributes
  - encompass.netlab.attributes.ACTIONGROUP
  - encompass.netlab.attributes.READ_ONLY
  - encompass.netlab.docker
options:
  containers:
    description: Only these containers (names); all containers of the host when empty.
    type: list
    elements: str
    default: []
  ovsdb:
    description: The Open vSwitch database. Left out of the result (RV(ovs=null)) when its socket does not exist.
    type: str
    default: unix:/var/run/openvswitch/db.sock
  ovn_nb:
    description: The OVN northbound database. Read only when it is a V(unix:) socket that exists, or any other remote.
    type: str
    default: unix:/var/run/ovn/ovnnb_db.sock
  ovn_sb:
    description: The OVN southbound database (the chassis of each port). Read as O(ovn_nb) is.
    type: str
    default: unix:/var/run/ovn/ovnsb_db.sock
  ovsdb_timeout:
    description: Seconds to wait for each OVSDB server that is read.
    type: int
    default: 10
  fingerprint:
    description:
      - Also return RV(fingerprint), digests of everything on the host a run of this collection manages or depends
        on, so that a later read tells whether anything changed since (site.yml compares them to skip a run on a host
        that is as the last run left it).
      - Besides the wiring this module returns, it covers the containers' IDs, configurations and start times, the
        images, the routes on the host and inside the containers, which daemons run (process IDs and start times,
        so a restart counts as a change), the host's boot, the rest of the Open vSwitch and OVN configuration
        (bridge, port and interface settings, ACLs, connections), the nftables ruleset (without counters) and the
        files and folders in O(fingerprint_paths).
    type: bool
    default: false
  fingerprint_paths:
    description:
      - Files and folders (read recursively; symbolic links are not followed) whose contents RV(fingerprint) covers.
        One that does not exist counts as absent.
    type: list
    elements: path
    default: []
requirements:
  - pyroute2
  - ovs (python-ovs), where Open vSwitch or OVN is read
  - docker (Docker SDK for Python)
notes:
  - Needs root (it enters the containers' network namespaces to read their interfaces).
  - A Docker daemon whose socket does not exist gives RV(containers=[]) and a note in RV(notes); one that exists but
    does not answer fails the task.
seealso:
  - module: encompass.netlab.veth_attach
  - module: encompass.netlab.ovs_gre_tunnel
  - module: encompass.netlab.kernel_vxlan
  - module: encompass.netlab.ovn_switch
"""

EXAMPLES = r"""
- name: Read the wiring of every host
  encompass.netlab.netlab_info:
  register: wiring

- name: Show where Tomcat's interfaces lead
  ansible.builtin.debug:
    msg: "{{ wiring.containers | selectattr('name', 'eq', 'Tomcat') | map(attribute='interfaces') | first }}"

- name: Only the stack's containers
  encompass.netlab.netlab_info:
    containers: [MongoDB, ElasticSearch, Tomcat]
"""

RETURN = r"""
containers:
  description: The containers, by name, each with its interfaces inside its network namespace.
  returned: always
  type: list
  elements: dict
  sample:
    - name: MongoDB
      image: encompass/mongodb:latest
      state: running
      interfaces:
        - {name: eth0, kind: veth, mac: "02:42:ac:11:00:02", mtu: 1500, up: true, addresses: [172.17.0.2/16],
           host_peer: veth3f2a1b0, attached_to: docker0, attached_kind: linux_bridge}
        - {name: eth1, kind: veth, mac: "7a:1c:00:00:00:0b", mtu: 1500, up: true, addresses: [192.168.242.11/24],
           host_peer: nlve2a41c0d, attached_to: br-stack, attached_kind: ovs_bridge}
host_interfaces:
  description:
    - The host's own interfaces with their addresses, including Open vSwitch's internal ones (the underlay address
      may live on one); not bridges, VXLAN devices, or the host ends of container veths.
  returned: always
  type: list
  elements: dict
  sample: [{name: eth0, kind: veth, mac: "02:42:0a:63:00:0b", mtu: 1500, up: true, addresses: [10.99.0.11/24]}]
linux_bridges:
  description: Linux bridges with their ports, MTU and addresses.
  returned: always
  type: list
  elements: dict
  sample: [{name: docker0, mtu: 1500, up: true, addresses: [172.17.0.1/16], ports: [veth3f2a1b0]}]
vxlan:
  description: Kernel VXLAN devices with their VNI, local address, UDP port, head-end replication peers and master.
  returned: always
  type: list
  elements: dict
  sample: [{name: nlvx42, vni: 42, local_ip: 10.99.0.11, port: 4789, peers: [10.99.0.12], master: docker0, mtu: 1450}]
docker:
  description: The Docker bridge network (docker0) as Docker sees it; null without a Docker daemon.
  returned: always
  type: dict
  sample: {bridge: docker0, subnet: 172.17.0.0/16, ip_range: 172.17.0.128/25, gateway: 172.17.0.1}
ovs:
  description: Open vSwitch bridges, ports (VLAN tag) and interfaces (type, options such as remote_ip and key, the OVN
    iface-id), and the OVN settings of this host's Open_vSwitch row; null when Open vSwitch does not run here.
  returned: always
  type: dict
  sample:
    ovn: {system-id: docker1, ovn-encap-type: geneve, ovn-encap-ip: 10.99.0.11, ovn-remote: "tcp:10.99.0.11:6642"}
    bridges:
      - name: br0
        datapath_type: netdev
        ports:
          - {name: gre-docker2, tag: null, interfaces: [{name: gre-docker2, type: gre, options: {remote_ip: 10.99.0.12}}]}
ovn:
  description: The OVN logical switches with their ports and the chassis each port is bound to, and the chassis;
    null where the OVN databases are not on this host.
  returned: always
  type: dict
  sample:
    switches:
      - name: netlab
        subnet: 192.168.240.0/16
        ports: [{name: MongoDB, addresses: ["0a:58:c0:a8:f0:0b 192.168.240.11"], up: true, chassis: docker1}]
    chassis: [{name: docker1, hostname: docker1, encaps: [geneve 10.99.0.11]}]
fingerprint:
  description:
    - With O(fingerprint), the SHA-256 digest of each part read (C(parts)) and of them all (C(digest)). Two reads
      give the same digests only when nothing they cover changed in between.
  returned: when O(fingerprint) is true
  type: dict
  sample:
    digest: 6c1f0d9e1b6f4a3c8e2d7b5a9f0e1c2d3b4a5968778695a4b3c2d1e0f9a8b7c6
    parts: {wiring: 0f4e..., containers: 9a1b..., images: 3c2d..., routes: 7e6f..., processes: 5d4c..., ovsdb: 1a2b...,
            ovn: 8b7c..., nftables: 2c3d..., files: 4e5f..., boot: 6a7b...}
notes:
  description: What could not be read and why (a daemon that does not run on this host).
  returned: always
  type: list
  elements: str
  sample: ["Open vSwitch does not run here (no /var/run/openvswitch/db.sock)"]
"""

import hashlib
import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.encompass.netlab.plugins.module_utils import _converge
from ansible_collections.encompass.netlab.plugins.module_utils import _docker
from ansible_collections.encompass.netlab.plugins.module_utils import _netlink
from ansible_collections.encompass.netlab.plugins.module_utils import _ovsdb
from ansible_collections.encompass.netlab.plugins.module_utils._errors import NetlabError, NetlinkFailure
from ansible_collections.encompass.netlab.plugins.module_utils._ovsdb import single

LINK_KEYS = ("name", "kind", "mac", "mtu", "up", "addresses")


def absent_socket(remote):
    """The path of a unix: remote whose socket does not exist (so nothing runs there), else None."""
    if remote.startswith("unix:") and not os.path.exists(remote[len("unix:"):]):
        return remote[len("unix:"):]
    return None


def read_ovs(remote, timeout, extra=None):
    db = _ovsdb.Ovsdb(remote, timeout)
    try:
        root = db.root()
        bridges = []
        for bridge in sorted(db.rows("Bridge"), key=lambda row: row.name):
            ports = []
            for port in sorted(bridge.ports, key=lambda row: row.name):
                interfaces = [dict(name=iface.name, type=iface.type or "system", options=dict(sorted(iface.options.items())),
                                   iface_id=iface.external_ids.get("iface-id"))
                              for iface in sorted(port.interfaces, key=lambda row: row.name)]
                ports.append(dict(name=port.name, tag=single(port.tag), interfaces=interfaces))
            bridges.append(dict(name=bridge.name, datapath_type=bridge.datapath_type or "system", ports=ports))
        ovn = {key: value for key, value in sorted(root.external_ids.items()) if key == "system-id" or key.startswith("ovn-")}
        if extra is not None:
            extra["ovsdb"] = dict(
                other_config=dict(root.other_config), external_ids=dict(root.external_ids),
                bridges={row.name: dict(other_config=dict(row.other_config), external_ids=dict(row.external_ids),
                                        rstp_enable=row.rstp_enable, stp_enable=row.stp_enable,
                                        fail_mode=single(row.fail_mode), protocols=sorted(row.protocols))
                         for row in db.rows("Bridge")},
                ports={row.name: dict(other_config=dict(row.other_config), external_ids=dict(row.external_ids),
                                      trunks=sorted(row.trunks), vlan_mode=single(row.vlan_mode))
                       for row in db.rows("Port")},
                interfaces={row.name: dict(other_config=dict(row.other_config), external_ids=dict(row.external_ids),
                                           mtu_request=single(row.mtu_request), mac=single(row.mac))
                            for row in db.rows("Interface")})
        return dict(bridges=bridges, ovn=ovn)
    finally:
        db.close()


def read_ovn(nb_remote, sb_remote, timeout, extra=None):
    bound, chassis = {}, []
    if not absent_socket(sb_remote):
        sb = _ovsdb.Ovsdb(sb_remote, timeout, database="OVN_Southbound")
        try:
            for row in sb.rows("Port_Binding"):
                where = single(row.chassis)
                bound[row.logical_port] = where.name if where is not None else None
            chassis = [dict(name=row.name, hostname=row.hostname, encaps=sorted("%s %s" % (e.type, e.ip) for e in row.encaps))
                       for row in sorted(sb.rows("Chassis"), key=lambda row: row.name)]
            if extra is not None:
                extra["ovn_sb"] = dict(
                    connections=sorted(digest(dict(target=row.target, role=row.role, other_config=dict(row.other_config),
                                                   inactivity_probe=single(row.inactivity_probe),
                                                   max_backoff=single(row.max_backoff), read_only=row.read_only))
                                       for row in sb.rows("Connection")),
                    chassis={row.name: dict(other_config=dict(row.other_config), external_ids=dict(row.external_ids))
                             for row in sb.rows("Chassis")})
        finally:
            sb.close()
    nb = _ovsdb.Ovsdb(nb_remote, timeout, database="OVN_Northbound")
    try:
        switches = []
        for switch in sorted(nb.rows("Logical_Switch"), key=lambda row: row.name):
            ports = [dict(name=port.name, addresses=sorted(port.addresses), up=single(port.up), chassis=bound.get(port.name))
                     for port in sorted(switch.ports, key=lambda row: row.name)]
            switches.append(dict(name=switch.name, subnet=switch.other_config.get("subnet"), ports=ports))
        if extra is not None:
            extra["ovn_nb"] = dict(
                switches={row.name: dict(other_config=dict(row.other_config), external_ids=dict(row.external_ids),
                                         acls=sorted(digest(dict(direction=acl.direction, priority=acl.priority,
                                                                 match=acl.match, action=acl.action, log=acl.log,
                                                                 external_ids=dict(acl.external_ids)))
                                                     for acl in row.acls))
                          for row in nb.rows("Logical_Switch")},
                ports={row.name: dict(type=row.type, options=dict(row.options), external_ids=dict(row.external_ids),
                                      port_security=sorted(row.port_security), addresses=sorted(row.addresses))
                       for row in nb.rows("Logical_Switch_Port")})
        return dict(switches=switches, chassis=chassis)
    finally:
        nb.close()


def read_docker(params, wanted, extra=None):
    """(the bridge network, [(container, its netns path or None)])."""
    access = _docker.DockerAccess(params)
    try:
        api = access.client.api
        try:
            network = api.inspect_network("bridge")
            config = ((network.get("IPAM") or {}).get("Config") or [{}])[0]
            bridge = dict(bridge=(network.get("Options") or {}).get("com.docker.network.bridge.name", "docker0"),
                          subnet=config.get("Subnet"), ip_range=config.get("IPRange"), gateway=config.get("Gateway"))
            listed = sorted((entry["Names"][0].lstrip("/") for entry in api.containers(all=True)))
            found = []
            for name in listed:
                if wanted and name not in wanted:
                    continue
                try:
                    info = api.inspect_container(name)
                except _docker.NotFound:  # removed since it was listed
                    continue
                state = info["State"]
                if extra is not None:
                    extra.setdefault("containers", {})[name] = container_state(info)
                found.append((dict(name=name, image=info["Config"]["Image"], state=state["Status"]),
                              "/proc/%d/ns/net" % state["Pid"] if state.get("Running") and state.get("Pid") else None))
            if extra is not None:
                extra["images"] = sorted((sorted(image.get("RepoTags") or []), image["Id"]) for image in api.images())
        except _docker.DockerException as exc:
            raise access.failure("reading the containers", exc) from None
        return bridge, found
    finally:
        access.close()


def container_state(info):
    """What of one container's inspect counts for the fingerprint. Docker lists a container's links in no fixed order
    (they come from a map: the same container, inspected twice, gave them in either order), so they are sorted."""
    host_config = dict(info.get("HostConfig") or {})
    if host_config.get("Links"):
        host_config["Links"] = sorted(host_config["Links"])
    return dict(id=info["Id"], started_at=info["State"].get("StartedAt"), image_id=info.get("Image"),
                restart_count=info.get("RestartCount"), config=info.get("Config"), host_config=host_config)


def attachment(peer, by_index, ovs_owner):
    """Where a host-side interface leads: (the bridge or parent, its kind)."""
    if peer["name"] in ovs_owner:
        return ovs_owner[peer["name"]], "ovs_bridge"
    master = by_index.get(peer["master"])
    if master is not None:
        return master["name"], "linux_bridge" if master["kind"] == "bridge" else master["kind"]
    return None, None


# The daemons whose restart a run repairs (a restart counts as a change in the fingerprint).
DAEMONS = ("dockerd", "containerd", "ovsdb-server", "ovs-vswitchd", "ovn-controller", "ovn-northd")


def digest(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def read_processes():
    """(name, process ID, start time in clock ticks since boot) of every daemon in DAEMONS that runs."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:  # it ended since the listing
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        if name in DAEMONS:
            found.append((name, int(entry), int(stat[stat.rfind(")") + 2:].split()[19])))
    return sorted(found)


def read_boot():
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def read_paths(paths):
    """{path: digest of the file, or {relative name: digest or link target} of a folder, or None when absent}."""
    def one(path):
        if os.path.islink(path):
            return "link:" + os.readlink(path)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                return hashlib.sha256(handle.read()).hexdigest()
        return None

    found = {}
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            entries = {}
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(dirs + files):
                    full = os.path.join(folder, name)
                    if os.path.isdir(full) and not os.path.islink(full):
                        entries[os.path.relpath(full, path) + "/"] = None
                    else:
                        entries[os.path.relpath(full, path)] = one(full)
            found[path] = entries
        else:
            found[path] = one(path)
    return found


def strip_counters(value):
    """nft's JSON without the packet and byte counts that change with every packet."""
    if isinstance(value, dict):
        return {key: ("counter" if key == "counter" else strip_counters(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [strip_counters(item) for item in value]
    return value


def read_nftables(module):
    nft = module.get_bin_path("nft")
    if nft is None:
        return None
    rc, out, err = module.run_command([nft, "-j", "list", "ruleset"])
    if rc != 0:
        return "nft failed: %s" % err.strip()
    try:
        return strip_counters(json.loads(out or "{}"))
    except ValueError:
        return "nft answered no JSON"


def named_routes(netns, links):
    """The routes of the host (or inside netns), each interface named instead of numbered."""
    names = {link["index"]: link["name"] for link in links}
    return [route[:4] + (names.get(route[4], route[4]),) + route[5:] for route in _netlink.routes(netns)]


def read_all(params, module=None):
    notes = []
    extra = {"routes": {}} if params.get("fingerprint") else None
    host_links = _netlink.dump()
    by_index = {link["index"]: link for link in host_links}
    if extra is not None:
        extra["routes"][""] = named_routes(None, host_links)
    ovs = None
    missing = absent_socket(params["ovsdb"])
    if missing:
        notes.append("Open vSwitch does not run here (no %s)" % missing)
    else:
        ovs = read_ovs(params["ovsdb"], params["ovsdb_timeout"], extra)
    ovs_owner = {iface["name"]: bridge["name"] for bridge in (ovs or {}).get("bridges", [])
                 for port in bridge["ports"] for iface in port["interfaces"]}
    ovn = None
    if not absent_socket(params["ovn_nb"]):
        ovn = read_ovn(params["ovn_nb"], params["ovn_sb"], params["ovsdb_timeout"], extra)
    docker, containers, peers = None, [], set()
    missing = absent_socket(params["docker_host"].replace("unix://", "unix:"))
    if missing:
        notes.append("Docker does not run here (no %s)" % missing)
    else:
        docker, found = read_docker(params, set(params["containers"]), extra)
        for container, netns in found:
            container["interfaces"] = []
            try:
                inside = _netlink.dump(netns) if netns else []
                if extra is not None and netns:
                    extra["routes"][container["name"]] = named_routes(netns, inside)
            except NetlinkFailure as exc:  # it stopped since it was inspected
                notes.append("the interfaces of %s could not be read: %s" % (container["name"], exc))
                inside = []
            for link in inside:
                if link["kind"] == "" and link["name"] == "lo":
                    continue
                entry = {key: link[key] for key in LINK_KEYS}
                peer = by_index.get(link["link"]) if link["kind"] in ("veth", "macvlan", "ipvlan") else None
                if peer is not None and link["kind"] == "veth":
                    peers.add(peer["name"])
                    entry["host_peer"] = peer["name"]
                    entry["attached_to"], entry["attached_kind"] = attachment(peer, by_index, ovs_owner)
                elif peer is not None:
                    entry["host_peer"], entry["attached_to"], entry["attached_kind"] = None, peer["name"], link["kind"] + "_parent"
                container["interfaces"].append(entry)
            containers.append(container)
    linux_bridges = [dict(name=link["name"], mtu=link["mtu"], up=link["up"], addresses=link["addresses"],
                          ports=sorted(port["name"] for port in host_links if port["master"] == link["index"]))
                     for link in host_links if link["kind"] == "bridge"]
    vxlan = [dict(name=link["name"], master=(by_index.get(link["master"]) or {}).get("name"), mtu=link["mtu"], **link["vxlan"])
             for link in host_links if link["kind"] == "vxlan"]
    host_interfaces = [{key: link[key] for key in LINK_KEYS} for link in host_links
                       if link["name"] not in peers and link["kind"] not in ("bridge", "vxlan") and link["name"] != "lo"]
    if docker is not None and not docker["gateway"]:
        bridge = next((link for link in host_links if link["name"] == docker["bridge"]), None)
        docker["gateway"] = bridge["addresses"][0].split("/")[0] if bridge and bridge["addresses"] else None
    result = dict(containers=containers, host_interfaces=host_interfaces, linux_bridges=linux_bridges, vxlan=vxlan,
                  docker=docker, ovs=ovs, ovn=ovn, notes=notes)
    if extra is not None:
        parts = dict(wiring=result, containers=extra.get("containers"), images=extra.get("images"), routes=extra["routes"],
                     processes=read_processes(), ovsdb=extra.get("ovsdb"), ovn=[extra.get("ovn_nb"), extra.get("ovn_sb")],
                     nftables=read_nftables(module), files=read_paths(params["fingerprint_paths"]), boot=read_boot())
        parts = {name: digest(value) for name, value in parts.items()}
        result["fingerprint"] = dict(digest=digest(parts), parts=parts)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type="list", elements="str", default=[]),
            ovsdb=dict(type="str", default=_ovsdb.DEFAULT_REMOTE),
            ovn_nb=dict(type="str", default=_ovsdb.NB_REMOTE),
            ovn_sb=dict(type="str", default=_ovsdb.SB_REMOTE),
            ovsdb_timeout=dict(type="int", default=10),
            fingerprint=dict(type="bool", default=False),
            fingerprint_paths=dict(type="list", elements="path", default=[]),
            **_docker.DOCKER_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    _converge.require(module, _netlink.HAS_PYROUTE2, "pyroute2", _netlink.PYROUTE2_IMPORT_ERROR, changes=False)
    _converge.require(module, _docker.HAS_DOCKER, "docker", _docker.DOCKER_IMPORT_ERROR, changes=False)
    try:
        result = read_all(module.params, module)
    except NetlabError as exc:
        module.fail_json(msg="netlab_info: %s" % exc)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
