# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Machines as users have them (docs/lab.md, "First contact"): a fresh Debian machine made from the offline base image
alone (no Docker, no Open vSwitch, no images, no Python libraries, no venv), plain Debian servers (systemd, sshd, sudo
and python3, nothing else) reached over SSH as a user with sudo, and a controller that is not root and has no
Graphviz. Every machine is a container of this machine's Docker with the Docker-in-Docker capability set, on an
underlay network of its own; traffic goes only to them."""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import time
import uuid
from pathlib import Path

from dind_lab import HOST_OPTIONS, ROOT, sh  # pylint: disable=import-error

BASE_IMAGE = "encompass/netlab-base:bookworm"
SERVER_IMAGES = {"bookworm": "encompass/netlab-server:bookworm", "trixie": "encompass/netlab-server:trixie"}
LAB_LABEL = "org.encompass.netlab.lab"
# What the host images' entry point does before anything runs (an unprivileged container has /sys, the network
# sysctls and the cgroups read-only; dockerd and systemd need them writable).
REMOUNT = ("mount -o remount,rw /sys; { mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net; };"
           " for h in /sys/fs/cgroup/*; do [ -d \"$h\" ] && mount -o remount,bind,rw \"$h\"; done; true")
# The environment pip and other TLS clients on this machine need (its CA bundle, its package index settings).
PASSED_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def pip_context():
    """What a fresh machine needs for pip to work as it does on this one: (files to copy in, folders to bind read-only,
    environment). The lab's package index settings and CA bundle (docs/lab.md)."""
    files = [p for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "/etc/xdg/pip/constraints.txt",
                         "/etc/ssl/certs/ca-certificates.crt") if os.path.isfile(p)]
    files += sorted(glob.glob("/usr/local/share/ca-certificates/*.crt"))
    user_conf = Path.home() / ".config" / "pip" / "pip.conf"
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in PASSED_ENV}
    folders = set()
    listed = subprocess.run(["pip", "config", "list"], capture_output=True, text=True, check=False).stdout
    for line in listed.splitlines():
        key, dummy, value = line.partition("=")
        if key.endswith(("find-links", "index-url", "extra-index-url")):
            for word in value.strip("'\"").split():
                path = word[len("file://"):] if word.startswith("file://") else word
                if path.startswith("/") and os.path.exists(path):
                    folders.add(path.rstrip("/").rsplit("/simple", 1)[0] if "/simple" in path else path)
    for key, value in env.items():
        for word in value.split() if key.startswith("PIP_") else []:
            if word.startswith("/") and os.path.isdir(word):
                folders.add(word)
    return files, (str(user_conf) if user_conf.is_file() else None), sorted(folders), env


