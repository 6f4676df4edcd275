# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The link-variable computation against what real engines inject."""

from __future__ import annotations

import itertools
import random

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils._link_env import (
    LinkError,
    Port,
    algorithm_for,
    as_dict,
    check_prefixes,
    env_prefix,
    hosts_line,
    link_env,
    parse_link,
    parse_port,
    render,
    valid_address,
)

IP = "172.17.0.2"
SOURCE_ENV = ["PATH=/usr/local/sbin:/usr/bin", "FOO=bar", "EQ=a=b=c", "HOME=/root", "EXTRA=1", "NOVALUE"]
EXPOSED = ["27017/tcp", "27018/tcp", "53/udp", "53/tcp", "7000/tcp", "7001/tcp", "7002/tcp",
           "9000/udp", "9001/udp", "9002/tcp", "8080/tcp"]


def ports(specs, addr=IP):
    return [Port(num, proto, addr) for num, proto in map(parse_port, specs)]


def per_port(prefix, num, proto, addr=IP):
    key = "%s_PORT_%d_%s" % (prefix, num, proto.upper())
    return {key: "%s://%s:%d" % (proto, addr, num), key + "_ADDR": addr, key + "_PORT": str(num), key + "_PROTO": proto}


# Read from /proc/1/environ of a container started with `--link lksrc:my-db` on dockerd 20.10.24
# (the source built FROM the base image with the EXPOSE/ENV above, run with -e EXTRA=1 -p 8080).
DOCKER_20_10 = {
    "MY_DB_ENV_EQ": "a=b=c", "MY_DB_ENV_EXTRA": "1", "MY_DB_ENV_FOO": "bar",
    "MY_DB_NAME": "/lkdst/my-db",
    "MY_DB_PORT": "tcp://172.17.0.2:53",
    "MY_DB_PORT_7000_TCP_END": "tcp://172.17.0.2:7002", "MY_DB_PORT_7000_TCP_PORT_END": "7002",
    "MY_DB_PORT_7000_TCP_PORT_START": "7000", "MY_DB_PORT_7000_TCP_START": "tcp://172.17.0.2:7000",
    "MY_DB_PORT_9000_TCP_END": "tcp://172.17.0.2:9002", "MY_DB_PORT_9000_TCP_PORT_END": "9002",
    "MY_DB_PORT_9000_UDP_PORT_START": "9000", "MY_DB_PORT_9000_UDP_START": "udp://172.17.0.2:9000",
}
for _spec in EXPOSED:
    _num, _proto = parse_port(_spec)
    DOCKER_20_10.update(per_port("MY_DB", _num, _proto))


def test_v27_matches_docker_20_10_exactly():
    got = as_dict(link_env("lkdst", "my-db", ports(EXPOSED), SOURCE_ENV, "v27"))
    assert got == DOCKER_20_10


@pytest.mark.parametrize("seed", range(20))
def test_result_does_not_depend_on_the_order_docker_lists_ports(seed):
    shuffled = list(EXPOSED)
    random.Random(seed).shuffle(shuffled)
    for algorithm in ("v27", "v28"):
        assert as_dict(link_env("r", "db", ports(shuffled), [], algorithm)) == as_dict(link_env("r", "db", ports(EXPOSED), [], algorithm))


def test_v28_rules():
    got = as_dict(link_env("lkdst", "my-db", ports(EXPOSED), SOURCE_ENV, "v28"))
    expected = {k: v for k, v in DOCKER_20_10.items() if "_START" not in k and "_END" not in k}
    expected["MY_DB_PORT"] = "tcp://172.17.0.2:53"  # the first TCP port
    for start, end, proto in ((7000, 7002, "tcp"), (27017, 27018, "tcp"), (9000, 9001, "udp")):
        key = "MY_DB_PORT_%d_%s" % (start, proto.upper())
        expected[key + "_START"] = "%s://%s:%d" % (proto, IP, start)
        expected[key + "_PORT_START"] = str(start)
        expected[key + "_END"] = "%s://%s:%d" % (proto, IP, end)
        expected[key + "_PORT_END"] = str(end)
    assert got == expected


def test_default_port_differs_between_generations():
    # Docker 28 changed it: the lowest port overall (v27) against the first TCP port (v28).
    specs = ["53/udp", "80/tcp"]
    assert as_dict(link_env("r", "db", ports(specs), [], "v27"))["DB_PORT"] == "udp://%s:53" % IP
    assert as_dict(link_env("r", "db", ports(specs), [], "v28"))["DB_PORT"] == "tcp://%s:80" % IP


