# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""encompass.netlab.topology_report: the report's files written on the controller by the action itself (one task, no
module run per file), with topology.svg drawn by Graphviz where it is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

NAMES = ("topology.json", "topology.dot", "topology.md")
SPEC = dict(
    dest=dict(type="path", required=True),
    files=dict(type="dict", default={}),
    svg=dict(type="str"),
    mode=dict(type="str", default="0644"),
)


def write(path, data, mode):
    """Replace path with data atomically (a reader never sees half a file); leave it alone when it holds data."""
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, int(mode, 8))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=SPEC)
        del validation
        unknown = sorted(set(args["files"]) - set(NAMES))
        if unknown:
            return dict(result, failed=True, msg="topology_report: files may be %s, not %s" % (", ".join(NAMES), ", ".join(unknown)))
        dot = shutil.which("dot")
        result.update(changed=False, graphviz=dot, controller_root=os.geteuid() == 0, written=[], svg=False)
        if self._task.check_mode:
            # The report is the run's output: check mode writes none of it.
            result["msg"] = "check mode: nothing written"
            return result
        try:
            os.makedirs(args["dest"], mode=0o755, exist_ok=True)
            for name in NAMES:
                if name in args["files"]:
                    text = to_text(args["files"][name])
                    write(os.path.join(args["dest"], name), to_bytes(text if text.endswith("\n") else text + "\n"), args["mode"])
                    result["written"].append(name)
            if args["svg"] is not None and dot:
                # Graphviz 2.43's dot can fail to rank a large graph with clusters ("trouble in init_rank", seen with
                # 50 containers on 6 hosts) under either ranking: the other one is tried, then the run goes on without
                # the drawing (the probes decide the verdict, and topology.dot is written).
                source = to_text(args["svg"])
                for attempt in (source, source.replace("newrank=true", "newrank=false")):
                    drawn = subprocess.run([dot, "-Tsvg"], input=to_bytes(attempt), capture_output=True, check=False)
                    if drawn.returncode == 0 or attempt == source.replace("newrank=true", "newrank=false"):
                        break
                if drawn.returncode != 0:
                    result.setdefault("warnings", []).append(
                        "topology_report: Graphviz could not draw topology.svg (%s); topology.json, .dot and .md are"
                        " written" % " ".join(to_text(drawn.stderr).split())[:300])
                    return result
                write(os.path.join(args["dest"], "topology.svg"), drawn.stdout, args["mode"])
                result["written"].append("topology.svg")
                result["svg"] = True
        except OSError as exc:
            return dict(result, failed=True, msg="topology_report: cannot write the report into %s: %s; set verify_report_dir to a"
                        " folder the user running Ansible may write" % (args["dest"], exc.strerror or exc))
        return result
