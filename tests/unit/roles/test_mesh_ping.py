# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which pings verify's segment check makes (role verify, files/mesh_ping.py): every pair, or enough for every
container to reach every other host and be reached from it."""

from __future__ import annotations

import importlib.util
from itertools import product
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "verify" / "files" / "mesh_ping.py"
SPEC = importlib.util.spec_from_file_location("mesh_ping", SCRIPT)
MESH = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(MESH)


def containers(host, count, first=0):
    return [{"name": "%s-c%d" % (host, i), "host": host, "address": "%s.%d" % (host, i)} for i in range(first, first + count)]


def names(pairs):
    return [(source["name"], target["name"]) for source, target in pairs]


def test_pairs_is_every_container_on_the_other_hosts():
    sources, targets = containers("h1", 2), containers("h2", 3)
    assert names(MESH.chosen(sources, targets, "pairs")) == [(s["name"], t["name"]) for s, t in product(sources, targets)]


@pytest.mark.parametrize("here, there", [(1, 1), (1, 4), (4, 1), (3, 5), (8, 8), (9, 2)])
def test_hosts_reaches_every_host_and_every_container_with_the_larger_side_s_count(here, there):
    sources = containers("h1", here)
    targets = containers("h2", there) + containers("h3", max(1, there - 1))
    pairs = MESH.chosen(sources, targets, "hosts")
    for host in ("h2", "h3"):
        on_it = [t for t in targets if t["host"] == host]
        made = [(s["name"], t["name"]) for s, t in pairs if t["host"] == host]
        assert len(made) == max(here, len(on_it)) == len(set(made))
        assert {s for s, dummy in made} == {s["name"] for s in sources}
        assert {t for dummy, t in made} == {t["name"] for t in on_it}


def test_the_seed_on_two_hosts_is_pinged_the_same_either_way():
    sources, targets = containers("h1", 2), containers("h2", 1)
    assert sorted(names(MESH.chosen(sources, targets, "hosts"))) == sorted(names(MESH.chosen(sources, targets, "pairs")))


def test_fifty_containers_on_six_hosts_are_a_few_hundred_pings_not_two_thousand():
    hosts = {"h%d" % i: containers("h%d" % i, 8 + (i < 3)) for i in range(1, 7)}
    count = {mode: sum(len(MESH.chosen(mine, [t for h, theirs in hosts.items() if h != me for t in theirs], mode))
                       for me, mine in hosts.items()) for mode in ("hosts", "pairs")}
    assert sum(len(c) for c in hosts.values()) == 50
    assert count["pairs"] == 50 * 50 - sum(len(c) ** 2 for c in hosts.values())
    assert count["hosts"] <= 6 * 5 * 9 < count["pairs"] // 4