def test_default_port_tcp_wins_a_tie():
    for algorithm in ("v27", "v28"):
        assert as_dict(link_env("r", "db", ports(["53/udp", "53/tcp"]), [], algorithm))["DB_PORT"] == "tcp://%s:53" % IP


def test_v28_only_udp_takes_lowest_udp():
    assert as_dict(link_env("r", "db", ports(["9001/udp", "9000/udp"]), [], "v28"))["DB_PORT"] == "udp://%s:9000" % IP


def test_v28_non_tcp_protocols_sort_by_name():
    got = link_env("r", "db", ports(["5/udp", "9/sctp"]), [], "v28")
    assert got[0] == ("DB_PORT", "sctp://%s:9" % IP)


def test_two_consecutive_ports_make_a_range_only_in_v28():
    v27 = as_dict(link_env("r", "db", ports(["27017", "27018"]), [], "v27"))
    v28 = as_dict(link_env("r", "db", ports(["27017", "27018"]), [], "v28"))
    assert not [k for k in v27 if k.endswith(("_START", "_END"))]
    assert v28["DB_PORT_27017_TCP_START"] == "tcp://%s:27017" % IP
    assert v28["DB_PORT_27017_TCP_END"] == "tcp://%s:27018" % IP


def test_v27_range_across_protocols_and_duplicate_numbers():
    # 53/tcp, 53/udp, 54/tcp: Docker 27 counts the repeated 53 as a step and ignores protocols.
    got = as_dict(link_env("r", "db", ports(["54/tcp", "53/udp", "53/tcp"]), [], "v27"))
    assert got["DB_PORT_53_TCP_START"] == "tcp://%s:53" % IP
    assert got["DB_PORT_53_TCP_END"] == "tcp://%s:54" % IP
    assert got["DB_PORT_53_TCP_PORT_END"] == "54"


def test_v28_range_needs_one_protocol():
    got = as_dict(link_env("r", "db", ports(["9000/udp", "9001/tcp"]), [], "v28"))
    assert not [k for k in got if k.endswith(("_START", "_END"))]


def test_v28_two_ranges_back_to_back():
    got = as_dict(link_env("r", "db", ports(["80", "81", "83", "84"]), [], "v28"))
    assert got["DB_PORT_80_TCP_END"] == "tcp://%s:81" % IP
    assert got["DB_PORT_83_TCP_END"] == "tcp://%s:84" % IP
    assert "DB_PORT_81_TCP_START" not in got


def test_v27_long_and_broken_runs():
    got = as_dict(link_env("r", "db", ports(["1", "2", "3", "4", "6", "7", "8", "10"]), [], "v27"))
    assert got["DB_PORT_1_TCP_END"] == "tcp://%s:4" % IP
    assert got["DB_PORT_6_TCP_END"] == "tcp://%s:8" % IP
    assert not [k for k in got if k.startswith("DB_PORT_10_TCP_") and k.endswith(("_START", "_END"))]


def test_no_exposed_ports_gives_only_name_and_env():
    assert as_dict(link_env("tomcat", "db", [], ["A=1"], "v27")) == {"DB_NAME": "/tomcat/db", "DB_ENV_A": "1"}
    assert as_dict(link_env("tomcat", "db", [], [], "v28")) == {"DB_NAME": "/tomcat/db"}


def test_environment_rules():
    got = as_dict(link_env("r", "db", [], SOURCE_ENV + ["lower=x", "EMPTY="], "v27"))
    assert got["DB_ENV_EQ"] == "a=b=c"  # split at the first '='
    assert got["DB_ENV_lower"] == "x"  # names keep their case
    assert got["DB_ENV_EMPTY"] == ""
    for skipped in ("DB_ENV_HOME", "DB_ENV_PATH", "DB_ENV_NOVALUE"):
        assert skipped not in got


@pytest.mark.parametrize("alias, prefix", [("db", "DB"), ("my-db", "MY_DB"), ("my.db", "MY.DB"), ("-x", "_X"), ("Mixed_Case", "MIXED_CASE")])
def test_alias_normalisation(alias, prefix):
    assert env_prefix(alias) == prefix
    assert as_dict(link_env("r", alias, [], [], "v27"))[prefix + "_NAME"] == "/r/" + alias


