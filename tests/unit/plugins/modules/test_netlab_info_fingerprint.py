# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parts of netlab_info's fingerprint that need no daemon: files, processes, nft's counters."""

from __future__ import annotations

import shutil
import subprocess
import time

from ansible_collections.encompass.netlab.plugins.modules import netlab_info


def test_files_and_folders(tmp_path):
    folder = tmp_path / "etc"
    (folder / "tomcat").mkdir(parents=True)
    (folder / "tomcat" / "setenv.sh").write_text("JAVA_OPTS=a\n")
    (folder / "net_mode").write_text("pipework\n")
    (tmp_path / "daemon.json").write_text("{}")
    paths = [str(folder), str(tmp_path / "daemon.json"), str(tmp_path / "absent")]
    base = netlab_info.read_paths(paths)
    assert base[str(tmp_path / "absent")] is None
    assert sorted(base[str(folder)]) == ["net_mode", "tomcat/", "tomcat/setenv.sh"]
    assert netlab_info.read_paths(paths) == base
    (folder / "tomcat" / "setenv.sh").write_text("JAVA_OPTS=b\n")
    assert netlab_info.read_paths(paths) != base
    (folder / "tomcat" / "setenv.sh").write_text("JAVA_OPTS=a\n")
    assert netlab_info.read_paths(paths) == base
    (folder / "link").symlink_to("/nowhere")  # a unit's symlink, say: its target counts, it is not followed
    assert netlab_info.read_paths(paths)[str(folder)]["link"] == "link:/nowhere"
    (folder / "link").unlink()
    (tmp_path / "absent").write_text("")
    assert netlab_info.read_paths(paths) != base


def test_a_daemon_restarted_is_a_change(tmp_path):
    """A process named like a daemon (a copy of sleep called containerd): its restart changes what is read."""
    daemon = tmp_path / "containerd"
    shutil.copy(shutil.which("sleep"), daemon)
    first = subprocess.Popen([str(daemon), "60"])  # pylint: disable=consider-using-with
    try:
        time.sleep(0.05)
        before = netlab_info.read_processes()
        assert ("containerd", first.pid) in [entry[:2] for entry in before]
        assert netlab_info.read_processes() == before
    finally:
        first.kill()
        first.wait()
    second = subprocess.Popen([str(daemon), "60"])  # pylint: disable=consider-using-with
    try:
        time.sleep(0.05)
        assert netlab_info.read_processes() != before
    finally:
        second.kill()
        second.wait()


def test_nft_counters_do_not_count():
    one = {"nftables": [{"rule": {"expr": [{"match": {"left": 1}}, {"counter": {"packets": 3, "bytes": 180}}]}}]}
    two = {"nftables": [{"rule": {"expr": [{"match": {"left": 1}}, {"counter": {"packets": 9, "bytes": 540}}]}}]}
    other = {"nftables": [{"rule": {"expr": [{"match": {"left": 2}}, {"counter": {"packets": 9, "bytes": 540}}]}}]}
    assert netlab_info.strip_counters(one) == netlab_info.strip_counters(two)
    assert netlab_info.strip_counters(one) != netlab_info.strip_counters(other)
    assert netlab_info.digest(netlab_info.strip_counters(one)) == netlab_info.digest(netlab_info.strip_counters(two))


def test_links_in_either_order_are_the_same_container():
    """Docker's inspect gives a container's links in either order from one call to the next (seen on Tomcat in link
    mode: the converged run after a complete one read 'containers changed')."""
    def info(links):
        return {"Id": "c1", "State": {"StartedAt": "2026-12-05T05:05:35Z"}, "Image": "sha256:1", "RestartCount": 0,
                "Config": {"Env": ["A=1", "B=2"]}, "HostConfig": {"Links": links, "Dns": ["10.0.0.2", "10.0.0.1"]}}

    one = netlab_info.container_state(info(["/ElasticSearch:/Tomcat/es", "/MongoDB:/Tomcat/db"]))
    other = netlab_info.container_state(info(["/MongoDB:/Tomcat/db", "/ElasticSearch:/Tomcat/es"]))
    assert netlab_info.digest(one) == netlab_info.digest(other)
    assert netlab_info.digest(one) != netlab_info.digest(netlab_info.container_state(info(["/MongoDB:/Tomcat/db"])))
    # Lists whose order means something stay as they are: the resolvers' order is the order they are asked in.
    dns = info(["/MongoDB:/Tomcat/db"])
    dns["HostConfig"]["Dns"].reverse()
    assert netlab_info.digest(netlab_info.container_state(dns)) != netlab_info.digest(
        netlab_info.container_state(info(["/MongoDB:/Tomcat/db"])))
