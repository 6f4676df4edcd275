# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stack_policy's model: the input checked, the batch it renders, and nft's listing read back into the same model
(nft lists a one-element set as the element itself). On real nftables: tests/integration/test_stack_policy.py."""

from __future__ import annotations

import pytest

from ansible_collections.encompass.netlab.plugins.module_utils import _nft

RULES = [dict(name="mongodb", endpoints=[dict(address="10.0.0.3", port=27018), dict(address="10.0.0.3", port=27017)],
              sources=["10.0.0.9", "10.0.0.1"])]


def listing(model, collapse=False):
    """What `nft -j list ruleset` gives for the rendered batch (rules with handles; optionally one-element sets
    collapsed as nft prints them)."""
    out = [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "ip", "name": "filter", "handle": 1}}]
    handle = 10
    for command in _nft.render("t", model, set())["nftables"]:
        for kind, body in command["add"].items():
            item = dict(body, handle=handle)
            handle += 1
            if kind == "rule" and collapse:
                for expr in item["expr"]:
                    right = (expr.get("match") or {}).get("right")
                    if isinstance(right, dict) and len(right.get("set", [])) == 1:
                        expr["match"]["right"] = right["set"][0]
            out.append({kind: item})
    return {"nftables": out}


def test_rules_are_checked_and_sorted():
    model = _nft.check_rules(RULES)
    assert model == {"mongodb": {"tcp": {"endpoints": [("10.0.0.3", 27017), ("10.0.0.3", 27018)],
                                         "sources": ["10.0.0.1", "10.0.0.9"]}}}


@pytest.mark.parametrize("rule,message", [
    (dict(name="m", endpoints=[dict(address="10.0.0.256", port=1)]), "endpoint '10.0.0.256' is not an IPv4 address"),
    (dict(name="m", endpoints=[dict(address="10.0.0.1", port=70000)]), "port 70000 of 10.0.0.1"),
    (dict(name="m", endpoints=[dict(address="10.0.0.1", port=1, protocol="sctp")]), "protocol sctp"),
    (dict(name="m", sources=["::1"]), "source '::1' is not an IPv4 address"),
    (dict(name="-m"), "the name must be"),
])
def test_bad_rules_are_refused(rule, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        _nft.check_rules([rule])


@pytest.mark.parametrize("collapse", [False, True])
def test_a_rendered_table_reads_back_as_its_model(collapse):
    model = _nft.check_rules(RULES + [dict(name="es", endpoints=[dict(address="10.0.0.2", port=9200)], sources=["10.0.0.1"])])
    read = _nft.read_tables(listing(model, collapse), "t")
    assert read == _nft.model_view(model)
    assert set(read) == {"bridge", "inet"} and set(read["inet"]) == {"forward", "input"}
    assert _nft.current_sources(read) == {("mongodb", "tcp"): ["10.0.0.1", "10.0.0.9"], ("es", "tcp"): ["10.0.0.1"]}


def test_other_tables_are_not_read_and_foreign_rules_are_marked():
    model = _nft.check_rules(RULES)
    data = listing(model)
    data["nftables"].append({"rule": {"family": "bridge", "table": "t", "chain": "forward", "handle": 99,
                                      "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                                          "right": "10.0.0.1"}}, {"drop": None}]}})
    data["nftables"].append({"rule": {"family": "ip", "table": "filter", "chain": "FORWARD", "handle": 7, "expr": []}})
    read = _nft.read_tables(data, "t")
    assert read["bridge"]["forward"][-1] == {"foreign": 99}
    assert read != _nft.model_view(model)
    assert _nft.read_tables(data, "other") == {}


def test_no_sources_renders_a_drop_for_everything():
    expr = _nft.rule_expr("tcp", [("10.0.0.3", 27017)], [])
    assert len(expr) == 2 and expr[-1] == {"drop": None}
    assert _nft.parse_rule(expr) == ("tcp", [("10.0.0.3", 27017)], [])


class FakeModule:
    """Only what stack_policy's Policy reads before it lists the ruleset: a host without nft."""

    def __init__(self, check_mode, state="present"):
        self.check_mode = check_mode
        self.params = dict(rules=RULES, state=state, table="encompass_netlab")

    @staticmethod
    def get_bin_path(name):
        del name


def test_check_mode_without_nft_predicts_the_whole_policy():
    from ansible_collections.encompass.netlab.plugins.modules import stack_policy  # pylint: disable=import-outside-toplevel
    from ansible_collections.encompass.netlab.plugins.module_utils._errors import InputError  # pylint: disable=import-outside-toplevel

    policy = stack_policy.Policy(FakeModule(check_mode=True))
    before = policy.read()
    steps = policy.plan(before)
    assert before == {} and [s.kind for s in steps] == ["write"] and policy.pending()
    assert policy.predict(before, steps) == _nft.model_view(_nft.check_rules(RULES))
    with pytest.raises(InputError, match="install the Debian package nftables"):
        stack_policy.Policy(FakeModule(check_mode=False))


@pytest.mark.parametrize("check_mode", [True, False])
def test_absent_without_nft_has_nothing_to_remove(check_mode):
    """teardown.yml on a host the policy never reached (nftables not installed): no table, no change, no failure."""
    from ansible_collections.encompass.netlab.plugins.modules import stack_policy  # pylint: disable=import-outside-toplevel

    policy = stack_policy.Policy(FakeModule(check_mode=check_mode, state="absent"))
    before = policy.read()
    assert before == {} and policy.plan(before) == [] and not policy.pending()
