# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""topology_report draws topology.svg with the controller's Graphviz; a drawing Graphviz cannot make (here a graph it
cannot parse, as real as the ranking failure 50 containers on 6 hosts met) leaves the run going, with a warning."""

from __future__ import annotations

import shutil

import pytest

from conftest import run_module  # pylint: disable=import-error

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot on the controller")


def test_a_drawing_graphviz_cannot_make_is_a_warning_not_a_failure(tmp_path):
    args = {"dest": str(tmp_path), "files": {"topology.json": "{}"}}
    drawn = run_module("encompass.netlab.topology_report", dict(args, svg="digraph { a -> b; }"))
    assert not drawn.get("failed") and drawn["svg"] is True, drawn
    assert (tmp_path / "topology.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    (tmp_path / "topology.svg").unlink()
    broken = run_module("encompass.netlab.topology_report", dict(args, svg="digraph { a -> ; newrank=true }"))
    assert not broken.get("failed") and broken["svg"] is False, broken
    assert broken["written"] == ["topology.json"] and not (tmp_path / "topology.svg").exists()
    assert any("Graphviz could not draw topology.svg (Error: " in w for w in broken.get("warnings", [])), broken
