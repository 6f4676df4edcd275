# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one exception family: every module turns a NetlabError into fail_json in one place
(_converge.run), so every failure reads the same way: the object, what went wrong, what to do."""

from __future__ import annotations


class NetlabError(Exception):
    """A failure a module reports; the message names the object and the fix."""


class InputError(NetlabError, ValueError):
    """Input that cannot be applied, found before anything was changed."""


class NetlinkFailure(NetlabError):
    """A netlink request failed."""


class OvsdbError(NetlabError):
    """An OVSDB server could not be reached, read or changed."""


class DockerFailure(NetlabError):
    """The Docker API could not be reached or refused a request."""


class StepFailure(NetlabError):
    """A step of an apply failed; what the run had made for it was removed."""
