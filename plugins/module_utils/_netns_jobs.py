# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Work done from inside a container's network namespace: duplicate-address probes (RFC 5227),
gratuitous ARP, and the TX checksum offload setting of an interface (the SIOCETHTOOL ioctl).

Each job runs in a thread of its own that enters the namespace (setns changes only the calling
thread's network namespace), so many namespaces are served at once, the module's main thread never
changes namespace, and no process is forked (a fork of the module costs more than the job)."""

from __future__ import annotations

import array
import fcntl
import select
import socket
import struct
import threading
import time

from ansible_collections.encompass.netlab.plugins.module_utils import _netlink

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6
SIOCGIFFLAGS = 0x8913
SIOCGIFHWADDR = 0x8927
SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM = 0x16, 0x17
IFF_RUNNING = 0x40
SO_ATTACH_FILTER = 26
# Classic BPF (linux/filter.h): load a 32-bit word at an absolute offset, jump if equal, return.
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06


def _mac_bytes(mac):
    return bytes(int(part, 16) for part in mac.split(":"))


def _arp_frame(src_mac, sender_ip, target_ip, op=1):
    eth = BROADCAST + src_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + src_mac + sender_ip + b"\x00" * 6 + target_ip
    return eth + arp


def _wait_running(sock, ifname, seconds=2.0):
    """A new veth carries frames only once both ends are up: wait for IFF_RUNNING."""
    deadline = time.monotonic() + seconds
    request = struct.pack("16sH", ifname.encode()[:15], 0)
    while time.monotonic() < deadline:
        flags = struct.unpack("16sH", fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request)[:18])[1]
        if flags & IFF_RUNNING:
            return
        time.sleep(0.01)


def _hwaddr(sock, ifname):
    """The interface's MAC address as it is now (not as it will be)."""
    ifreq = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, struct.pack("16s16s", ifname.encode()[:15], b""))
    return ifreq[18:24]


def _tx_checksum(ifname, enabled=None):
    """Read (enabled=None) or set an interface's TX checksum offload through struct ethtool_value."""
    value = array.array("I", [ETHTOOL_GTXCSUM if enabled is None else ETHTOOL_STXCSUM, int(bool(enabled))])
    request = struct.pack("16sP", ifname.encode()[:15], value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock.fileno(), SIOCETHTOOL, request)
    return bool(value[1]) if enabled is None else bool(enabled)


def _attach_arp_filter(sock, ip):
    """Let through only the ARP frames whose sender or target address is `ip` (offsets 28 and 38 of the Ethernet
    frame); the kernel drops the rest before they reach the socket. Without it, probing N addresses on one bridge
    at once wakes each of the N probing threads for every one of the N probes."""
    value = struct.unpack("!I", ip)[0]
    program = [(BPF_LD_W_ABS, 0, 0, 28), (BPF_JEQ_K, 2, 0, value),
               (BPF_LD_W_ABS, 0, 0, 38), (BPF_JEQ_K, 0, 1, value),
               (BPF_RET_K, 0, 0, 0xFFFF), (BPF_RET_K, 0, 0, 0)]
    code = array.array("B", b"".join(struct.pack("HBBI", *insn) for insn in program))
    # struct sock_fprog {unsigned short len; struct sock_filter *filter;}: the kernel copies the program.
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HP", len(program), code.buffer_info()[0]))


def _job(job):
    """Runs in a thread of its own, which it moves into the job's namespace: one job, its result."""
    result = {"conflict": None, "error": None}
    try:
        _netlink.enter_netns(job["netns"])
        if job["kind"] == "tx-checksum":
            result["enabled"] = _tx_checksum(job["ifname"], job.get("enabled"))
            return result
        ip = socket.inet_aton(job["ip"])
        # Protocol 0 receives nothing until bind(): the filter is in place before the first frame arrives.
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        if job["kind"] == "probe":
            _attach_arp_filter(sock, ip)
        sock.bind((job["ifname"], ETH_P_ARP))
        # Probes go out from the interface's current MAC: its final one derives from the address, so a
        # holder of the same address has it too, and the bridge would send the answer back to the holder.
        src = _hwaddr(sock, job["ifname"]) if job["kind"] == "probe" else _mac_bytes(job["mac"])
        _wait_running(sock, job["ifname"])
        if job["kind"] == "probe":
            probe = _arp_frame(src, b"\x00" * 4, ip)
            # poll(), not select(): a run with hundreds of namespaces holds descriptors above select()'s 1024.
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            deadline = time.monotonic() + job["wait"]
            next_probe, sent = time.monotonic(), 0
            while time.monotonic() < deadline and result["conflict"] is None:
                if sent < job["probes"] and time.monotonic() >= next_probe:
                    sock.send(probe)
                    sent += 1
                    next_probe += job["wait"] / (job["probes"] + 1)
                if poller.poll(1000 * min(0.02, max(0.0, deadline - time.monotonic()))):
                    frame = sock.recv(128)
                    if len(frame) >= 42:
                        sender_mac, sender_ip = frame[22:28], frame[28:32]
                        target_ip = frame[38:42]
                        # Someone else uses the address, or probes for it at the same time.
                        if sender_mac != src and (sender_ip == ip or (sender_ip == b"\x00" * 4 and target_ip == ip)):
                            result["conflict"] = ":".join("%02x" % b for b in sender_mac)
        else:
            for number in range(job.get("count", 1)):
                if number:
                    time.sleep(job.get("interval", 0))
                sock.send(_arp_frame(src, ip, ip))
        sock.close()
    except OSError as exc:
        result["error"] = "%s" % exc
    return result


def run_jobs(jobs):
    """Run jobs in parallel, each in its namespace, and return their results in order:
    {kind: probe, netns, ifname, ip, wait, probes} -> {conflict: MAC or None, error};
    {kind: announce, netns, ifname, mac, ip, count, interval (seconds between frames)} -> {error};
    {kind: tx-checksum, netns, ifname, enabled: None (read) or bool (set)} -> {enabled, error}."""
    results = [{"conflict": None, "error": "the namespace helper gave no answer"} for dummy in jobs]

    def work(number, job):
        try:
            results[number] = _job(job)
        except Exception as exc:  # pylint: disable=broad-except
            results[number] = {"conflict": None, "error": "%s: %s" % (type(exc).__name__, exc)}

    workers = [threading.Thread(target=work, args=(number, job), name="netns-job") for number, job in enumerate(jobs)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def announce_bridge(ifname, count=3, interval=0.3):
    """Gratuitous ARP for every IPv4 address of a host bridge (docker0) with its current MAC: neighbours that cached
    an older MAC (this host rebooted and the bridge came back with a new one) learn the current one at once.
    The announcements are spaced: a tunnel whose underlay neighbour is not resolved yet (Open vSwitch's userspace
    tunnels after a restart) drops the frames that trigger the resolution. Returns the errors, if any."""
    mac = _netlink.mac_of(ifname)
    jobs = [dict(kind="announce", netns="/proc/self/ns/net", ifname=ifname, mac=mac, ip=cidr.split("/")[0], count=count,
                 interval=interval)
            for cidr in _netlink.ipv4_addresses(ifname)] if mac else []
    return [r["error"] for r in run_jobs(jobs) if r.get("error")]
