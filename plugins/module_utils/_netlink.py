# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to the kernel's network configuration: pyroute2 netlink, no `ip` commands."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
import traceback

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


class NetlinkFailure(Exception):
    """A netlink request failed; the message names the object."""


def require():
    if not HAS_PYROUTE2:
        raise NetlinkFailure("the Python library pyroute2 is required: pip install pyroute2")


@contextlib.contextmanager
def _request(what):
    """A netlink socket whose errors become NetlinkFailure("<what>: <error>")."""
    require()
    try:
        with IPRoute() as ipr:
            yield ipr
    except NetlinkError as exc:
        raise NetlinkFailure("%s: %s" % (what, exc)) from None


def local_addresses():
    """Every IP address configured on this host's interfaces (in this network namespace)."""
    require()
    with IPRoute() as ipr:
        found = set()
        for msg in ipr.get_addr():
            addr = msg.get_attr("IFA_ADDRESS") or msg.get_attr("IFA_LOCAL")
            if addr:
                found.add(str(ipaddress.ip_address(addr.split("%")[0])))
        return found


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


def set_master(name, master):
    """Enslave name to master and bring name up."""
    with _request("cannot attach %s to %s" % (name, master)) as ipr:
        index = ipr.link_lookup(ifname=name)
        master_index = ipr.link_lookup(ifname=master)
        if not index or not master_index:
            raise NetlinkFailure("cannot attach %s to %s: %s does not exist" % (name, master, name if not index else master))
        ipr.link("set", index=index[0], master=master_index[0])
        ipr.link("set", index=index[0], state="up")


def is_up(name):
    try:
        with open("/sys/class/net/%s/flags" % name, encoding="ascii") as handle:
            return bool(int(handle.read().strip(), 16) & 0x1)
    except OSError:
        return False


def _index(ipr, name):
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise NetlinkFailure("interface %s does not exist" % name)
    return found[0]


def ipv4_addresses(name):
    """The IPv4 addresses of an interface as 'a.b.c.d/len' strings (link-local ones left out)."""
    require()
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            return []
        result = []
        for msg in ipr.get_addr(family=2, index=index[0]):
            addr = msg.get_attr("IFA_ADDRESS")
            if addr and not addr.startswith("169.254."):
                result.append("%s/%d" % (addr, msg["prefixlen"]))
        return sorted(result)


def default_gateways(name):
    """The gateways of IPv4 default routes (main table) that leave through name."""
    require()
    with IPRoute() as ipr:
        index = ipr.link_lookup(ifname=name)
        if not index:
            return []
        return sorted(
            msg.get_attr("RTA_GATEWAY") for msg in ipr.get_routes(family=2, table=254)
            if msg["dst_len"] == 0 and msg.get_attr("RTA_OIF") == index[0] and msg.get_attr("RTA_GATEWAY")
        )


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


ZERO_MAC = "00:00:00:00:00:00"


def read_vxlan(name):
    """A device's kind, alias, MTU, master and up state, and for a VXLAN device its settings and its
    head-end replication peers (all-zero FDB entries); None when the device is missing."""
    require()
    with IPRoute() as ipr:
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
        result.update(
            vni=data.get_attr("IFLA_VXLAN_ID"),
            local_ip=data.get_attr("IFLA_VXLAN_LOCAL"),
            port=data.get_attr("IFLA_VXLAN_PORT"),
            learning=bool(data.get_attr("IFLA_VXLAN_LEARNING")),
            underlay_interface=underlay or None,
            peers=sorted(
                {msg.get_attr("NDA_DST") for msg in ipr.fdb("dump", ifindex=index[0])
                 if msg.get_attr("NDA_LLADDR") == ZERO_MAC and msg.get_attr("NDA_DST")},
                key=ipaddress.ip_address,
            ),
        )
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


def delete_link(name):
    with _request("cannot remove %s" % name) as ipr:
        index = ipr.link_lookup(ifname=name)
        if index:
            ipr.link("del", index=index[0])


def set_mtu(name, mtu):
    with _request("cannot set the MTU of %s to %d" % (name, mtu)) as ipr:
        ipr.link("set", index=_index(ipr, name), mtu=mtu)


def set_up(name):
    with _request("cannot bring %s up" % name) as ipr:
        ipr.link("set", index=_index(ipr, name), state="up")


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
