# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to the Docker API: connection options, the SDK check, readable errors."""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import docker
    from docker.errors import APIError, DockerException, NotFound
    from docker.tls import TLSConfig

    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # noqa: N818  pylint: disable=missing-class-docstring
        pass

    class APIError(DockerException):  # pylint: disable=missing-class-docstring
        pass

    class NotFound(APIError):  # pylint: disable=missing-class-docstring
        pass


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Named as community.docker's modules name them, so module_defaults can serve both.
DOCKER_ARGUMENT_SPEC = dict(
    docker_host=dict(type="str", default=os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST, aliases=["docker_url"]),
    api_version=dict(type="str", default="auto", aliases=["docker_api_version"]),
    timeout=dict(type="int", default=60),
    tls=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=False, aliases=["tls_verify"]),
    ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"]),
    client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"]),
    client_key=dict(type="path", aliases=["tls_client_key", "key_path"], no_log=False),
    tls_hostname=dict(type="str"),
)


class DockerAccess:
    """A Docker SDK client built from the module's connection options; failures become fail_json."""

    def __init__(self, module):
        self.module = module
        if not HAS_DOCKER:
            module.fail_json(msg=missing_required_lib("docker (the Docker SDK for Python)"), exception=DOCKER_IMPORT_ERROR)
        params = module.params
        tls = False
        if params["tls"] or params["validate_certs"]:
            client_cert = (params["client_cert"], params["client_key"]) if params["client_cert"] else None
            tls = TLSConfig(
                client_cert=client_cert,
                ca_cert=params["ca_path"],
                verify=params["validate_certs"],
                assert_hostname=params["tls_hostname"] if params["validate_certs"] else None,
            )
        try:
            self.client = docker.DockerClient(
                base_url=params["docker_host"], version=params["api_version"], timeout=params["timeout"], tls=tls
            )
        except DockerException as exc:
            self.fail("connect", exc)

    def fail(self, what, exc):
        self.module.fail_json(
            msg="Docker at %s: %s failed: %s; check that dockerd runs and docker_host points at it"
            % (self.module.params["docker_host"], what, exc)
        )

    def version(self):
        try:
            return self.client.version().get("Version", "")
        except DockerException as exc:
            return self.fail("reading the version", exc)

    def inspect_container(self, name):
        """The container's inspect data, or None when there is no such container."""
        try:
            return self.client.api.inspect_container(name)
        except NotFound:
            return None
        except DockerException as exc:
            return self.fail("inspecting container %s" % name, exc)
