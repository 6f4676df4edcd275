# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_link_env against what the lab's real dockerd injects into real linked containers."""

from __future__ import annotations

import json
import subprocess
import uuid

import pytest

MODULE = "encompass.netlab.docker_link_env"
BASE = "encompass/netlab-base:bookworm"
PREFIX = "netlab-lt-" + uuid.uuid4().hex[:6]

# Source images: several exposed ports, UDP, ranges, ENV entries (one with '=' in its value).
IMAGES = {
    "mongo": "EXPOSE 27017 27018\nENV MONGO_VERSION=7.0 HOME=/data",
    "es": "EXPOSE 9200 9300\nENV cluster.name=encsearchdb ES_JAVA_OPTS=\"-Xms1g -Xmx1g\"",
    "mixed": "EXPOSE 53/udp 53/tcp 7000-7002 9000/udp 9001/udp 9002/tcp\nENV FOO=bar EQ=a=b=c",
    "wide": "EXPOSE 7000-7010 7005/udp 6999/udp 8000/sctp",
    "bare": "",
}


def docker(*argv, check=True):
    return subprocess.run(["docker", *argv], capture_output=True, text=True, check=check)


def name(suffix):
    return "%s-%s" % (PREFIX, suffix)


@pytest.fixture(scope="module", autouse=True)
def images(tmp_path_factory):
    assert docker("image", "inspect", BASE, check=False).returncode == 0, "build the base image first (make images)"
    for key, body in IMAGES.items():
        context = tmp_path_factory.mktemp(key)
        (context / "Dockerfile").write_text("FROM %s\n%s\n" % (BASE, body))
        docker("build", "-q", "-t", "%s:%s" % (PREFIX, key), str(context))
    yield
    ids = docker("ps", "-aq", "--filter", "name=" + PREFIX).stdout.split()
    if ids:
        docker("rm", "-f", *ids)
    docker("rmi", "-f", *["%s:%s" % (PREFIX, key) for key in IMAGES], check=False)


def run(suffix, image, *options):
    docker("rm", "-f", name(suffix), check=False)
    docker("run", "-d", "--name", name(suffix), *options, "%s:%s" % (PREFIX, image), "sleep", "600")
    return name(suffix)


def pid1_env(container):
    out = docker("exec", container, "cat", "/proc/1/environ").stdout
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def injected(recipient_suffix, links):
    """What Docker really injects: the recipient's environment minus that of the same run without links."""
    plain = pid1_env(run(recipient_suffix + "-plain", "bare", "--hostname", "r"))
    options = [arg for link in links for arg in ("--link", link)]
    recipient = run(recipient_suffix, "bare", "--hostname", "r", *options)
    env = pid1_env(recipient)
    hosts = [line for line in docker("exec", recipient, "cat", "/etc/hosts").stdout.splitlines()
             if line and not line.startswith("#")]
    return recipient, {k: v for k, v in env.items() if k not in plain}, hosts


