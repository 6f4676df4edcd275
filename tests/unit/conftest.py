# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Make the checkout importable as ansible_collections.encompass.netlab (see `make link`)."""

from __future__ import annotations

import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / ".collections"
if not (COLLECTIONS / "ansible_collections" / "encompass" / "netlab").exists():
    raise RuntimeError("run `make link` first: %s is missing" % COLLECTIONS)
sys.path.insert(0, str(COLLECTIONS))
