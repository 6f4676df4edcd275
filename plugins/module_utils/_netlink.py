# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to the kernel's network configuration: pyroute2 netlink, no `ip` commands.

Every request goes through _request(), which opens the host's netlink socket or, with netns (a path
such as /proc/PID/ns/net), one inside that network namespace, and turns every failure into
NetlinkFailure("<what>: <reason>"). Inside session() the sockets stay open: one per namespace for the
whole block, instead of one per request.

A socket inside a namespace is made by a short-lived thread that enters the namespace (setns changes
only the calling thread's namespace), makes the socket and ends; the socket stays in that namespace.
pyroute2's own NetNS (0.9, the version profiled) forks a process for each socket, which costs more than
the request itself."""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import resource
import socket
import threading
import time
import traceback

from ansible_collections.encompass.netlab.plugins.module_utils._errors import NetlinkFailure

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError

    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):  # pylint: disable=missing-class-docstring
        pass


RTPROT_STATIC = 4
ZERO_MAC = "00:00:00:00:00:00"


def require():
    if not HAS_PYROUTE2:
        raise NetlinkFailure("the Python library pyroute2 is required: pip install pyroute2")


CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0
_SESSION = None  # inside session(): namespace path (None for the host) -> open IPRoute
# Inside session(): the interface indexes looked up on each open socket (id of the IPRoute -> name -> index), so that
# the several changes a run makes to one interface look its name up once. A removal or a move forgets them all
# (removing a veth end removes its peer in another namespace too); a rename forgets its own namespace's.
_INDEXES = {}


def enter_netns(netns):
    """Move the calling thread (only it) into the network namespace at path netns. Call it from a thread made for
    the purpose, never from the module's main thread."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(netns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, "cannot enter the network namespace %s: %s" % (netns, os.strerror(error)))
    finally:
        os.close(fd)


def _netns_socket(netns):
    """A NETLINK_ROUTE socket that lives in the network namespace at path netns, made by a thread of its own."""
    made = {}

    def enter_and_make():
        try:
            enter_netns(netns)
            made["socket"] = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
        except OSError as exc:
            made["error"] = exc

    worker = threading.Thread(target=enter_and_make, name="netns-socket")
    worker.start()
    worker.join()
    if "error" in made:
        raise made["error"]
    return made["socket"]


def _open(netns):
    if netns is None:
        return IPRoute()
    # pyroute2 owns the descriptor from here on (closing it is IPRoute's close()).
    return IPRoute(fileno=_netns_socket(netns).detach())


def raise_open_files_limit():
    """Raise this process's soft limit of open files to its hard limit. A session holds four descriptors per
    namespace (pyroute2's socket, event loop and its wake-up pair), and a probe socket per new address: a few hundred
    containers pass 1024, the soft limit systemd gives a login session. Descriptors above 1024 are safe: the module
    waits on them with poll() (_netns_jobs) and pyroute2's event loop, never select(). Best effort: where the limit
    cannot be raised, the run goes on with the one it has."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def session():
    """Keep one netlink socket per namespace open until the block ends (nested sessions share the outer one)."""
    global _SESSION  # pylint: disable=global-statement
    if _SESSION is not None:
        yield
        return
    raise_open_files_limit()
    _SESSION = {}
    try:
        yield
    finally:
        sockets, _SESSION = _SESSION, None
        _INDEXES.clear()
        for ipr in sockets.values():
            with contextlib.suppress(Exception):
                ipr.close()


@contextlib.contextmanager
def _request(what, netns=None):
    """A netlink socket (on the host, or inside netns) whose errors become NetlinkFailure."""
    require()
    try:
        if _SESSION is None:
            with _open(netns) as ipr:
                yield ipr
        else:
            if netns not in _SESSION:
                _SESSION[netns] = _open(netns)
            yield _SESSION[netns]
    except NetlinkError as exc:
        raise NetlinkFailure("%s: %s" % (what, exc)) from None
    except OSError as exc:
        raise NetlinkFailure("%s: %s" % (what, exc.strerror or exc)) from None


def _index(ipr, name, where=""):
    known = _INDEXES.get(id(ipr), {})  # empty outside session(): only a session fills it
    if name in known:
        return known[name]
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise NetlinkFailure("interface %s does not exist%s" % (name, where))
    if _SESSION is not None:
        _INDEXES.setdefault(id(ipr), {})[name] = found[0]
    return found[0]


def _forget_indexes(ipr=None):
    """An interface was removed or moved (every namespace's indexes go), or renamed on ipr (that namespace's go): the
    indexes looked up so far may name another interface now."""
    if ipr is None:
        _INDEXES.clear()
    else:
        _INDEXES.pop(id(ipr), None)


# Reading (sysfs where it answers for the host, netlink otherwise).

def link_exists(name):
    return os.path.exists("/sys/class/net/%s" % name)


def wait_link(name, timeout):
    """Wait until a device exists (OVS makes a bridge's internal device after it applies a change)."""
    deadline = time.monotonic() + timeout
    while not link_exists(name) and time.monotonic() < deadline:
        time.sleep(0.1)
    return link_exists(name)


def is_linux_bridge(name):
    return os.path.isdir("/sys/class/net/%s/bridge" % name)


def master_of(name):
    """The name of the device name is enslaved to, or None."""
    path = "/sys/class/net/%s/master" % name
    return os.path.basename(os.readlink(path)) if os.path.islink(path) else None


def is_up(name):
    try:
        with open("/sys/class/net/%s/flags" % name, encoding="ascii") as handle:
            return bool(int(handle.read().strip(), 16) & 0x1)
    except OSError:
        return False


def mac_of(name):
    try:
        with open("/sys/class/net/%s/address" % name, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return None


def mtu_of(name):
    try:
        with open("/sys/class/net/%s/mtu" % name, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def local_addresses():
    """Every IP address configured on this host's interfaces (in this network namespace)."""
    with _request("cannot list this host's addresses") as ipr:
        found = set()
        for msg in ipr.get_addr():
            addr = msg.get_attr("IFA_ADDRESS") or msg.get_attr("IFA_LOCAL")
            if addr:
                found.add(str(ipaddress.ip_address(addr.split("%")[0])))
        return found


def ipv4_addresses(name):
    """The IPv4 addresses of an interface as 'a.b.c.d/len' strings (link-local ones left out)."""
    with _request("cannot read the addresses of %s" % name) as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            return []
        return sorted("%s/%d" % (msg.get_attr("IFA_ADDRESS"), msg["prefixlen"])
                      for msg in ipr.get_addr(family=2, index=index[0])
                      if msg.get_attr("IFA_ADDRESS") and not msg.get_attr("IFA_ADDRESS").startswith("169.254."))


def default_gateways(name):
    """The gateways of IPv4 default routes (main table) that leave through name."""
    with _request("cannot read the routes of %s" % name) as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            return []
        return sorted(
            msg.get_attr("RTA_GATEWAY") for msg in ipr.get_routes(family=2, table=254)
            if msg["dst_len"] == 0 and msg.get_attr("RTA_OIF") == index[0] and msg.get_attr("RTA_GATEWAY")
        )


def read_link(name, netns=None):
    """An interface (on the host or inside netns): kind, alias, MAC, MTU, up, addresses (CIDR, no
    link-local IPv6) and the static routes through it; None when it does not exist."""
    with _request("cannot read %s" % name, netns) as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        index = found[0]
        link = ipr.get_links(index)[0]
        info = link.get_attr("IFLA_LINKINFO")
        addresses = sorted(str(ipaddress.ip_interface("%s/%d" % (msg.get_attr("IFA_ADDRESS"), msg["prefixlen"])))
                           for msg in ipr.get_addr(index=index)
                           if msg.get_attr("IFA_ADDRESS") and not msg.get_attr("IFA_ADDRESS").lower().startswith("fe80:"))
        routes = []
        for family, default in ((2, "0.0.0.0/0"), (10, "::/0")):
            for msg in ipr.get_routes(family=family, table=254):
                if msg.get_attr("RTA_OIF") == index and msg["proto"] == RTPROT_STATIC:
                    dst = msg.get_attr("RTA_DST")
                    dst = "%s/%d" % (dst, msg["dst_len"]) if dst else default
                    routes.append((str(ipaddress.ip_network(dst, strict=False)), msg.get_attr("RTA_GATEWAY")))
        return dict(
            kind=(info.get_attr("IFLA_INFO_KIND") if info is not None else None) or "",
            alias=link.get_attr("IFLA_IFALIAS") or "",
            mac=link.get_attr("IFLA_ADDRESS"),
            mtu=link.get_attr("IFLA_MTU"),
            up=bool(link["flags"] & 1),
            addresses=addresses,
            routes=sorted(routes, key=str),
        )


# Changing links.

def set_link(name, netns=None, **attributes):
    """Set link attributes (address, mtu, state, ifname, ifalias, ...) of name on the host or in netns."""
    what = "cannot set %s of %s" % (", ".join("%s=%s" % item for item in sorted(attributes.items())), name)
    with _request(what, netns) as ipr:
        ipr.link("set", index=_index(ipr, name), **attributes)
        if "net_ns_fd" in attributes:
            _forget_indexes()
        elif "ifname" in attributes:
            _forget_indexes(ipr)


def set_mtu(name, mtu, netns=None):
    set_link(name, netns, mtu=mtu)


def set_up(name, netns=None):
    set_link(name, netns, state="up")


def set_master(name, master):
    """Enslave name to master and bring name up."""
    with _request("cannot attach %s to %s" % (name, master)) as ipr:
        # One request for both.
        ipr.link("set", index=_index(ipr, name), master=_index(ipr, master), state="up")


def delete_link(name, netns=None):
    """Remove an interface (both ends of a veth pair go); nothing when it does not exist."""
    with _request("cannot remove %s" % name, netns) as ipr:
        index = ipr.link_lookup(ifname=name)
        if index:
            ipr.link("del", index=index[0])
            _forget_indexes()


def create_bridge(name):
    with _request("cannot create Linux bridge %s" % name) as ipr:
        ipr.link("add", ifname=name, kind="bridge")
        ipr.link("set", index=_index(ipr, name), state="up")


def create_veth(host_name, peer_name, netns, alias=None):
    """A veth pair: host_name on the host (marked with alias), peer_name inside netns."""
    with _request("cannot create veth %s" % host_name) as ipr:
        ipr.link("add", ifname=host_name, kind="veth", peer={"ifname": peer_name, "net_ns_fd": netns})
        if alias:
            ipr.link("set", index=_index(ipr, host_name), ifalias=alias)


def create_macvlan(name, parent, netns):
    """A macvlan device (mode bridge) on parent, moved into netns."""
    with _request("cannot create a macvlan device on %s" % parent) as ipr:
        ipr.link("add", ifname=name, kind="macvlan", link=_index(ipr, parent, " (the macvlan parent)"),
                 macvlan_mode="bridge")
        ipr.link("set", index=_index(ipr, name), net_ns_fd=netns)
        _forget_indexes()


def bridge_ports(name):
    """The interfaces enslaved to a bridge: name -> alias (what made it); empty when the bridge does not exist."""
    with _request("cannot list the ports of %s" % name) as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return {}
        return dict((link.get_attr("IFLA_IFNAME"), link.get_attr("IFLA_IFALIAS") or "") for link in ipr.get_links()
                    if link.get_attr("IFLA_MASTER") == found[0])


def link_alias(name):
    """The host interface's alias (what made it), or None when it does not exist."""
    with _request("cannot read %s" % name) as ipr:
        found = ipr.link_lookup(ifname=name)
        return (ipr.get_links(found[0])[0].get_attr("IFLA_IFALIAS") or "") if found else None


# Addresses and routes.

def change_address(command, name, cidr, netns=None):
    """add or del one address (CIDR) on name."""
    iface = ipaddress.ip_interface(cidr)
    with _request("cannot %s address %s on %s" % (command, cidr, name), netns) as ipr:
        ipr.addr(command, index=_index(ipr, name), address=str(iface.ip), prefixlen=iface.network.prefixlen)


def change_route(command, name, dst, gateway=None, netns=None):
    """replace or del a static route to dst (optionally via gateway) through name."""
    spec = dict(dst=dst, proto=RTPROT_STATIC)
    if gateway:
        spec["gateway"] = gateway
    with _request("cannot %s route %s through %s" % (command, dst, name), netns) as ipr:
        ipr.route(command, oif=_index(ipr, name), **spec)


def move_ipv4(source, target, addresses, gateways):
    """Give target the addresses (and default routes) source has, bring target up, then take them
    off source; the order keeps the host reachable through target before source lets go."""
    with _request("cannot move the underlay addresses from %s to %s" % (source, target)) as ipr:
        src, dst = _index(ipr, source), _index(ipr, target)
        ipr.link("set", index=dst, state="up")
        for cidr in addresses:
            addr, prefixlen = cidr.split("/")
            ipr.addr("replace", index=dst, address=addr, prefixlen=int(prefixlen))
        for cidr in addresses:
            addr, prefixlen = cidr.split("/")
            ipr.addr("del", index=src, address=addr, prefixlen=int(prefixlen))
        for gateway in gateways:
            ipr.route("replace", dst="0.0.0.0/0", gateway=gateway, oif=dst)


def arp_ignore(name):
    """The effective arp_ignore of an interface (the kernel takes the larger of 'all' and the device's)."""
    values = []
    for scope in ("all", name):
        try:
            with open("/proc/sys/net/ipv4/conf/%s/arp_ignore" % scope, encoding="ascii") as handle:
                values.append(int(handle.read().strip()))
        except (OSError, ValueError):
            values.append(0)
    return max(values)


def set_arp_ignore(name, value=1):
    try:
        with open("/proc/sys/net/ipv4/conf/%s/arp_ignore" % name, "w", encoding="ascii") as handle:
            handle.write(str(value))
    except OSError as exc:
        raise NetlinkFailure(
            "cannot set net.ipv4.conf.%s.arp_ignore=%d (%s); in a container set it at start"
            " (docker run --sysctl net.ipv4.conf.all.arp_ignore=1)" % (name, value, exc.strerror)
        ) from None


# VXLAN devices.

def _vxlan_settings(ipr, index, data):
    """A VXLAN device's VNI, local address, UDP port and head-end replication peers (all-zero FDB entries)."""
    return dict(
        vni=data.get_attr("IFLA_VXLAN_ID"),
        local_ip=data.get_attr("IFLA_VXLAN_LOCAL"),
        port=data.get_attr("IFLA_VXLAN_PORT"),
        peers=sorted({msg.get_attr("NDA_DST") for msg in ipr.fdb("dump", ifindex=index)
                      if msg.get_attr("NDA_LLADDR") == ZERO_MAC and msg.get_attr("NDA_DST")}, key=ipaddress.ip_address),
    )


def read_vxlan(name):
    """A device's kind, alias, MTU, master and up state, and for a VXLAN device its settings and its
    head-end replication peers (all-zero FDB entries); None when the device is missing."""
    with _request("cannot read %s" % name) as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            return None
        link = ipr.get_links(index[0])[0]
        info = link.get_attr("IFLA_LINKINFO")
        kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
        result = dict(kind=kind, alias=link.get_attr("IFLA_IFALIAS") or "", mtu=link.get_attr("IFLA_MTU"),
                      master=master_of(name), up=is_up(name))
        if kind != "vxlan":
            return result
        data = info.get_attr("IFLA_INFO_DATA")
        underlay = data.get_attr("IFLA_VXLAN_LINK")
        if underlay:
            found = ipr.get_links(underlay)
            underlay = found[0].get_attr("IFLA_IFNAME") if found else None
        result.update(_vxlan_settings(ipr, index[0], data), learning=bool(data.get_attr("IFLA_VXLAN_LEARNING")),
                      underlay_interface=underlay or None)
        return result


def add_vxlan(name, vni, port, local_ip=None, underlay_interface=None, learning=True, alias=None):
    spec = dict(ifname=name, kind="vxlan", vxlan_id=vni, vxlan_port=port, vxlan_learning=int(learning))
    if local_ip:
        spec["vxlan_local"] = local_ip
    with _request("cannot create VXLAN device %s (VNI %d, port %d)" % (name, vni, port)) as ipr:
        if underlay_interface:
            spec["vxlan_link"] = _index(ipr, underlay_interface)
        ipr.link("add", **spec)
        if alias:
            ipr.link("set", index=_index(ipr, name), ifalias=alias)


def fdb_peer(name, peer, add=True):
    """Add (append) the all-zero FDB entry that floods unknown frames to peer, or remove it together with
    the MAC addresses learned behind peer, so that no frame goes there any more."""
    with _request("cannot %s peer %s on %s" % ("add" if add else "remove", peer, name)) as ipr:
        index = _index(ipr, name)
        if add:
            ipr.fdb("append", ifindex=index, lladdr=ZERO_MAC, dst=peer)
            return
        for msg in ipr.fdb("dump", ifindex=index):
            if msg.get_attr("NDA_DST") == peer and msg["ifindex"] == index:
                ipr.fdb("del", ifindex=index, lladdr=msg.get_attr("NDA_LLADDR"), dst=peer)


# Reading everything at once (the topology report).

def routes(netns=None):
    """Every route of the host (or inside netns) outside the kernel's local table, as sorted tuples: family, table,
    destination (CIDR), gateway, the interface's index, metric, scope and protocol."""
    with _request("cannot list the routes%s" % (" in %s" % netns if netns else ""), netns) as ipr:
        found = []
        for family, default in ((socket.AF_INET, "0.0.0.0/0"), (socket.AF_INET6, "::/0")):
            for msg in ipr.get_routes(family=family):
                table = msg.get_attr("RTA_TABLE") or msg["table"]
                if table == 255:  # the local table follows the addresses, which are read already
                    continue
                dst = msg.get_attr("RTA_DST")
                dst = "%s/%d" % (dst, msg["dst_len"]) if dst else default
                found.append((int(family), table, str(ipaddress.ip_network(dst, strict=False)), msg.get_attr("RTA_GATEWAY") or "",
                              msg.get_attr("RTA_OIF") or 0, msg.get_attr("RTA_PRIORITY") or 0, msg["scope"], msg["proto"]))
        return sorted(found)


def dump(netns=None):
    """Every interface of the host (or inside netns) with one link dump and one address dump: index, name,
    kind, alias, MAC, MTU, up, addresses (CIDR, no link-local IPv6), master (index or None), link (the
    peer's or parent's index, in the peer namespace for a veth end whose peer lives elsewhere), and for
    VXLAN devices their VNI, local address, port and head-end replication peers. Sorted by name."""
    with _request("cannot list the interfaces%s" % (" in %s" % netns if netns else ""), netns) as ipr:
        addresses = {}
        for msg in ipr.get_addr():
            addr = msg.get_attr("IFA_ADDRESS")
            if addr and not addr.lower().startswith("fe80:"):
                addresses.setdefault(msg["index"], []).append(str(ipaddress.ip_interface("%s/%d" % (addr, msg["prefixlen"]))))
        links = []
        for link in ipr.get_links():
            info = link.get_attr("IFLA_LINKINFO")
            kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
            entry = dict(
                index=link["index"], name=link.get_attr("IFLA_IFNAME"), kind=kind,
                alias=link.get_attr("IFLA_IFALIAS") or "", mac=link.get_attr("IFLA_ADDRESS"),
                mtu=link.get_attr("IFLA_MTU"), up=bool(link["flags"] & 1),
                addresses=sorted(addresses.get(link["index"], [])),
                master=link.get_attr("IFLA_MASTER") or None, link=link.get_attr("IFLA_LINK") or None,
            )
            if kind == "vxlan":
                entry["vxlan"] = _vxlan_settings(ipr, link["index"], info.get_attr("IFLA_INFO_DATA"))
            links.append(entry)
        return sorted(links, key=lambda entry: entry["name"])
