# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The digest of a run's inputs, through the lookup as Ansible runs it (a real templar, real host variables)."""

from __future__ import annotations

import sys

import pytest

from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar, trust_as_template

from ansible_collections.encompass.netlab.plugins.lookup import run_inputs

# Loaded the way Ansible loads a plugin, so that its options come from its DOCUMENTATION.
lookup_loader.add_directory(run_inputs.__file__.rpartition("/")[0])
LOOKUP = lookup_loader.get("run_inputs", loader=DataLoader(), templar=Templar(loader=DataLoader()))
plugin = sys.modules[type(LOOKUP).__module__]


@pytest.fixture(name="collection")
def fixture_collection(tmp_path, monkeypatch):
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "tasks" / "main.yml").write_text("---\n")
    (tmp_path / "playbooks" / "topology").mkdir(parents=True)
    (tmp_path / "playbooks" / "site.yml").write_text("---\n")
    (tmp_path / "galaxy.yml").write_text("version: 1.0.0\n")
    monkeypatch.setattr(plugin, "COLLECTION", str(tmp_path))
    monkeypatch.setattr(plugin, "_CODE_DIGEST", {})
    return tmp_path


def here(**overrides):
    variables = {"inventory_hostname": "h1", "net_mode": "pipework", "tomcat_cluster_name": "{{ cluster }}",
                 "cluster": "a", "ansible_host": "10.0.0.1", "stack__run_inputs": "x",
                 "hostvars": {"h1": {}, "h2": {"net_multihost_underlay_ip": "10.0.0.2", "unrelated": 1}}}
    variables.update(overrides)
    # As Ansible reads them from YAML: templates it trusts.
    return {name: trust_as_template(value) if isinstance(value, str) else value for name, value in variables.items()}


def lookup(variables, hosts=("h1", "h2"), **options):
    plugin._CODE_DIGEST.clear()  # pylint: disable=protected-access
    module = lookup_loader.get("run_inputs", loader=DataLoader(), templar=Templar(loader=DataLoader(), variables=variables))
    return module.run([], variables=variables, hosts=list(hosts), **options)[0]


def test_the_roles_variables_count_with_their_values(collection):  # pylint: disable=unused-argument
    base = lookup(here())
    assert len(base) == 64 and lookup(here()) == base
    # The value counts, templated: also where it comes from a variable the pattern does not name.
    assert lookup(here(cluster="b")) != base
    assert lookup(here(tomcat_cluster_name="b")) != base
    assert lookup(here(hostvars={"h1": {}, "h2": {"net_multihost_underlay_ip": "10.0.0.3", "unrelated": 1}})) != base
    assert lookup(here(), hosts=("h1",)) != base
    # Connection settings, the run's own facts (double underscore) and others' variables do not.
    assert lookup(here(ansible_host="10.9.9.9", stack__run_inputs="y")) == base
    assert lookup(here(hostvars={"h1": {}, "h2": {"net_multihost_underlay_ip": "10.0.0.2", "unrelated": 2}})) == base


def test_a_value_not_defined_yet_counts_by_its_error(collection):  # pylint: disable=unused-argument
    first = lookup(here(tomcat_host="{{ stack_wiring.placement.tomcat }}"))
    assert first == lookup(here(tomcat_host="{{ stack_wiring.placement.tomcat }}"))
    assert first != lookup(here(tomcat_host="{{ other.placement.tomcat }}"))


class Unresolved:
    """Stands for another host's value that raises only when it is written out (what Ansible's hostvars hand over for
    a value that templates a role default of the reading host, which the other host does not have)."""

    def __str__(self):
        raise NameError("'stack_elasticsearch_container' is undefined")


def test_another_hosts_value_that_raises_when_written_counts_by_its_error(collection):  # pylint: disable=unused-argument
    unresolved = here(hostvars={"h1": {}, "h2": {"stack_services": {"es": {"container": Unresolved()}}}})
    first = lookup(unresolved)
    assert first == lookup(unresolved) and first != lookup(here())


def test_the_collections_code_counts_and_the_report_does_not(collection):
    base = lookup(here())
    (collection / "playbooks" / "topology" / "topology.json").write_text("{}")
    (collection / "roles" / "r" / "tasks" / "__pycache__").mkdir()
    (collection / "roles" / "r" / "tasks" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert lookup(here()) == base
    (collection / "roles" / "r" / "tasks" / "main.yml").write_text("---\n- name: more\n")
    assert lookup(here()) != base
    (collection / "roles" / "r" / "tasks" / "main.yml").write_text("---\n")
    assert lookup(here()) == base
    (collection / "galaxy.yml").write_text("version: 1.0.1\n")
    assert lookup(here()) != base


def test_the_code_is_read_once_per_process(collection):
    first = plugin.code_digest(str(collection))
    (collection / "roles" / "r" / "tasks" / "main.yml").write_text("---\n- name: more\n")
    assert plugin.code_digest(str(collection)) == first


def test_bad_options_are_lookup_errors(collection):  # pylint: disable=unused-argument
    with pytest.raises(AnsibleLookupError, match="run_inputs: h3 is not a host of the inventory"):
        lookup(here(), hosts=("h3",))
    with pytest.raises(AnsibleLookupError, match="run_inputs: pattern '\\(': "):
        lookup(here(), pattern="(")
