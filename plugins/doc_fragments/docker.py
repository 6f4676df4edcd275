# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:

    # Connection options to the Docker API, named as community.docker's modules name them.
    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker daemon's address, for example V(unix:///var/run/docker.sock) or V(tcp://192.0.2.23:2376).
      - When not set, the E(DOCKER_HOST) environment variable, else the local socket.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  api_version:
    description: The Docker API version to speak; V(auto) negotiates it. When not set, E(DOCKER_API_VERSION).
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description: Seconds to wait for an answer from the Docker API. When not set, E(DOCKER_TIMEOUT).
    type: int
    default: 60
  tls:
    description: Use TLS without verifying the daemon's certificate. When not set, E(DOCKER_TLS).
    type: bool
    default: false
  validate_certs:
    description: Use TLS and verify the daemon's certificate. When not set, E(DOCKER_TLS_VERIFY).
    type: bool
    default: false
    aliases: [tls_verify]
  ca_path:
    description: The CA certificate that signed the daemon's certificate; when not set, C(ca.pem) in E(DOCKER_CERT_PATH).
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description: The client's TLS certificate; when not set, C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description: The client's TLS key; when not set, C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
    aliases: [tls_client_key, key_path]
  tls_hostname:
    description: The host name expected in the daemon's certificate, when O(validate_certs=true). When not set, E(DOCKER_TLS_HOSTNAME).
    type: str
requirements:
  - docker (the Docker SDK for Python) >= 5.0.0
"""
