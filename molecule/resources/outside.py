# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A machine on the hosts' underlay that is not a host of the play, looking at one host from outside:

    outside.py HOST_ADDRESS [--route SUBNET] [--behind ADDRESS:PORT ...] [--ovsdb PORT]

(run as root in a network namespace of its own, a container on the underlay) routes SUBNET through the host, then
prints JSON with every TCP port of HOST_ADDRESS that accepts a connection ("open"), whether each endpoint behind the
host (reached through a route via the host) accepts one ("behind"), and for an OVSDB port what a plain JSON-RPC
request and a TLS client without a certificate get back ("ovsdb")."""

import array
import fcntl
import ipaddress
import json
import select
import struct
import subprocess
import socket
import ssl
import sys
import time

TIMEOUT = 2.0
WIDTH = 1000
LIST_DBS = json.dumps({"method": "list_dbs", "params": [], "id": 0}).encode()


def tx_checksum_off(ifname="eth0"):
    """Fill TCP checksums here, as a real NIC does: with offload left on, a host whose underlay address lives on an
    Open vSwitch userspace bridge drops every segment from this namespace (docs/lab.md), and a scan sees nothing."""
    value = array.array("I", [0x17, 0])  # ETHTOOL_STXCSUM, off
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock.fileno(), 0x8946, struct.pack("16sP", ifname.encode(), value.buffer_info()[0]))  # SIOCETHTOOL


def scan(targets, timeout=TIMEOUT, width=WIDTH):
    """The (address, port) targets that accept a TCP connection: non-blocking connects, width at a time, read with
    epoll (a target that neither accepts nor refuses within timeout counts as closed)."""
    ports, found = list(targets), []
    poller = select.epoll()
    try:
        while ports:
            batch, ports = ports[:width], ports[width:]
            pending = {}
            for port in batch:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect_ex(port)
                pending[sock.fileno()] = (sock, port)
                poller.register(sock.fileno(), select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP)
            deadline = time.monotonic() + timeout
            while pending and time.monotonic() < deadline:
                for fd, dummy in poller.poll(max(0.0, deadline - time.monotonic())):
                    sock, port = pending.pop(fd)
                    poller.unregister(fd)
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                        found.append(port)
                    sock.close()
            for fd, (sock, port) in pending.items():
                poller.unregister(fd)
                sock.close()
    finally:
        poller.close()
    return sorted(found)


def plain_ovsdb(address, port):
    """What a plain (non-TLS) OVSDB list_dbs request gets: 'answered: ...' or why it got nothing."""
    try:
        with socket.create_connection((address, port), TIMEOUT) as conn:
            conn.settimeout(3)
            conn.sendall(LIST_DBS)
            data = conn.recv(4096)
    except OSError as exc:
        return "no answer (%s)" % exc.__class__.__name__
    return "answered: %r" % data[:200] if data else "no answer (closed)"


def tls_without_certificate(address, port):
    """What a TLS client that presents no certificate gets when it asks list_dbs."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), TIMEOUT) as raw:
            with context.wrap_socket(raw) as conn:
                conn.settimeout(3)
                conn.sendall(LIST_DBS)
                data = conn.recv(4096)
    except (OSError, ssl.SSLError) as exc:
        return "refused (%s)" % (getattr(exc, "reason", None) or exc.__class__.__name__)
    return "answered: %r" % data[:200] if data else "refused (closed)"


def main(argv):
    address, behind, ovsdb, route = argv[0], [], None, None
    rest = argv[1:]
    while rest:
        flag, value = rest[0], rest[1]
        if flag == "--behind":
            behind.append(value)
        elif flag == "--ovsdb":
            ovsdb = int(value)
        elif flag == "--route":
            route = str(ipaddress.ip_interface(value).network)
        rest = rest[2:]
    tx_checksum_off()
    # Nothing leaves this namespace but to the underlay (on-link) and, through the host, to the subnet it routes: the
    # default route goes, and an endpoint outside that subnet is not probed (the host would send it on to its own
    # default route, off this machine).
    subprocess.run(["ip", "route", "del", "default"], check=False)
    if route:
        subprocess.run(["ip", "route", "replace", route, "via", address], check=True)
    result = {"open": [port for dummy, port in scan((address, port) for port in range(1, 65536))]}
    targets = [(e.rsplit(":", 1)[0], int(e.rsplit(":", 1)[1])) for e in behind]
    routed = [t for t in targets if route and ipaddress.ip_address(t[0]) in ipaddress.ip_network(route)]
    answered = scan(routed)
    result["behind"] = {"%s:%d" % target: target in answered for target in routed}
    result["not_routed_through_the_host"] = ["%s:%d" % target for target in targets if target not in routed]
    if ovsdb:
        result["ovsdb"] = {"plain": plain_ovsdb(address, ovsdb), "tls_without_certificate": tls_without_certificate(address, ovsdb)}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
