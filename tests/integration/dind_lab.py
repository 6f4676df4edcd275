# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Docker-in-Docker test hosts on an underlay network of their own (docs/lab.md), for tests that need
several hosts. Traffic goes only to these containers and to containers inside them."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

HOST_IMAGE = "encompass/netlab-host:bookworm"
BASE_IMAGE = "encompass/netlab-base:bookworm"
# The capability set that works where --privileged fails (docs/lab.md).
HOST_OPTIONS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "IPC_LOCK", "--cap-add", "SYS_PTRACE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--device", "/dev/net/tun", "--cgroupns=private", "-v", "/var/lib/docker",
    # The kernel must not answer ARP for the underlay address on eth0 once br-phy owns it.
    "--sysctl", "net.ipv4.conf.all.arp_ignore=1",
]


def sh(argv, check=True, stdin=None):
    return subprocess.run(argv, capture_output=True, text=stdin is None, check=check, stdin=stdin)


class Lab:
    def __init__(self, count, subnet="10.99.0.0/24"):
        tag = uuid.uuid4().hex[:6]
        self.network = "netlab-underlay-" + tag
        self.subnet = subnet
        prefix = subnet.rsplit(".", 1)[0]
        self.hosts = {"netlab-h%d-%s" % (i + 1, tag): "%s.%d" % (prefix, 11 + i) for i in range(count)}

    def up(self):
        sh(["docker", "network", "create", "--subnet", self.subnet, self.network])
        for name, address in self.hosts.items():
            sh(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", self.network,
                "--ip", address, *HOST_OPTIONS, HOST_IMAGE])
        return self

    def down(self):
        names = list(self.hosts)
        sh(["docker", "rm", "-f", "-v", *names], check=False)
        sh(["docker", "network", "rm", self.network], check=False)

    def exec(self, host, *argv, check=True):
        return sh(["docker", "exec", host, *argv], check=check)

    def inventory(self, path, host_vars=None):
        hosts = {}
        for index, (name, address) in enumerate(self.hosts.items()):
            hosts[name] = dict(underlay_ip=address, host_index=index + 1, **(host_vars or {}).get(name, {}))
        data = {"all": {"vars": {"ansible_connection": "community.docker.docker",
                                 "ansible_python_interpreter": "/usr/bin/python3"},
                        "hosts": hosts}}
        Path(path).write_text(json.dumps(data), encoding="utf-8")
        return path

    def load_image(self, image=BASE_IMAGE, hosts=None):
        """docker save once, docker load into the inner daemon of the hosts (all by default)."""
        saved = sh(["docker", "save", image], stdin=subprocess.DEVNULL)  # bytes
        for host in hosts or self.hosts:
            subprocess.run(["docker", "exec", "-i", host, "docker", "load", "-q"], input=saved.stdout,
                           capture_output=True, check=True)

    def run_container(self, host, name, image=BASE_IMAGE):
        self.exec(host, "docker", "rm", "-f", name, check=False)
        self.exec(host, "docker", "run", "-d", "--name", name, image, "sleep", "3600")
        return self.exec(host, "docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()

    def in_container(self, host, container, *argv, check=True):
        return self.exec(host, "docker", "exec", container, *argv, check=check)


TCP_SINK = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d)); s.listen(1)
c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
c.sendall(str(n).encode()); c.close()
"""

TCP_SOURCE = """
import socket, sys, time
deadline = time.time() + 10
while True:  # the sink may still be starting, and the first packet to a new peer can be lost
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
size = int(sys.argv[3]); chunk = b"x" * 65536; sent = 0; t = time.time()
while sent < size:
    part = chunk[: size - sent]
    s.sendall(part)
    sent += len(part)
s.shutdown(socket.SHUT_WR)
got = int(s.recv(100).decode())
print(got, time.time() - t)
"""


def tcp_transfer(lab, src, dst, dst_ip, size, port=5001):
    """Send size bytes over TCP from container src=(host, name) to dst; return (bytes received, seconds)."""
    lab.exec(dst[0], "docker", "exec", "-d", dst[1], "python3", "-c", TCP_SINK % port)
    out = lab.in_container(src[0], src[1], "python3", "-c", TCP_SOURCE, dst_ip, str(port), str(size)).stdout.split()
    return int(out[0]), float(out[1])


def ping(lab, src, dst_ip, count=3, size=None, dont_fragment=False):
    """Ping from container src=(host, name); True when any reply came back (the first may be lost)."""
    argv = ["ping", "-c", str(count), "-W", "1"]
    if size is not None:
        argv += ["-s", str(size)]
    if dont_fragment:
        argv += ["-M", "do"]
    return lab.in_container(src[0], src[1], *argv, dst_ip, check=False).returncode == 0