class Machine:
    """One container: made from image, on network (with address), run as a Docker-in-Docker host (the lab's capability
    set, writable /sys and cgroups, /var/lib/docker on a volume), reached with docker exec."""

    def __init__(self, name, image, network=None, address=None, systemd=False):
        self.name, self.image, self.network, self.address, self.systemd = name, image, network, address, systemd

    def up(self):
        argv = ["docker", "run", "-d", "--name", self.name, "--hostname", self.name, "--tmpfs", "/run", "--tmpfs", "/run/lock",
                *HOST_OPTIONS, "--label", LAB_LABEL + "=host"]
        if self.network:
            argv += ["--network", self.network] + (["--ip", self.address] if self.address else [])
        if self.systemd:
            # The server image's entry point remounts what systemd needs writable, then runs systemd as PID 1.
            argv += ["--stop-signal", "SIGRTMIN+3", self.image]
        else:
            files, user_conf, folders, env = pip_context()
            for folder in folders:
                argv += ["-v", "%s:%s:ro" % (folder, folder)]
            for key, value in env.items():
                argv += ["-e", "%s=%s" % (key, value)]
            argv += ["--init", "--entrypoint", "sh", self.image, "-c", REMOUNT + "; exec sleep infinity"]
        sh(argv)
        if not self.systemd:
            for path in files:
                self.put(path, Path(path).read_bytes())
            if user_conf:
                self.put("/root/.config/pip/pip.conf", Path(user_conf).read_bytes())
        return self

    def down(self):
        sh(["docker", "rm", "-f", "-v", self.name], check=False)

    def put(self, path, data, mode="0644", owner=None):
        """Write data (bytes) to path inside the machine."""
        script = "mkdir -p %s && cat > %s && chmod %s %s" % (shlex.quote(os.path.dirname(path)), shlex.quote(path), mode, shlex.quote(path))
        if owner:
            script += " && chown %s %s" % (owner, shlex.quote(path))
        subprocess.run(["docker", "exec", "-i", self.name, "sh", "-c", script], input=data, capture_output=True, check=True)

    def untar(self, folder, data, owner=None):
        """Unpack a tar stream (bytes) into folder inside the machine."""
        script = "mkdir -p %s && tar -C %s -xf -" % (shlex.quote(folder), shlex.quote(folder))
        if owner:
            script += " && chown -R %s %s" % (owner, shlex.quote(folder))
        subprocess.run(["docker", "exec", "-i", self.name, "sh", "-c", script], input=data, capture_output=True, check=True)

    def sh(self, script, user=None, check=True, env=None, stdin=None):
        """Run script with bash inside the machine (as user, or root); text out."""
        argv = ["docker", "exec", *(["-i"] if stdin is not None else []), *(["-u", user] if user else [])]
        for key, value in (env or {}).items():
            argv += ["-e", "%s=%s" % (key, value)]
        proc = subprocess.run(argv + [self.name, "bash", "-c", script], capture_output=True, text=True, check=False, input=stdin)
        if check and proc.returncode != 0:
            raise AssertionError("%s: %s exited %d:\n%s\n%s" % (self.name, script[:200], proc.returncode, proc.stdout[-3000:],
                                                                proc.stderr[-3000:]))
        return proc

    def pid(self):
        return sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.name]).stdout.strip()

    def wait_booted(self, timeout=120):
        """Until systemd says the server runs (degraded counts: a unit a container cannot run)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.sh("systemctl is-system-running 2>/dev/null; true", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return state
            time.sleep(1)
        raise AssertionError("%s: systemd did not finish booting in %d s" % (self.name, timeout))


TX_CHECKSUM_OFF = (
    "import array, fcntl, socket, struct, sys\n"
    "value = array.array('I', [0x17, 0])\n"  # ETHTOOL_STXCSUM, off
    "request = struct.pack('16sP', sys.argv[1].encode(), value.buffer_info()[0])\n"
    "with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:\n"
    "    fcntl.ioctl(sock.fileno(), 0x8946, request)\n"  # SIOCETHTOOL
)


def deliver_like_a_nic(machine):
    """A real NIC fills in TCP and UDP checksums; a container's veth leaves them to offload, and the userspace datapath
    that a server's underlay moves onto (OVS's br-phy) hands the packets on unfilled, so the server's kernel drops every
    TCP segment and UDP datagram that reaches it (ICMP still answers: SSH, apt and DNS stall). This machine's end of the
    server's veth - what forwards the mirror's and the resolver's answers to it - gets TX checksum offload off, as a
    NIC would deliver them (../shared/LAB.md)."""
    iflink = int(machine.sh("cat /sys/class/net/eth0/iflink").stdout.strip())
    for name in os.listdir("/sys/class/net"):
        if Path("/sys/class/net/%s/ifindex" % name).read_text(encoding="ascii").strip() == str(iflink):
            sh(["python3", "-c", TX_CHECKSUM_OFF, name])
            return name
    raise AssertionError("%s: no interface here with index %d (the far end of its eth0)" % (machine.name, iflink))


def tx_checksum_off(machine, ifname="eth0"):
    """The same inside a machine that talks TCP to the servers itself (the controller): its own packets leave filled."""
    script = TX_CHECKSUM_OFF
    sh(["nsenter", "-t", machine.pid(), "-n", "python3", "-c", script, ifname])


class Network:
    """An underlay network of its own: the first free /24 of 10.99.16.0 to 10.99.249.0."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.name = "netlab-cold-" + self.tag
        self.subnet = None

    def up(self):
        for i in range(234):
            subnet = "10.99.%d.0/24" % (16 + (int(self.tag, 16) + i) % 234)
            made = sh(["docker", "network", "create", "--label", LAB_LABEL + "=network", "--subnet", subnet, self.name], check=False)
            if made.returncode == 0:
                self.subnet = subnet
                return self
            if "overlap" not in made.stderr:
                raise RuntimeError("docker network create %s: %s" % (subnet, made.stderr))
        raise RuntimeError("no free underlay subnet")

    def address(self, index):
        return "%s.%d" % (self.subnet.rsplit(".", 1)[0], index)

    def down(self):
        sh(["docker", "network", "rm", self.name], check=False)


def checkout_tar():
    """The collection's files as a clean clone has them (tracked and new files, nothing ignored), as a tar stream."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    present = [f for f in files if f and (ROOT / f).is_file()]
    return subprocess.run(["tar", "-C", str(ROOT), "-cf", "-", "--null", "-T", "-"], input="\0".join(present).encode(),
                          capture_output=True, check=True).stdout


def json_result(proc):
    """An ansible-playbook run with the json callback: (rc, stats by host, tasks)."""
    text = proc.stdout
    start = text.find("{")
    try:
        data = json.loads(text[start:text.rfind("}") + 1]) if start >= 0 else {}
    except json.JSONDecodeError:
        data = {}
    tasks = [task for play in data.get("plays", []) for task in play.get("tasks", [])]
    return proc.returncode, data.get("stats", {}), tasks
