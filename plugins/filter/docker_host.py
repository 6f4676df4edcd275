# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic for a Docker host the user already runs: daemon.json merged key by key (the user's keys stay, a key
the role stops managing gets its old value back) and image names compared the way Docker reads them."""

from __future__ import annotations

import copy
import json
import re

from ansible.errors import AnsibleFilterError

# The last path component of a reference carries the tag; a registry's port (host:5000/name) does not count.
_TAGGED = re.compile(r"^[^@]*:[^/:]+$")


def image_reference(name):
    """The reference Docker lists an image under: a name without tag or digest means NAME:latest."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise AnsibleFilterError("image_reference: %r is not an image name" % (name,))
    if "@" in name or _TAGGED.match(name):
        return name
    return name + ":latest"


def image_labels(images, label):
    """Each tag of images (docker_image_info's images) -> the value of the image's label named label ('' without it).
    An image without tags (dangling) adds nothing."""
    if not isinstance(images, list) or not isinstance(label, str) or not label:
        raise AnsibleFilterError("image_labels: give a list of images (docker_image_info's images) and a label name")
    out = {}
    for image in images:
        labels = ((image or {}).get("Config") or {}).get("Labels") or {}
        for tag in (image or {}).get("RepoTags") or []:
            out[tag] = labels.get(label, "")
    return out


def docker_daemon_config(current, wanted, record=None, path="daemon.json"):
    """Merge the settings the role manages into the daemon configuration the host has.

    current: daemon.json, parsed (a dict) or as text (empty when there is none); path names it in errors.
    wanted: key -> value for every key the role manages; None means "not set by the role now".
    record: what the previous runs recorded, {"managed": {key: {"had": bool, "original": value}}}: whether the key was in
      the file before the role first set it, and its value then.
    Every key neither wanted nor recorded stays as it is. A wanted key is set (its earlier value recorded the first
    time); a recorded key that is no longer wanted gets its original value back (or goes, when the file had none).
    Returns {"config": dict, "record": dict, "differ": [keys whose value differs from current]}.
    """
    if isinstance(current, str):
        try:
            current = json.loads(current) if current.strip() else {}
        except ValueError as exc:
            raise AnsibleFilterError("%s is not valid JSON (%s); dockerd cannot read it either: fix or remove it."
                                     " Nothing was changed." % (path, exc)) from None
    if not isinstance(current, dict):
        raise AnsibleFilterError("%s must hold a JSON object, not %s; fix or remove it. Nothing was changed."
                                 % (path, type(current).__name__))
    if not isinstance(wanted, dict):
        raise AnsibleFilterError("docker_daemon_config: wanted must be a dict of key to value")
    recorded = copy.deepcopy((record or {}).get("managed", {})) if isinstance(record, dict) else {}
    config = copy.deepcopy(current)
    for key, value in sorted(wanted.items()):
        if value is not None:
            if key not in recorded:
                recorded[key] = {"had": key in current, "original": current.get(key)}
            config[key] = value
    for key in sorted(set(recorded) - {k for k, v in wanted.items() if v is not None}):
        original = recorded.pop(key)
        if original.get("had"):
            config[key] = original.get("original")
        else:
            config.pop(key, None)
    differ = sorted(k for k in set(current) | set(config) if current.get(k, _ABSENT) != config.get(k, _ABSENT))
    return {"config": config, "record": {"managed": recorded}, "differ": differ}


_ABSENT = object()


class FilterModule:
    def filters(self):
        return {"docker_daemon_config": docker_daemon_config, "image_labels": image_labels, "image_reference": image_reference}
