# -*- coding: utf-8 -*-
# Copyright (c) encompass.netlab contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one way to Open vSwitch's database: python-ovs IDL reads, one transaction a change,
and a wait for ovs-vswitchd to apply it, so that a change the switch refused can be told apart."""

from __future__ import annotations

import os
import time
import traceback

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
DATABASE = "Open_vSwitch"
TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")
# external_ids keys marking what this collection made, so that it never touches anything else.
MANAGED_BY = "encompass-netlab-managed-by"


class OvsdbError(Exception):
    """A failure to reach, read or change the database, with a message that says what to do."""


def _poll(idl, milliseconds):
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.timer_wait(milliseconds)
    poller.block()


def fetch_schema(remote, timeout):
    """The server's own schema, so that the replica matches whatever OVS version runs."""
    error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), timeout * 1000)
    if error:
        raise OvsdbError(
            "Open vSwitch database not reachable at %s (%s); start it (ovs-ctl start, or the encompass.netlab.host role)"
            % (remote, os.strerror(error) if isinstance(error, int) else error)
        )
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        error, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request("get_schema", [DATABASE]))
    finally:
        rpc.close()
    if error or reply.error:
        raise OvsdbError("Open vSwitch database at %s: get_schema failed: %s" % (remote, error or reply.error))
    return reply.result


class Ovsdb:
    """A replica of the Bridge, Port, Interface and Open_vSwitch tables, and transactions on them."""

    def __init__(self, remote=DEFAULT_REMOTE, timeout=10):
        if not HAS_OVS:
            raise OvsdbError("the Python library 'ovs' (python-ovs) is required: pip install ovs")
        self.remote = remote
        self.timeout = timeout
        helper = ovs.db.idl.SchemaHelper(schema_json=fetch_schema(remote, timeout))
        for table in TABLES:
            helper.register_table(table)
        self.idl = ovs.db.idl.Idl(remote, helper)
        deadline = time.monotonic() + timeout
        while True:
            self.idl.run()
            if self.idl.has_ever_connected() and self.idl.change_seqno > 0 and self.root() is not None:
                return
            if time.monotonic() > deadline:
                self.close()
                raise OvsdbError("Open vSwitch database at %s: no data after %ds" % (remote, timeout))
            _poll(self.idl, 100)

    def close(self):
        self.idl.close()

    def rows(self, table):
        return list(self.idl.tables[table].rows.values())

    def root(self):
        rows = self.idl.tables["Open_vSwitch"].rows
        return next(iter(rows.values())) if rows else None

    def find(self, table, name):
        for row in self.rows(table):
            if row.name == name:
                return row
        return None

    def transact(self, build, wait_vswitchd=True):
        """Run build(txn, idl) in one transaction (rebuilt on a concurrent change), then wait until
        ovs-vswitchd has applied it. Returns the transaction (for get_insert_uuid)."""
        deadline = time.monotonic() + self.timeout
        while True:
            self.idl.run()
            txn = ovs.db.idl.Transaction(self.idl)
            txn.add_comment("encompass.netlab")
            build(txn, self.idl)
            if wait_vswitchd:
                self.root().increment("next_cfg")
            status = txn.commit_block()
            if status == ovs.db.idl.Transaction.TRY_AGAIN and time.monotonic() < deadline:
                continue
            if status not in (ovs.db.idl.Transaction.SUCCESS, ovs.db.idl.Transaction.UNCHANGED):
                raise OvsdbError("Open vSwitch database at %s: the transaction failed (%s): %s"
                                 % (self.remote, status, txn.get_error()))
            break
        if wait_vswitchd and status == ovs.db.idl.Transaction.SUCCESS:
            self.wait_applied(txn.get_increment_new_value())
        return txn

    def wait_applied(self, next_cfg):
        deadline = time.monotonic() + self.timeout
        while True:
            self.idl.run()
            if self.root().cur_cfg >= next_cfg:
                return
            if time.monotonic() > deadline:
                raise OvsdbError(
                    "ovs-vswitchd did not apply the change within %ds; check that it runs (ovs-ctl status)" % self.timeout
                )
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
