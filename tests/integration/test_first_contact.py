# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as its users meet it. Plain Debian servers - one bookworm, one trixie, each with systemd, sshd, sudo
and python3 and nothing else - reached over SSH as a user with sudo; a controller that is not root and has no
Graphviz, with the collection installed from the tarball into an empty collections path, running the FQCN playbooks
from a folder of its own. Everything the stack needs is installed by the roles: Docker, Open vSwitch, OVN, the Python
libraries, debootstrap, the base image (each server makes its own, trixie's from trixie) and the stand-ins.

One tier, its servers shared by every step, in order: check mode on the fresh servers (exit 0, nothing written);
pipework on s2 (trixie, whose own network already has 172.17.0.0/16, and whose user installed docker.io without its
recommends first), limited to it, then check mode on it changed=0,
and docker_link_env against what its engine injects; multihost across both - the bookworm server meets the collection
here, cold - (the underlay address Ansible connects to moves onto OVS's br-phy in the middle of the run), then a run
limited to s1 (changed=0 there, nothing done on s2); ovn across both, then a run limited to s2; teardown, twice.
Two servers, not three, and no full reruns (a limited run is each server's rerun; the Molecule scenarios prove every
mode's idempotence): each cold server and each run over SSH costs minutes of both cores (packages, debootstrap, image
builds), and make test has 45 of them."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cold_lab import BASE_IMAGE, SERVER_IMAGES, Machine, Network, deliver_like_a_nic, json_result, tx_checksum_off  # pylint: disable=import-error
from dind_lab import ROOT  # pylint: disable=import-error

BIN = Path(sys.executable).parent
SERVERS = {"s1": "bookworm", "s2": "trixie"}
BUSY_SERVER = "s2"
USER = "ops"
HOME = "/home/" + USER
WORK = HOME + "/work"
# What check mode must leave as it found it on a fresh server.
FOOTPRINT = (
    "find /etc /var/lib/ovn /var/lib/openvswitch /var/tmp -xdev -type f -newer /etc/hostname 2>/dev/null"
    " | grep -v -e '^/etc/sudoers.d/' -e '^/etc/ssh/' -e '^/etc/machine-id' | sort;"
    " ls /var/lib/docker 2>/dev/null; dpkg-query -W -f '${Package}\\n' | sort | sha256sum; ip -br addr; ip -br link"
)
RUN_TIMEOUT = 1500
FIGURES = {}


def pins():
    text = (ROOT / "requirements" / "dev.txt").read_text(encoding="utf-8")
    return [line.split()[0] for line in text.splitlines() if re.match(r"^ansible(-core)?==", line)]


class Tier:
    """The servers, the controller, and runs of the installed collection's playbooks from the controller."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.network = Network()
        self.servers = {}
        self.controller = None

    def up(self):
        self.network.up()
        for index, (name, suite) in enumerate(SERVERS.items()):
            address = self.network.address(11 + index)
            self.servers[name] = Machine("netlab-fc-%s-%s" % (name, self.network.tag), SERVER_IMAGES[suite], self.network.name,
                                         address, systemd=True).up()
        self.controller = Machine("netlab-fc-ctl-%s" % self.network.tag, BASE_IMAGE, self.network.name,
                                  self.network.address(5)).up()
        # The controller: a workstation with an SSH client and Python, and a user who is not root.
        self.controller.sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
                           " openssh-client python3-venv >/dev/null && useradd -m -s /bin/bash %s" % USER)
        # --no-compile: the install's bytecode for every file of the ansible package is half its CPU (71 -> 36 CPU-s).
        self.controller.sh("ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && python3 -m venv ~/venv && ~/venv/bin/pip install -q --no-compile %s"
                           % " ".join(pins()), user=USER, env=self.pip_env())
        key = self.controller.sh("cat ~/.ssh/id_ed25519.pub", user=USER).stdout
        for name, server in self.servers.items():
            server.wait_booted()
            if name == BUSY_SERVER:
                # A server whose own network already uses 172.17.0.0/16: Docker gives docker0 172.18.0.0/16 there.
                server.sh("ip link add netlab-busy type bridge && ip addr add 172.17.0.5/16 dev netlab-busy && ip link set netlab-busy up")
            server.sh("useradd -m -s /bin/bash {u} && echo '{u} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{u} && chmod 0440"
                      " /etc/sudoers.d/{u} && install -d -m 0700 -o {u} -g {u} /home/{u}/.ssh".format(u=USER))
            server.put("%s/.ssh/authorized_keys" % HOME, key.encode(), mode="0600", owner="%s:%s" % (USER, USER))
        tx_checksum_off(self.controller)
        for server in self.servers.values():
            deliver_like_a_nic(server)
        self.install_collection()
        self.write_inventory()
        return self

    def pip_env(self):
        """pip for the controller's user: this machine's index settings (its root's pip.conf is root's only)."""
        conf = Path.home() / ".config" / "pip" / "pip.conf"
        if conf.is_file():
            self.controller.put("%s/.config/pip/pip.conf" % HOME, conf.read_bytes(), owner="%s:%s" % (USER, USER))
        return {}

    def install_collection(self):
        """`make build`'s tarball, installed as the user installs it: into an empty collections path."""
        build = self.tmp / "build"
        subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(build), str(ROOT)],
                       check=True, capture_output=True)
        tarball = next(build.glob("encompass-netlab-*.tar.gz"))
        self.controller.put("%s/%s" % (HOME, tarball.name), tarball.read_bytes(), owner="%s:%s" % (USER, USER))
        self.controller.sh("mkdir -p %s ~/collections && ~/venv/bin/ansible-galaxy collection install --offline -p ~/collections ~/%s"
                           % (WORK, tarball.name), user=USER)

    def write_inventory(self):
        hosts = {name: {"ansible_host": server.address, "net_multihost_underlay_ip": server.address}
                 for name, server in self.servers.items()}
        inventory = {"all": {"hosts": hosts, "vars": {
            "ansible_user": USER, "ansible_ssh_private_key_file": "~/.ssh/id_ed25519",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}}}
        self.controller.put("%s/inventory.yml" % WORK, json.dumps(inventory, indent=1).encode(), owner="%s:%s" % (USER, USER))

    def play(self, playbook, *args, extra=None, check=False):
        """ansible-playbook encompass.netlab.<playbook> (or a playbook file in ~/work) as the user, from ~/work:
        (rc, stats, tasks, seconds, proc)."""
        argv = ["timeout", str(RUN_TIMEOUT), "%s/venv/bin/ansible-playbook" % HOME, "-i", "inventory.yml",
                playbook if playbook.endswith(".yml") else "encompass.netlab." + playbook, *(["--check", "--diff"] if check else []),
                *args]
        if extra:
            argv += ["-e", json.dumps(extra)]
        started = time.monotonic()
        proc = self.controller.sh("cd %s && %s" % (WORK, " ".join(shlex.quote(a) for a in argv)), user=USER, check=False,
                                  env={"ANSIBLE_COLLECTIONS_PATH": HOME + "/collections", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                                       "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
        rc, stats, tasks = json_result(proc)
        return rc, stats, tasks, time.monotonic() - started, proc

    def down(self):
        for machine in [self.controller, *self.servers.values()]:
            if machine is not None:
                machine.down()
        self.network.down()


@pytest.fixture(scope="module", name="tier")
def fixture_tier(tmp_path_factory):
    started = time.monotonic()
    tier = Tier(tmp_path_factory.mktemp("first-contact"))
    try:
        tier.up()
        FIGURES["tier up"] = time.monotonic() - started
        yield tier
    finally:
        tier.down()
        print("\nfirst-contact figures (s): %s" % json.dumps({k: round(v, 1) for k, v in FIGURES.items()}))


def changed_tasks(tasks):
    return ["%s: %s" % (h, t["task"]["name"]) for t in tasks for h, r in t["hosts"].items() if r.get("changed")]


def failure(tasks, proc):
    for task in tasks:
        for host, result in task["hosts"].items():
            if result.get("failed") or result.get("unreachable"):
                return "%s: %s: %s" % (host, task["task"]["name"], json.dumps(result)[:3000])
    return proc.stdout[-3000:] + proc.stderr[-3000:]


def converge(tier, mode, hosts=None, rerun=True):
    """site.yml in mode on hosts (all by default), then (rerun) again: the second run must change nothing."""
    limit = ["--limit", ",".join(hosts)] if hosts else []
    label = mode
    rc, stats, tasks, seconds, proc = tier.play("site", *limit, extra={"net_mode": mode})
    FIGURES[label] = seconds
    assert rc == 0, failure(tasks, proc)
    assert any(t["task"]["name"].endswith("Every probe answered") for t in tasks), proc.stdout[-2000:]
    if not rerun:
        return
    rc, stats, tasks, seconds, proc = tier.play("site", *limit, extra={"net_mode": mode})
    FIGURES[label + " rerun"] = seconds
    assert rc == 0, failure(tasks, proc)
    assert sum(s["changed"] for s in stats.values()) == 0, changed_tasks(tasks)


def footprints(tier):
    return {name: server.sh(FOOTPRINT, check=False).stdout for name, server in tier.servers.items()}


def test_check_mode_on_fresh_servers(tier):
    """Before anything touches them: --check in a single-host mode on every server and in both multi-host modes
    across them exits 0, says what it would do, and writes nothing."""
    before = footprints(tier)
    assert all("docker" not in state for state in before.values())
    for mode in ("pipework", "multihost", "ovn"):
        rc, stats, tasks, seconds, proc = tier.play("site", extra={"net_mode": mode}, check=True)
        FIGURES["check %s" % mode] = seconds
        assert rc == 0, (mode, failure(tasks, proc))
        assert sum(s["changed"] for s in stats.values()) > 0, mode
        assert footprints(tier) == before, "check mode in %s mode wrote something" % mode


def images(server):
    return server.sh("docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split()


LINK_ENV_PLAY = r"""---
- name: docker_link_env against what the engine injects
  hosts: s2
  become: true
  gather_facts: false
  vars:
    probes: [netlab-probe-plain, netlab-probe-linked]
  tasks:
    - name: Probe and compute (the recipients are removed also when a step fails)
      block:
        - name: A recipient without links and one linked to MongoDB (db) and Elasticsearch (es)
          community.docker.docker_container:
            name: "{{ item }}"
            image: encompass/netlab-base:trixie
            command: [sleep, "600"]
            hostname: recipient
            state: started
            links: "{{ [] if item == 'netlab-probe-plain' else ['MongoDB:db', 'ElasticSearch:es'] }}"
          loop: "{{ probes }}"
        - name: Each recipient's process environment
          ansible.builtin.command:
            argv: [docker, exec, "{{ item }}", sh, -c, 'tr "\0" "\n" < /proc/1/environ']
          loop: "{{ probes }}"
          register: environ
          changed_when: false
        - name: The module's computation (algorithm auto)
          encompass.netlab.docker_link_env:
            links: [MongoDB:db, ElasticSearch:es]
            recipient: netlab-probe-linked
          register: computed
      always:
        - name: Remove the recipients
          community.docker.docker_container:
            name: "{{ item }}"
            state: absent
          loop: "{{ probes }}"
    - name: Report
      ansible.builtin.debug:
        msg: {algorithm: "{{ computed.algorithm }}", env: "{{ computed.env }}", plain: "{{ environ.results[0].stdout_lines }}",
              linked: "{{ environ.results[1].stdout_lines }}"}
"""


def test_single_host_mode_on_the_trixie_server(tier):
    """pipework on s2 (Debian 13), limited to it: s1 stays as fresh as it was (it meets the collection first in a
    multi-host run). s2's user installed Debian's engine first, without apt's recommends: docker.io alone, which on
    Debian 13 has no docker command (docker-cli); the role adds it. docker_link_env's `auto` against what Docker 26
    injects; check mode on the converged server predicts no change."""
    s2 = tier.servers["s2"]
    s2.sh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io")
    assert s2.sh("command -v docker", check=False).returncode != 0, "docker.io brought the docker command itself"
    converge(tier, "pipework", ["s2"], rerun=False)
    assert s2.sh("dpkg-query -W -f '${Status}' docker-cli").stdout == "install ok installed"
    # Pipework's addresses follow docker0 as Docker made it: 172.18, where the server's own network has 172.17.
    address = tier.servers["s2"].sh("docker exec MongoDB ip -4 -o addr show eth1").stdout.split()[3]
    assert address == "172.18.200.10/16", address
    # The server made its own base image, from its own release.
    assert "encompass/netlab-base:trixie" in images(tier.servers["s2"])
    tier.controller.put("%s/link_env.yml" % WORK, LINK_ENV_PLAY.encode(), owner="%s:%s" % (USER, USER))
    rc, stats, tasks, seconds, proc = tier.play("link_env.yml")
    assert rc == 0, failure(tasks, proc)
    seen = tasks[-1]["hosts"]["s2"]["msg"]
    plain = {line.split("=", 1)[0] for line in seen["plain"]}
    injected = dict(line.split("=", 1) for line in seen["linked"] if line.split("=", 1)[0] not in plain)
    assert seen["algorithm"] == "v27" and seen["env"] == injected and len(injected) > 10, seen
    rc, stats, tasks, seconds, proc = tier.play("site", "--limit", "s2", extra={"net_mode": "pipework"}, check=True)
    FIGURES["pipework check"] = seconds
    assert rc == 0 and stats["s2"]["changed"] == 0, changed_tasks(tasks)
    # The report is the user's, in ~/work/topology: no SVG without Graphviz, and the run said why.
    listing = tier.controller.sh("stat -c '%%U %%n' %s/topology/*" % WORK).stdout.split("\n")
    owners = {line.split()[1].rsplit("/", 1)[1]: line.split()[0] for line in listing if line}
    assert owners == {"topology.json": USER, "topology.dot": USER, "topology.md": USER}, owners
    assert tier.servers["s1"].sh("command -v docker", check=False).returncode != 0


def ping_everything(tier, containers):
    """Every container of the stack pings every other one's segment address (from inside, with docker exec)."""
    lost = []
    for src_host, src, dummy in containers:
        for dst_host, dst, address in containers:
            if (src_host, src) != (dst_host, dst):
                pinged = tier.servers[src_host].sh("docker exec %s ping -c 3 -W 1 %s" % (src, address), check=False)
                if pinged.returncode != 0:
                    lost.append("%s@%s -> %s@%s (%s)" % (src, src_host, dst, dst_host, address))
    return lost


def stack_containers(tier, interface):
    found = []
    for name, server in tier.servers.items():
        for container in server.sh("docker ps --format '{{.Names}}'").stdout.split():
            out = server.sh("docker exec %s ip -4 -o addr show %s" % (container, interface), check=False).stdout.split()
            if len(out) > 3:
                found.append((name, container, out[3].split("/")[0]))
    return found


def wiring(tier):
    """What a limited run must leave alone on the other servers."""
    return {name: server.sh("ip -br addr; ovs-vsctl --timeout=5 show 2>/dev/null | grep -v -e _uuid -e ovs_version;"
                            " cat /etc/docker/daemon.json", check=False).stdout for name, server in tier.servers.items()}


@pytest.mark.parametrize("mode, interface, limit", [("multihost", "eth0", "s1"), ("ovn", "eth1", "s2")])
def test_multi_host_modes_across_the_servers_and_a_limited_run(tier, mode, interface, limit):
    converge(tier, mode, rerun=False)
    containers = stack_containers(tier, interface)
    assert len(containers) >= 3, containers
    # Each host builds only the images of the containers it runs: s1 runs MongoDB and Tomcat, not Elasticsearch.
    assert sorted(i for i in images(tier.servers["s1"]) if not i.startswith("encompass/netlab-base:")) == [
        "encompass/mongodb:latest", "encompass/tomcat7:latest"]
    assert ping_everything(tier, containers) == []
    # A run limited to one server changes nothing there (its rerun) and keeps what belongs to the other: its tunnels
    # or chassis, its index.
    before = wiring(tier)
    rc, stats, tasks, seconds, proc = tier.play("site", "--limit", limit, extra={"net_mode": mode})
    FIGURES["%s --limit %s" % (mode, limit)] = seconds
    assert rc == 0, failure(tasks, proc)
    assert set(stats) == {limit} and stats[limit]["changed"] == 0, changed_tasks(tasks)
    assert wiring(tier) == before
    assert ping_everything(tier, containers) == []


def test_teardown(tier):
    rc, stats, tasks, seconds, proc = tier.play("teardown")
    FIGURES["teardown"] = seconds
    assert rc == 0, failure(tasks, proc)
    for name, server in tier.servers.items():
        assert server.sh("docker ps -aq").stdout.strip() == "", name
        # The servers were last wired in ovn mode: under systemd its daemons are stopped and their units disabled (a
        # teardown that stopped them with ovn-ctl left ovn-host and ovn-central enabled, to come back at boot).
        units = {unit: server.sh("systemctl is-enabled %s; systemctl is-active %s" % (unit, unit), check=False).stdout.split()
                 for unit in ("ovn-host", "ovn-central")}
        assert not any({"enabled", "active"} & set(states) for states in units.values()), (name, units)
        assert server.sh("pgrep -x -l 'ovn-controller|ovn-northd'", check=False).stdout == "", name
    rc, stats, tasks, seconds, proc = tier.play("teardown")
    assert rc == 0 and sum(s["changed"] for s in stats.values()) == 0, changed_tasks(tasks)
