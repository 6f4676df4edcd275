# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml --check on hosts where nothing has run yet, in every mode: it completes (exit 0), reports what the real
run would change (and, where a value is only known after a change, says so as `pending`), and leaves no file,
container, interface, OVS row, iptables rule or daemon behind. First with no daemon running at all (a fresh host
as the packages leave it), then with the daemons running but no stack. (Check mode on converged hosts reporting
changed=0 is every Molecule scenario's `check` step.)"""

from __future__ import annotations

import pytest

from conftest import run_playbook  # pylint: disable=import-error
from dind_lab import Lab  # pylint: disable=import-error

# One single-host mode (pipework: the most it does before the containers run; link and portmap differ from it only
# after the check-mode stop); the plain fresh servers of test_first_contact cover the same modes cold.
SINGLE = ("pipework",)
MULTI = ("multihost", "ovn")
# What a run writes or starts: the collection's and the daemons' files, links and addresses, the firewall, processes.
FOOTPRINT = (
    "find /etc/docker /etc/encompass-netlab /etc/openvswitch /etc/default /var/tmp /var/lib/ovn /var/lib/docker/containers"
    " -xdev -type f 2>/dev/null | sort | xargs -r sha256sum; ip -br addr; iptables-save 2>/dev/null | grep -v '^#'; nft list tables 2>/dev/null;"
    " for p in dockerd ovs-vswitchd ovsdb-server ovn-controller ovn-northd; do pgrep -x $p >/dev/null && echo running $p; done;"
    " docker ps -aq 2>/dev/null; ovs-vsctl --timeout=2 show 2>/dev/null"
)


@pytest.fixture(scope="module", name="lab")
def fixture_lab(tmp_path_factory):
    lab = Lab(2).up()
    try:
        lab.tmp = tmp_path_factory.mktemp("fresh")
        yield lab
    finally:
        lab.down()


def footprint(lab):
    return {host: lab.exec(host, "sh", "-c", FOOTPRINT, check=False).stdout for host in lab.hosts}


def inventory(lab, hosts):
    host_vars = {name: {"net_multihost_underlay_ip": lab.hosts[name]} for name in hosts}
    return lab.inventory(lab.tmp / ("inventory-%d.json" % len(hosts)), host_vars, only=hosts)


def check_every_mode(lab):
    """site.yml --check in every mode; returns {mode: result}."""
    names = list(lab.hosts)
    results = {}
    for mode in SINGLE + MULTI:
        hosts = names[:1] if mode in SINGLE else names
        results[mode] = run_playbook("site.yml", "-i", str(inventory(lab, hosts)), check=True, diff=True,
                                     extra_vars={"net_mode": mode})
    return results


def pending(result):
    return [line for task in result.tasks for outcome in task["hosts"].values()
            for line in outcome.get("pending", []) + ([outcome["msg"]] if str(outcome.get("msg", "")).startswith("pending:") else [])]


def test_check_mode_on_fresh_hosts(lab):
    before = footprint(lab)
    assert all("running" not in state for state in before.values()), before
    for mode, result in check_every_mode(lab).items():
        assert result.rc == 0, (mode, result.first_failure(), result.stdout[-3000:])
        assert result.changed > 0, mode
        notes = pending(result)
        assert any("does not run yet" in n for n in notes), (mode, notes)
        if mode == "multihost":
            assert any("Open vSwitch is not reachable yet" in n for n in notes), notes
        if mode == "ovn":
            assert any("northbound database is not reachable yet" in n for n in notes), notes
        changed = [t["task"]["name"] for t in result.tasks if any(h.get("changed") for h in t["hosts"].values())]
        assert any("Keep dockerd running" in name for name in changed), changed
        # Only multihost sets daemon settings (docker0's address, range, MTU); the other modes leave daemon.json alone.
        assert any("Write the Docker daemon configuration" in name for name in changed) == (mode == "multihost"), changed
        assert footprint(lab) == before, "check mode in %s mode left something behind" % mode


def test_check_mode_with_the_daemons_running_but_no_stack(lab):
    ready = run_playbook("host.yml", "-i", str(inventory(lab, list(lab.hosts))))
    assert ready.rc == 0, ready.stdout[-3000:]
    lab.load_image("encompass/netlab-base:bookworm", "encompass/elastic_search:latest", "encompass/mongodb:latest",
                   "encompass/tomcat7:latest")
    before = footprint(lab)
    for mode, result in check_every_mode(lab).items():
        assert result.rc == 0, (mode, result.first_failure(), result.stdout[-3000:])
        changed = [t["task"]["name"] for t in result.tasks if any(h.get("changed") for h in t["hosts"].values())]
        # The service role predicts each service's container (MongoDB's and Elasticsearch's: one loop item each).
        predicted = [item["item"] for t in result.tasks if "Run each service's container on its host" in t["task"]["name"]
                     for h in t["hosts"].values() for item in h.get("results", []) if item.get("changed")]
        assert sorted(predicted) == ["elasticsearch", "mongodb"], (mode, predicted, changed)
        notes = pending(result)
        assert any("does not run yet" in n for n in notes), (mode, notes)
        assert footprint(lab) == before, "check mode in %s mode left something behind" % mode