def test_published_endpoints_keep_container_names():
    published = [Port(27017, "tcp", "192.0.2.10", 32768), Port(27018, "tcp", "192.0.2.10", 32769)]
    got = as_dict(link_env("r", "db", published, [], "v27"))
    assert got["DB_PORT"] == "tcp://192.0.2.10:32768"
    assert got["DB_PORT_27017_TCP"] == "tcp://192.0.2.10:32768"
    assert got["DB_PORT_27017_TCP_ADDR"] == "192.0.2.10"
    assert got["DB_PORT_27017_TCP_PORT"] == "32768"
    assert got["DB_PORT_27018_TCP_PORT"] == "32769"


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("MongoDB:db", ("MongoDB", "db")),
        ("MongoDB", ("MongoDB", "MongoDB")),
        ("/MongoDB:db", ("MongoDB", "db")),
        ({"name": "MongoDB", "alias": "db"}, ("MongoDB", "db")),
        ({"name": "MongoDB"}, ("MongoDB", "MongoDB")),
    ],
)
def test_parse_link(spec, expected):
    assert parse_link(spec) == expected


@pytest.mark.parametrize(
    "spec, message",
    [
        ("a:b:c", "bad format"),
        ("MongoDB:", "alias is empty"),
        (":db", "container name is empty"),
        ("MongoDB:a/b", "contains '/'"),
        ("MongoDB:has space", "broken variable names"),
        ("MongoDB:x=y", "broken variable names"),
        ({"name": "MongoDB", "alias": "db", "extra": 1}, "unknown keys extra"),
        ({"alias": "db"}, "container name is empty"),
        (42, "want a 'name:alias' string"),
    ],
)
def test_parse_link_errors(spec, message):
    with pytest.raises(LinkError, match=message):
        parse_link(spec)


def test_prefix_collisions():
    check_prefixes(["db", "es"])
    with pytest.raises(LinkError, match="'my-db' and 'my_db' both give the variable prefix MY_DB_"):
        check_prefixes(["my-db", "my_db"])
    with pytest.raises(LinkError, match="both give the variable prefix DB_"):
        check_prefixes(["db", "DB"])
    with pytest.raises(LinkError, match="alias 'db' is used by two links"):
        check_prefixes(["db", "db"])


@pytest.mark.parametrize("spec, expected", [("80", (80, "tcp")), ("53/UDP", (53, "udp")), ("65535/sctp", (65535, "sctp"))])
def test_parse_port(spec, expected):
    assert parse_port(spec) == expected


@pytest.mark.parametrize("spec", ["0", "65536", "80/", "x/tcp", "80-81/tcp", ""])
def test_parse_port_errors(spec):
    with pytest.raises(LinkError):
        parse_port(spec)


def test_hosts_line():
    assert hosts_line(IP, "my-db", "srchost", "lksrc") == "172.17.0.2\tmy-db srchost lksrc"
    assert hosts_line(IP, "lksrc", "srchost", "lksrc") == "172.17.0.2\tlksrc srchost"


@pytest.mark.parametrize("version, algorithm", [("20.10.24+dfsg1", "v27"), ("27.5.1", "v27"), ("28.0.0", "v28"), ("29.1.2", "v28"), ("v28.1", "v28")])
def test_algorithm_for(version, algorithm):
    assert algorithm_for(version) == algorithm


def test_algorithm_errors():
    with pytest.raises(LinkError, match="set algorithm"):
        algorithm_for("dev")
    with pytest.raises(LinkError, match="unknown algorithm"):
        link_env("r", "db", [], [], "v26")


def test_as_dict_refuses_conflicts():
    assert as_dict([("A", "1"), ("A", "1")]) == {"A": "1"}
    with pytest.raises(LinkError, match="two values"):
        as_dict([("A", "1"), ("A", "2")])


def test_valid_address():
    assert valid_address("192.0.2.1") == "192.0.2.1"
    assert valid_address("2001:DB8::1") == "2001:db8::1"
    with pytest.raises(LinkError):
        valid_address("192.0.2.300")


def test_render_formats():
    env = {"B": "it's", "A": "plain", "C": "two words", "D": ""}
    assert render(env, "env") == "A=plain\nB=it's\nC=two words\nD=\n"
    assert render(env, "shell") == "export A=plain\nexport B='it'\"'\"'s'\nexport C='two words'\nexport D=''\n"
    with pytest.raises(LinkError, match="not a valid shell name"):
        render({"MY.DB_PORT": "x"}, "shell")
    with pytest.raises(LinkError, match="newline"):
        render({"A": "x\ny"}, "env")


def test_every_variable_belongs_to_its_link():
    # Two links never write each other's variables.
    for algorithm, (a, b) in itertools.product(("v27", "v28"), [("db", "es"), ("my-db", "db")]):
        first = as_dict(link_env("r", a, ports(["1", "2", "3"]), ["X=1"], algorithm))
        second = as_dict(link_env("r", b, ports(["1", "2", "3"]), ["X=1"], algorithm))
        assert not set(first) & set(second)
