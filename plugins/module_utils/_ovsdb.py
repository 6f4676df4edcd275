# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to OVSDB servers (Open vSwitch's database and OVN's): python-ovs IDL
reads, one transaction a change, and a wait until the change took effect (ovs-vswitchd applied it,
or every OVN chassis did), so that a change the switch refused can be told apart."""

from __future__ import annotations

import os
import time
import traceback

from ansible_collections.encompass.netlab.plugins.module_utils._errors import OvsdbError

try:
    import ovs.db.idl
    import ovs.jsonrpc
    import ovs.poller
    import ovs.stream

    HAS_OVS = True
    OVS_IMPORT_ERROR = None
except ImportError:
    HAS_OVS = False
    OVS_IMPORT_ERROR = traceback.format_exc()

DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"
# Where ovn-ctl's databases listen on the central host.
NB_REMOTE = "unix:/var/run/ovn/ovnnb_db.sock"
SB_REMOTE = "unix:/var/run/ovn/ovnsb_db.sock"
# The tables each database's replica holds, and its one root row's table.
TABLES = {
    "Open_vSwitch": ("Open_vSwitch", "Bridge", "Port", "Interface"),
    "OVN_Northbound": ("NB_Global", "Logical_Switch", "Logical_Switch_Port", "ACL"),
    "OVN_Southbound": ("SB_Global", "Chassis", "Chassis_Private", "Encap", "Port_Binding", "Connection"),
}
ROOT = {"Open_vSwitch": "Open_vSwitch", "OVN_Northbound": "NB_Global", "OVN_Southbound": "SB_Global"}
# How messages name each database.
TITLE = {"Open_vSwitch": "Open vSwitch", "OVN_Northbound": "OVN northbound", "OVN_Southbound": "OVN southbound"}
# external_ids keys marking what this collection made, so that it never touches anything else.
MANAGED_BY = "encompass-netlab-managed-by"


def _poll(idl, milliseconds):
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(milliseconds)
    poller.block()


def _start_hint(database):
    if database == "Open_vSwitch":
        return "start it (ovs-ctl start, or the encompass.netlab.host role)"
    return "start it (ovn-ctl start_northd, or the encompass.netlab.net_ovn role) and check the address"


def fetch_schema(remote, timeout, database="Open_vSwitch"):
    """The server's own schema, so that the replica matches whatever version runs."""
    error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), timeout * 1000)
    if error:
        raise OvsdbError("%s database not reachable at %s (%s); %s" % (
            TITLE[database], remote, os.strerror(error) if isinstance(error, int) else error, _start_hint(database)))
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        error, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request("get_schema", [database]))
    finally:
        rpc.close()
    if error or reply.error:
        raise OvsdbError("%s database at %s: get_schema failed: %s" % (TITLE[database], remote, error or reply.error))
    return reply.result


