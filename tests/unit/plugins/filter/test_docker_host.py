# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.encompass.netlab.plugins.filter.docker_host import docker_daemon_config, image_labels, image_reference

USER = {"data-root": "/srv/docker", "log-driver": "journald", "registry-mirrors": ["https://mirror.example"],
        "runtimes": {"crun": {"path": "/usr/bin/crun"}}}


def merge(current, wanted, record=None):
    return docker_daemon_config(current, wanted, record)


@pytest.mark.parametrize("name, ref", [
    ("encompass/mongodb", "encompass/mongodb:latest"),
    ("encompass/mongodb:latest", "encompass/mongodb:latest"),
    ("mongo:7", "mongo:7"),
    ("registry:5000/mongo", "registry:5000/mongo:latest"),
    ("registry:5000/team/mongo:7.0", "registry:5000/team/mongo:7.0"),
    ("mongo@sha256:" + "a" * 64, "mongo@sha256:" + "a" * 64),
    ("localhost:5000/x", "localhost:5000/x:latest"),
])
def test_image_reference(name, ref):
    assert image_reference(name) == ref


@pytest.mark.parametrize("bad", ["", " mongo", None, 7])
def test_image_reference_refuses_what_is_no_name(bad):
    with pytest.raises(AnsibleFilterError, match="not an image name"):
        image_reference(bad)


def test_the_users_keys_stay():
    out = merge(USER, {"bip": "172.18.0.1/16", "fixed-cidr": None, "mtu": 1450})
    assert out["config"] == dict(USER, bip="172.18.0.1/16", mtu=1450)
    assert out["record"] == {"managed": {"bip": {"had": False, "original": None}, "mtu": {"had": False, "original": None}}}
    assert out["differ"] == ["bip", "mtu"]


def test_a_key_the_role_stops_setting_gets_the_users_value_back():
    first = merge(dict(USER, mtu=1400), {"bip": "172.18.0.1/16", "mtu": 1450})
    assert first["record"]["managed"]["mtu"] == {"had": True, "original": 1400}
    second = merge(first["config"], {"bip": None, "mtu": None}, first["record"])
    assert second["config"] == dict(USER, mtu=1400)
    assert second["record"] == {"managed": {}}
    assert second["differ"] == ["bip", "mtu"]


def test_the_original_is_recorded_once():
    first = merge({"mtu": 1400}, {"mtu": 1450})
    second = merge(first["config"], {"mtu": 1462}, first["record"])
    assert second["record"]["managed"]["mtu"] == {"had": True, "original": 1400}
    assert merge(second["config"], {"mtu": None}, second["record"])["config"] == {"mtu": 1400}


def test_an_unchanged_host_changes_nothing():
    first = merge(USER, {"bip": "172.30.0.1/16"})
    again = merge(first["config"], {"bip": "172.30.0.1/16"}, first["record"])
    assert again == dict(first, differ=[])


def test_keys_the_role_never_set_are_never_removed():
    out = merge(dict(USER, bip="10.1.0.1/16"), {"bip": None, "mtu": None}, {"managed": {}})
    assert out["config"] == dict(USER, bip="10.1.0.1/16") and out["differ"] == []


def test_options_dict_keys_are_managed_too():
    first = merge(USER, {"log-driver": "json-file"})
    assert first["config"]["log-driver"] == "json-file"
    assert merge(first["config"], {}, first["record"])["config"] == USER


def test_the_input_is_not_modified():
    current = dict(USER)
    merge(current, {"data-root": "/x"})
    assert current == USER


@pytest.mark.parametrize("current", [[], 7, None])
def test_a_configuration_that_is_no_object_is_refused(current):
    with pytest.raises(AnsibleFilterError, match="must hold a JSON object"):
        merge(current, {})


def test_the_file_text_is_parsed():
    assert docker_daemon_config('{"mtu": 1400}\n', {"bip": "10.0.0.1/16"})["config"] == {"mtu": 1400, "bip": "10.0.0.1/16"}
    assert docker_daemon_config("", {})["config"] == {}


@pytest.mark.parametrize("text", ["{", "[1]", '"x"'])
def test_a_file_that_is_no_json_object_is_named(text):
    with pytest.raises(AnsibleFilterError, match="/etc/docker/daemon.json"):
        docker_daemon_config(text, {}, None, "/etc/docker/daemon.json")


def test_image_labels_gives_every_tag_its_images_label():
    images = [{"RepoTags": ["encompass/mongodb:latest", "encompass/mongodb:1"],
               "Config": {"Labels": {"org.encompass.netlab.inputs": "abc", "other": "x"}}},
              {"RepoTags": ["debian:bookworm"], "Config": {"Labels": None}},
              {"RepoTags": None, "Config": {"Labels": {"org.encompass.netlab.inputs": "dangling"}}},
              {"RepoTags": ["plain:1"], "Config": {}}]
    assert image_labels(images, "org.encompass.netlab.inputs") == {
        "encompass/mongodb:latest": "abc", "encompass/mongodb:1": "abc", "debian:bookworm": "", "plain:1": ""}
    assert image_labels([], "x") == {}


@pytest.mark.parametrize("images, label", [(None, "x"), ({"RepoTags": []}, "x"), ([], ""), ([], None)])
def test_image_labels_refuses_what_is_no_image_list(images, label):
    with pytest.raises(AnsibleFilterError, match="image_labels: give a list of images"):
        image_labels(images, label)
