# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to the Docker API: connection options (with the environment fallbacks
community.docker's modules use), the SDK check, and errors that say what to do."""

from __future__ import annotations

import os
import traceback

from ansible.module_utils.basic import env_fallback

from ansible_collections.encompass.netlab.plugins.module_utils._errors import DockerFailure

try:
    import docker
    from docker.errors import DockerException, NotFound
    from docker.tls import TLSConfig

    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):  # noqa: N818  pylint: disable=missing-class-docstring
        pass

    class NotFound(DockerException):  # pylint: disable=missing-class-docstring
        pass


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Named as community.docker's modules name them, so module_defaults can serve both, and read from the
# same environment variables when a task does not set them.
DOCKER_ARGUMENT_SPEC = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, aliases=["docker_url"],
                     fallback=(env_fallback, ["DOCKER_HOST"])),
    api_version=dict(type="str", default="auto", aliases=["docker_api_version"],
                     fallback=(env_fallback, ["DOCKER_API_VERSION"])),
    timeout=dict(type="int", default=60, fallback=(env_fallback, ["DOCKER_TIMEOUT"])),
    tls=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS"])),
    validate_certs=dict(type="bool", default=False, aliases=["tls_verify"], fallback=(env_fallback, ["DOCKER_TLS_VERIFY"])),
    ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"]),
    client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"]),
    client_key=dict(type="path", aliases=["tls_client_key", "key_path"], no_log=False),
    tls_hostname=dict(type="str", fallback=(env_fallback, ["DOCKER_TLS_HOSTNAME"])),
)


def _cert_file(params, key, filename):
    """A certificate option, else the file of that name in DOCKER_CERT_PATH (as the docker CLI reads it)."""
    if params.get(key):
        return params[key]
    cert_path = os.environ.get("DOCKER_CERT_PATH")
    if cert_path and os.path.exists(os.path.join(cert_path, filename)):
        return os.path.join(cert_path, filename)
    return None


class DockerAccess:
    """A Docker SDK client built from a module's connection options."""

    def __init__(self, params):
        self.host = params["docker_host"]
        tls = False
        if params["tls"] or params["validate_certs"]:
            cert, key = _cert_file(params, "client_cert", "cert.pem"), _cert_file(params, "client_key", "key.pem")
            tls = TLSConfig(
                client_cert=(cert, key) if cert else None,
                ca_cert=_cert_file(params, "ca_path", "ca.pem"),
                verify=params["validate_certs"],
                assert_hostname=params["tls_hostname"] if params["validate_certs"] else None,
            )
        try:
            self.client = docker.DockerClient(base_url=self.host, version=params["api_version"],
                                              timeout=params["timeout"], tls=tls)
        except DockerException as exc:
            raise self.failure("connecting", exc) from None

    def failure(self, what, exc):
        return DockerFailure("Docker at %s: %s failed: %s; check that dockerd runs and docker_host (or DOCKER_HOST)"
                             " points at it" % (self.host, what, exc))

    def version(self):
        try:
            return self.client.version().get("Version", "")
        except DockerException as exc:
            raise self.failure("reading the version", exc) from None

    def inspect_container(self, name):
        """The container's inspect data, or None when there is no such container."""
        try:
            return self.client.api.inspect_container(name)
        except NotFound:
            return None
        except DockerException as exc:
            raise self.failure("inspecting container %s" % name, exc) from None

    def bridges(self):
        """The Linux bridges of Docker's bridge networks: interface name -> whether containers on it may reach
        each other (the network's enable_icc; false where the daemon runs with icc: false)."""
        try:
            networks = self.client.api.networks()
        except DockerException as exc:
            raise self.failure("listing the networks", exc) from None
        found = {}
        for network in networks:
            if network.get("Driver") == "bridge":
                options = network.get("Options") or {}
                name = options.get("com.docker.network.bridge.name") or "br-" + network["Id"][:12]
                found[name] = options.get("com.docker.network.bridge.enable_icc", "true") == "true"
        return found

    def close(self):
        self.client.close()