class Ovsdb:
    """A replica of one database's tables, and transactions on it. Any remote python-ovs speaks:
    unix:PATH, tcp:HOST:PORT, ssl:HOST:PORT."""

    def __init__(self, remote=DEFAULT_REMOTE, timeout=10, database="Open_vSwitch"):
        if not HAS_OVS:
            raise OvsdbError("the Python library 'ovs' (python-ovs) is required: pip install ovs")
        self.remote, self.timeout, self.database = remote, timeout, database
        helper = ovs.db.idl.SchemaHelper(schema_json=fetch_schema(remote, timeout, database))
        for table in TABLES[database]:
            helper.register_table(table)
        self.idl = ovs.db.idl.Idl(remote, helper)
        deadline = time.monotonic() + timeout
        while True:
            self.idl.run()
            if self.idl.has_ever_connected() and self.idl.change_seqno > 0 and self.root() is not None:
                return
            if time.monotonic() > deadline:
                self.close()
                raise OvsdbError("%s database at %s: no data after %ds" % (TITLE[database], remote, timeout))
            _poll(self.idl, 100)

    def close(self):
        self.idl.close()

    def rows(self, table):
        return list(self.idl.tables[table].rows.values())

    def root(self):
        rows = self.idl.tables[ROOT[self.database]].rows
        return next(iter(rows.values())) if rows else None

    def find(self, table, name):
        for row in self.rows(table):
            # A row the replica only knows by reference (its data not received yet) has no columns.
            if getattr(row, "name", None) == name:
                return row
        return None

    def transact(self, build, wait=True):
        """Run build(txn, idl) in one transaction (rebuilt on a concurrent change), then wait until the change
        took effect: with Open_vSwitch, until ovs-vswitchd applied it (wait=True); with OVN_Northbound, until
        ovn-northd did (wait="sb") or every chassis too (wait="hv"), as `ovn-nbctl --wait=sb|hv`. False or
        "none" does not wait. Returns the transaction."""
        if self.database == "Open_vSwitch":
            counter, applied = ("next_cfg", "cur_cfg") if wait else (None, None)
        elif self.database == "OVN_Northbound" and wait not in (False, "none"):
            counter, applied = "nb_cfg", "hv_cfg" if wait == "hv" else "sb_cfg"
        else:
            counter = applied = None
        deadline = time.monotonic() + self.timeout
        while True:
            self.idl.run()
            txn = ovs.db.idl.Transaction(self.idl)
            txn.add_comment("encompass.netlab")
            build(txn, self.idl)
            if counter:
                self.root().increment(counter)
            status = txn.commit_block()
            if status == ovs.db.idl.Transaction.TRY_AGAIN and time.monotonic() < deadline:
                continue
            if status not in (ovs.db.idl.Transaction.SUCCESS, ovs.db.idl.Transaction.UNCHANGED):
                raise OvsdbError("%s database at %s: the transaction failed (%s): %s"
                                 % (TITLE[self.database], self.remote, status, txn.get_error()))
            break
        if counter and status == ovs.db.idl.Transaction.SUCCESS:
            self.wait_applied(txn.get_increment_new_value(), applied)
        return txn

    def wait_applied(self, value, applied="cur_cfg"):
        """Wait until the root row's column applied (cur_cfg, sb_cfg, hv_cfg) reaches value."""
        who = {"cur_cfg": "ovs-vswitchd", "sb_cfg": "ovn-northd", "hv_cfg": "ovn-northd and every ovn-controller"}[applied]
        deadline = time.monotonic() + self.timeout
        while True:
            self.idl.run()
            if getattr(self.root(), applied) >= value:
                return
            if time.monotonic() > deadline:
                raise OvsdbError("%s did not apply the change within %ds; check that they run" % (who, self.timeout))
            _poll(self.idl, 100)

    def wait_ofports(self, names, seconds=3.0):
        """The names among names whose interface got no OpenFlow port (the datapath did not take it)."""
        deadline = time.monotonic() + seconds
        while True:
            self.idl.run()
            missing = []
            for name in names:
                row = self.find("Interface", name)
                ofport = single(row.ofport) if row is not None else None
                if ofport is None or ofport < 1:
                    missing.append(name)
            if not missing or time.monotonic() > deadline:
                return missing
            _poll(self.idl, 100)

    # Ports of Open vSwitch bridges.

    def port(self, name):
        """A port's bridge, tag, owner and its interface's external ids; None when there is no such port."""
        row = self.find("Port", name)
        if row is None:
            return None
        bridge = next((br.name for br in self.rows("Bridge") if row in br.ports), None)
        iface = row.interfaces[0] if len(row.interfaces) == 1 else None
        return dict(bridge=bridge, tag=single(row.tag), manager=row.external_ids.get(MANAGED_BY),
                    iface_external_ids=dict(iface.external_ids) if iface is not None else {})

    def add_port(self, bridge, name, manager, tag=None, iface_external_ids=None):
        """A port of one system interface on bridge, marked as manager's; fails when the datapath refuses it."""
        def build(txn, idl):
            port, iface = insert_port(txn, idl, name, external_ids={MANAGED_BY: manager})
            if tag:
                port.tag = [tag]
            if iface_external_ids:
                iface.external_ids = iface_external_ids
            self.find("Bridge", bridge).addvalue("ports", port)

        self.transact(build)
        if self.wait_ofports([name]):
            raise OvsdbError("the datapath refused port %s on bridge %s" % (name, bridge))

    def set_port(self, name, tag=None, iface_external_ids=None):
        """Set a port's VLAN tag (0 or None: untagged) and, when given, those keys of its interface's external
        ids (the others stay: ovn-controller's ovn-installed, for one)."""
        def build(txn, idl):
            del txn, idl
            row = self.find("Port", name)
            row.tag = [tag] if tag else []
            if iface_external_ids:
                iface = row.interfaces[0]
                iface.external_ids = dict(iface.external_ids, **iface_external_ids)

        self.transact(build, wait=False)

    def remove_port(self, name, manager, wait=False):
        """Remove a port this collection's manager made; any other port of that name stays. With wait, until
        ovs-vswitchd applied the removal."""
        row = self.find("Port", name)
        if row is None or row.external_ids.get(MANAGED_BY) != manager:
            return

        def build(txn, idl):
            del txn, idl
            delete_port(self, self.find("Port", name))

        self.transact(build, wait=wait)


def insert_port(txn, idl, name, iface_type=None, options=None, external_ids=None):
    """A Port row and its one Interface row of the same name, as `ovs-vsctl add-port` makes them."""
    iface = txn.insert(idl.tables["Interface"])
    iface.name = name
    if iface_type:
        iface.type = iface_type
    if options:
        iface.options = options
    port = txn.insert(idl.tables["Port"])
    port.name = name
    port.interfaces = [iface]
    if external_ids:
        port.external_ids = external_ids
    return port, iface


def delete_port(db, row):
    """Inside a transaction: take a Port row off every bridge and delete it (its interfaces go with it)."""
    if row is None:
        return
    for bridge in db.rows("Bridge"):
        if row in bridge.ports:
            bridge.delvalue("ports", row)
    row.delete()


def insert_bridge(txn, idl, root, name, datapath_type, external_ids, extra_ports=()):
    """A Bridge row with its internal port, registered in Open_vSwitch; returns the bridge and the
    internal interface (where mtu_request goes)."""
    port, internal = insert_port(txn, idl, name, "internal")
    bridge = txn.insert(idl.tables["Bridge"])
    bridge.name = name
    bridge.datapath_type = datapath_type
    bridge.ports = [port] + list(extra_ports)
    bridge.external_ids = external_ids
    root.addvalue("bridges", bridge)
    return bridge, internal


def single(value, default=None):
    """An optional OVSDB column as python-ovs returns it (a list of at most one item) -> the item."""
    if isinstance(value, list):
        return value[0] if value else default
    return value
