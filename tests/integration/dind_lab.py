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

import yaml

ROOT = Path(__file__).resolve().parents[2]
HOST_IMAGE = "encompass/netlab-host:bookworm"
BASE_IMAGE = "encompass/netlab-base:bookworm"


def host_options():
    """docker run options of a Docker-in-Docker host, from the one definition (role dind_host_image's defaults)."""
    defaults = yaml.safe_load((ROOT / "roles" / "dind_host_image" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    options = ["--cgroupns=private", "-v", "/var/lib/docker", "--label", defaults["dind_host_image_label"] + "=host"]
    options += [arg for cap in defaults["dind_host_image_capabilities"] for arg in ("--cap-add", cap)]
    options += [arg for opt in defaults["dind_host_image_security_opts"] for arg in ("--security-opt", opt)]
    options += [arg for dev in defaults["dind_host_image_devices"] for arg in ("--device", dev)]
    options += [arg for key, value in defaults["dind_host_image_sysctls"].items() for arg in ("--sysctl", "%s=%s" % (key, value))]
    return options


HOST_OPTIONS = host_options()


def sh(argv, check=True, stdin=None):
    return subprocess.run(argv, capture_output=True, text=stdin is None, check=check, stdin=stdin)


class Lab:
    """count Docker-in-Docker hosts (of image, the bookworm host image by default) on an underlay network of their
    own: subnet, or the first free /24 of 10.99.16.0 to 10.99.249.0 (so that labs of parallel test workers never
    collide)."""

    def __init__(self, count, subnet=None, image=HOST_IMAGE):
        self.image = image
        self.tag = uuid.uuid4().hex[:6]
        self.network = "netlab-underlay-" + self.tag
        self.count = count
        self.subnet = subnet
        self.hosts = {}

    def up(self):
        candidates = [self.subnet] if self.subnet else ["10.99.%d.0/24" % (16 + (int(self.tag, 16) + i) % 234) for i in range(234)]
        for subnet in candidates:
            made = sh(["docker", "network", "create", "--label", "org.encompass.netlab.lab=network", "--subnet", subnet,
                       self.network], check=False)
            if made.returncode == 0:
                self.subnet = subnet
                break
            if "overlap" not in made.stderr or len(candidates) == 1:
                raise RuntimeError("docker network create %s: %s" % (subnet, made.stderr))
        prefix = self.subnet.rsplit(".", 1)[0]
        self.hosts = {"netlab-h%d-%s" % (i + 1, self.tag): "%s.%d" % (prefix, 11 + i) for i in range(self.count)}
        for name, address in self.hosts.items():
            sh(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", self.network,
                "--ip", address, *HOST_OPTIONS, self.image])
        return self

    def down(self):
        names = list(self.hosts)
        sh(["docker", "rm", "-f", "-v", *names], check=False)
        sh(["docker", "network", "rm", self.network], check=False)

    def exec(self, host, *argv, check=True):
        return sh(["docker", "exec", host, *argv], check=check)

    def inventory(self, path, host_vars=None, only=None):
        """An inventory of the hosts (or only of those named), each with its underlay address and its
        position in the lab as host_index."""
        hosts = {}
        for index, (name, address) in enumerate(self.hosts.items()):
            if only is None or name in only:
                hosts[name] = dict(underlay_ip=address, host_index=index + 1, **(host_vars or {}).get(name, {}))
        # The docker connection is root already and the host images have no sudo (the playbooks say become: true).
        data = {"all": {"vars": {"ansible_connection": "community.docker.docker", "ansible_become": False,
                                 "ansible_python_interpreter": "/usr/bin/python3"},
                        "hosts": hosts}}
        Path(path).write_text(json.dumps(data), encoding="utf-8")
        return path

    def load_image(self, *images, hosts=None):
        """The images (the base image when none is named) into the inner daemon of the hosts (all by default): one
        `docker save` of them all streamed into each host's `docker load`. One stream instead of one an image: the
        layers they share go once (the stack's four: 28-30 CPU-s a host instead of 45-52)."""
        images = images or (BASE_IMAGE,)
        for host in hosts or self.hosts:
            save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
            load = subprocess.run(["docker", "exec", "-i", host, "docker", "load", "-q"], stdin=save.stdout,
                                  capture_output=True, check=False)
            save.stdout.close()
            if save.wait() != 0 or load.returncode != 0:
                raise RuntimeError("loading %s into %s failed: %s" % (" ".join(images), host, load.stderr.decode()[-2000:]))

    def run_container(self, host, name, image=BASE_IMAGE):
        self.exec(host, "docker", "rm", "-f", name, check=False)
        self.exec(host, "docker", "run", "-d", "--name", name, image, "sleep", "3600")
        return self.exec(host, "docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()

    def in_container(self, host, container, *argv, check=True):
        return self.exec(host, "docker", "exec", container, *argv, check=check)


# The verify role's own transfer scripts: a sink that counts one connection's bytes and a source.
PROBES = Path(__file__).resolve().parents[2] / "roles" / "verify" / "files"
SEGMENT_PLAY = """
- name: The test's variables
  hosts: all
  gather_facts: false
  tasks:
    - name: Set them as facts (they outlive this play)
      ansible.builtin.set_fact: %s

- name: The multihost segment (plan, host, segment)
  ansible.builtin.import_playbook: %s
"""


def multihost_playbook(path, **role_vars):
    """Write a playbook that joins every host into the multihost segment (playbooks/segment.yml, the
    stack left out), with role_vars; return its path."""
    facts = dict(role_vars, net_mode="multihost")
    segment = Path(__file__).resolve().parents[2] / "playbooks" / "segment.yml"
    Path(path).write_text(SEGMENT_PLAY % (json.dumps(facts), segment), encoding="utf-8")
    return path


def tcp_transfer(lab, src, dst, dst_ip, size, port=5001):
    """Send size bytes over TCP from container src=(host, name) to dst; return (bytes received, seconds)."""
    sink = (PROBES / "tcp_sink.py").read_text(encoding="utf-8")
    source = (PROBES / "tcp_source.py").read_text(encoding="utf-8")
    lab.exec(dst[0], "docker", "exec", "-d", dst[1], "python3", "-c", sink, str(port))
    out = lab.in_container(src[0], src[1], "python3", "-c", source, dst_ip, str(port), str(size)).stdout.split()
    return int(out[0]), float(out[1])


def ping(lab, src, dst_ip, count=3, size=None, dont_fragment=False):
    """Ping from container src=(host, name); True when any reply came back (the first may be lost)."""
    argv = ["ping", "-c", str(count), "-W", "1"]
    if size is not None:
        argv += ["-s", str(size)]
    if dont_fragment:
        argv += ["-M", "do"]
    return lab.in_container(src[0], src[1], *argv, dst_ip, check=False).returncode == 0