CASES = {
    "seed": ([("mongo", ["-e", "EXTRA=1"]), ("es", [])], ["{mongo}:db", "{es}:es"]),
    "mixed-with-dash-alias": ([("mixed", ["-p", "127.0.0.1::8080"])], ["{mixed}:my-db"]),
    "wide-range-udp-sctp": ([("wide", [])], ["{wide}:w"]),
    "no-ports-alias-equals-name": ([("bare", [])], ["{bare}"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_env_equals_what_dockerd_injects(module, case):
    sources, link_specs = CASES[case]
    names = {}
    for image, options in sources:
        names[image] = run("%s-%s" % (case, image), image, "--hostname", "h-" + image, *options)
    links = [spec.format(**names) for spec in link_specs]
    recipient, real_env, real_hosts = injected("%s-rcpt" % case, links)

    result = module(MODULE, {"links": links, "recipient": recipient})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["algorithm"] == "v27"
    assert set(result["env"].items()) == set(real_env.items())
    assert set(result["hosts"]) <= set(real_hosts)
    assert len(result["hosts"]) == len(links)


def test_dict_links_and_addresses_override(module):
    source = run("override-src", "mongo")
    result = module(MODULE, {"links": [{"name": source, "alias": "db"}], "recipient": "Tomcat",
                             "addresses": {"db": "192.0.2.50"}, "algorithm": "v28"})
    assert result["env"]["DB_PORT_27017_TCP_ADDR"] == "192.0.2.50"
    assert result["env"]["DB_PORT_27017_TCP_START"] == "tcp://192.0.2.50:27017"  # v28: two ports make a range
    assert result["env"]["DB_NAME"] == "/Tomcat/db"
    assert result["links"] == [{"name": source, "alias": "db", "address": "192.0.2.50", "ports": ["27017/tcp", "27018/tcp"]}]


def test_published_mode(module):
    source = run("published", "mongo", "-p", "127.0.0.1:28017:27017", "-p", "28018:27018")
    args = {"links": ["%s:db" % source], "recipient": "Tomcat", "published": True}
    result = module(MODULE, args)
    assert result["failed"] is True
    assert "port 27018/tcp is published on all host addresses; set host_address" in result["msg"]

    result = module(MODULE, dict(args, host_address="192.0.2.10"))
    env = result["env"]
    assert env["DB_PORT"] == "tcp://127.0.0.1:28017"
    assert (env["DB_PORT_27017_TCP_ADDR"], env["DB_PORT_27017_TCP_PORT"]) == ("127.0.0.1", "28017")
    assert (env["DB_PORT_27018_TCP_ADDR"], env["DB_PORT_27018_TCP_PORT"]) == ("192.0.2.10", "28018")


def test_published_mode_leaves_out_unpublished_ports(module):
    source = run("half-published", "es", "-p", "127.0.0.1:29200:9200")
    env = module(MODULE, {"links": ["%s:es" % source], "recipient": "t", "published": True})["env"]
    assert env["ES_PORT_9200_TCP"] == "tcp://127.0.0.1:29200"
    assert not [k for k in env if "9300" in k]


def test_dest_check_apply_idempotent_and_usable(module, tmp_path):
    source = run("dest-src", "mixed")
    dest = tmp_path / "links.env"
    args = {"links": ["%s:db" % source], "recipient": "Tomcat", "dest": str(dest), "mode": "0640"}

    predicted = module(MODULE, args, check=True, diff=True)
    assert predicted["changed"] is True and not dest.exists()
    assert predicted["diff"][0]["before"] == "" and "DB_PORT_53_TCP_ADDR=" in predicted["diff"][0]["after"]

    applied = module(MODULE, args, diff=True)
    assert applied["changed"] is True and dest.read_text() == predicted["diff"][0]["after"]
    assert oct(dest.stat().st_mode & 0o777) == "0o640"
    assert module(MODULE, args, check=True)["changed"] is False
    assert module(MODULE, args)["changed"] is False

    # docker run --env-file reads the file back to the same variables.
    out = docker("run", "--rm", "--env-file", str(dest), BASE, "cat", "/proc/1/environ").stdout
    back = dict(item.split("=", 1) for item in out.split("\0") if item.startswith("DB_"))
    assert back == applied["env"]

    # The shell format, sourced by a real shell, gives the same values.
    shell = tmp_path / "links.sh"
    module(MODULE, dict(args, dest=str(shell), format="shell"))
    out = subprocess.run(["sh", "-c", ". %s && env -0" % shell], capture_output=True, text=True, check=True).stdout
    assert dict(i.split("=", 1) for i in out.split("\0") if i.startswith("DB_")) == applied["env"]

    # A changed source is corrected in place.
    dest.write_text("DB_PORT=stale\n")
    fixed = module(MODULE, args, diff=True)
    assert fixed["changed"] is True and fixed["diff"][0]["before"] == "DB_PORT=stale\n"
    assert dest.read_text() == predicted["diff"][0]["after"]


@pytest.mark.parametrize(
    "links, extra, message",
    [
        (["{missing}:db"], {}, "link {missing}:db: no container named {missing}; create it first"),
        (["{stopped}:db"], {}, "container {stopped} is not running, and Docker refuses a link to it"),
        (["{running}:db", "{running}:db"], {}, "alias 'db' is used by two links"),
        (["{running}:my-db", "{running}:my_db"], {}, "'my-db' and 'my_db' both give the variable prefix MY_DB_"),
        (["{running}:a/b"], {}, "contains '/' or ':'"),
        (["{running}:db:x"], {}, "bad format, Docker rejects it"),
        (["{nobridge}:db"], {}, "container {nobridge} has no IPv4 address on the default bridge; give one in addresses.db"),
        (["{running}:db"], {"addresses": {"db": "not-an-ip"}}, "addresses.db: 'not-an-ip' is not an IP address"),
        (["{running}:db"], {"addresses": {"es": "192.0.2.1"}}, "addresses names aliases that no link has: es"),
        (["{running}:db"], {"docker_host": "unix:///nonexistent.sock"}, "Docker at unix:///nonexistent.sock"),
    ],
)
def test_errors_name_the_link(module, tmp_path, links, extra, message):
    names = {"missing": name("does-not-exist"), "running": run("err-running", "bare")}
    stopped = run("err-stopped", "bare")
    docker("stop", "-t", "0", stopped)
    names["stopped"] = stopped
    docker("network", "create", name("net"), check=False)
    names["nobridge"] = run("err-nobridge", "bare", "--network", name("net"))
    dest = tmp_path / "never.env"
    result = module(MODULE, dict({"links": [l.format(**names) for l in links], "recipient": "t", "dest": str(dest)}, **extra))
    assert result["failed"] is True
    assert message.format(**names) in result["msg"], result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert not dest.exists(), "a failed run wrote its file"


def test_nobridge_source_works_with_an_address(module):
    docker("network", "create", name("net2"), check=False)
    source = run("nobridge-ok", "mongo", "--network", name("net2"))
    result = module(MODULE, {"links": ["%s:db" % source], "recipient": "t", "addresses": {"db": "10.9.8.7"}})
    assert result["env"]["DB_PORT"] == "tcp://10.9.8.7:27017"


def teardown_module():
    for net in ("net", "net2"):
        docker("network", "rm", name(net), check=False)


def test_connection_options_fall_back_to_the_docker_environment_variables():
    """Like community.docker's modules: DOCKER_HOST (and the other DOCKER_* variables) apply when the task
    sets no connection option; an explicit docker_host wins."""
    from conftest import run_module  # pylint: disable=import-outside-toplevel,import-error
    args = {"links": [name("mongo-src") + ":db"], "recipient": "r"}
    failed = run_module(MODULE, args, environment={"DOCKER_HOST": "unix:///run/netlab-no-such.sock"})
    assert failed.get("failed") and "unix:///run/netlab-no-such.sock" in failed["msg"], failed
    assert "DOCKER_HOST" in failed["msg"]
    explicit = run_module(MODULE, dict(args, docker_host="unix:///var/run/docker.sock"),
                          environment={"DOCKER_HOST": "unix:///run/netlab-no-such.sock"})
    assert not explicit.get("failed") or "netlab-no-such" not in explicit["msg"], explicit
