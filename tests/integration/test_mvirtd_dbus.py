"""mvirtd's D-Bus API without VMs: define, list, lookup, XML, autostart, undefine, errors.

Real dbus-daemon (started by the test), real mvirtd, real SQLite file.
"""
import os
import sqlite3
import subprocess
import xml.etree.ElementTree as ET

import dbus
import pytest

from mvirt_test import dbus_bus, env_path, workdir  # noqa: F401 (fixtures)
from mvirtd_helpers import (DOMAIN_IFACE, MANAGER_PATH, Mvirtd, dbus_error_name, domain_xml,
                            Signals, make_image, mvirtd)  # noqa: F401

UUID = "6f1c9a3e-2b7d-4c55-9e0a-1d2f3b4c5d6e"


def kernel():
    return env_path("MVIRT_PROBE")


def test_define_lookup_list_getxml(mvirtd, workdir):
    img = make_image(os.path.join(workdir, "root.img"))
    dom, props, path = mvirtd.define(domain_xml("alpha", kernel(), img, uuid=UUID))
    assert path == "/org/mvirt/Manager1/domain/_" + UUID.replace("-", "_")
    assert mvirtd.manager().LookupByName("alpha") == path
    assert mvirtd.manager().LookupByUUID(UUID.upper()) == path
    assert list(mvirtd.manager().ListDomains()) == [path]
    allp = props.GetAll(DOMAIN_IFACE)
    assert allp["Name"] == "alpha" and allp["UUID"] == UUID
    assert allp["State"] == "shutoff" and not allp["Autostart"]
    root = ET.fromstring(str(dom.GetXML(0)))
    assert root.findtext("name") == "alpha" and root.findtext("uuid") == UUID
    assert root.find("devices/disk/source").get("file") == img
    # define → dumpxml → define is stable
    xml1 = str(dom.GetXML(2))
    mvirtd.manager().DefineXML(xml1)
    assert str(dom.GetXML(2)) == xml1


def test_typed_errors(mvirtd, workdir):
    m = mvirtd.manager()
    with pytest.raises(dbus.DBusException) as e:
        m.LookupByName("nope")
    assert dbus_error_name(e) == "org.mvirt.Error.NotFound"
    assert "nope" in str(e.value)
    with pytest.raises(dbus.DBusException) as e:
        m.LookupByUUID("not-a-uuid")
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
    with pytest.raises(dbus.DBusException) as e:
        m.DefineXML("<domain type='kvm'><name>x</name>")
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidXML"
    m.DefineXML(domain_xml("dup", kernel()))
    with pytest.raises(dbus.DBusException) as e:
        m.DefineXML(domain_xml("dup", kernel()))
    assert dbus_error_name(e) == "org.mvirt.Error.AlreadyExists"
    assert "dup" in str(e.value)
    with pytest.raises(dbus.DBusException) as e:
        mvirtd.domain(MANAGER_PATH + "/domain/_00000000_0000_4000_8000_000000000000")[0].Start()
    assert dbus_error_name(e) == "org.freedesktop.DBus.Error.UnknownObject"
    dom, props, _ = mvirtd.define(domain_xml("stopped", kernel()))
    with pytest.raises(dbus.DBusException) as e:
        dom.Destroy()
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice("<disk type='file' device='disk'><source file='/x.img'/>"
                         "<target dev='vdb' bus='virtio'/></disk>", 1)
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"


def test_autostart_property_and_signal(mvirtd):
    dom, props, path = mvirtd.define(domain_xml("auto", kernel()))
    sig = Signals(mvirtd.bus, path)
    props.Set(DOMAIN_IFACE, "Autostart", dbus.Boolean(True))
    assert props.Get(DOMAIN_IFACE, "Autostart")
    args = sig.wait("PropertiesChanged", DOMAIN_IFACE)
    assert bool(args[1]["Autostart"]) is True
    with pytest.raises(dbus.DBusException) as e:
        props.Set(DOMAIN_IFACE, "Name", "other")
    assert dbus_error_name(e) == "org.freedesktop.DBus.Error.PropertyReadOnly"


def test_introspection_matches_files(mvirtd):
    schemas = env_path("MVIRT_SCHEMAS")
    obj = mvirtd.bus.get_object("org.mvirt.Manager1", MANAGER_PATH)
    got = obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")
    # The file, plus the child node that makes the tree walkable.
    with open(os.path.join(schemas, "org.mvirt.Manager1.xml")) as f:
        assert got.replace('  <node name="domain"/>\n', "") == f.read()
    _, _, path = mvirtd.define(domain_xml("intro", kernel()))
    got = mvirtd.bus.get_object("org.mvirt.Manager1", path).Introspect(
        dbus_interface="org.freedesktop.DBus.Introspectable")
    with open(os.path.join(schemas, "org.mvirt.Domain1.xml")) as f:
        assert got == f.read()


def test_state_survives_restart_and_undefine(workdir, dbus_bus):
    d = Mvirtd(workdir, dbus_bus.address).start()
    try:
        for i in range(20):
            d.manager().DefineXML(domain_xml(f"vm{i:02d}", kernel()))
        d.kill9()
        d.start()
        assert len(d.manager().ListDomains()) == 20
        dom, props = d.domain(d.manager().LookupByName("vm07"))
        assert props.Get(DOMAIN_IFACE, "Name") == "vm07"
        dom.Undefine()
        with pytest.raises(dbus.DBusException) as e:
            d.manager().LookupByName("vm07")
        assert dbus_error_name(e) == "org.mvirt.Error.NotFound"
        assert len(d.manager().ListDomains()) == 19
    finally:
        d.stop()
    db = sqlite3.connect(os.path.join(d.state_dir, "mvirt.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_200_domains_defined_and_listed(mvirtd):
    m = mvirtd.manager()
    for i in range(200):
        m.DefineXML(domain_xml(f"many{i:03d}", kernel()))
    paths = m.ListDomains()
    assert len(paths) == 200 and len(set(paths)) == 200
    assert m.LookupByName("many199") in paths


def test_kill9_during_defines_leaves_nothing_half_written(workdir, dbus_bus):
    d = Mvirtd(workdir, dbus_bus.address).start()
    done = 0
    try:
        # Calls go out without waiting; the daemon dies with some answered, some not.
        pending = []
        for i in range(100):
            pending.append(d.manager().DefineXML(domain_xml(f"k{i:03d}", kernel()),
                                                 reply_handler=lambda *a: None,
                                                 error_handler=lambda *a: None))
            if i == 50:
                d.kill9()
                break
        d.start()
        names = []
        for path in d.manager().ListDomains():
            dom, props = d.domain(path)
            root = ET.fromstring(str(dom.GetXML(2)))  # every stored definition is whole
            assert root.findtext("name") == str(props.Get(DOMAIN_IFACE, "Name"))
            names.append(root.findtext("name"))
        done = len(names)
        assert all(n.startswith("k") for n in names)
        assert done <= 51
    finally:
        d.stop()
    db = sqlite3.connect(os.path.join(d.state_dir, "mvirt.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM domains").fetchone()[0] == done
    db.close()


def run_tool(*argv):
    """Runs a D-Bus command-line tool from Debian; returns (exit code, stdout, stderr)."""
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_busctl_and_gdbus_speak_to_mvirtd(mvirtd, workdir):  # noqa: F811
    """The API works from Debian's own tools, not only from python3-dbus."""
    addr = mvirtd.bus_address
    img = make_image(os.path.join(workdir, "root.img"))
    rc, out, err = run_tool("busctl", f"--address={addr}", "call", "org.mvirt.Manager1",
                            MANAGER_PATH, "org.mvirt.Manager1", "DefineXML", "s",
                            domain_xml("tools", kernel(), img, uuid=UUID))
    assert rc == 0, err
    path = "/org/mvirt/Manager1/domain/_" + UUID.replace("-", "_")
    assert out.strip() == f'o "{path}"'
    # busctl tree walks the introspection's child nodes down to the domain.
    rc, out, err = run_tool("busctl", f"--address={addr}", "tree", "--list", "org.mvirt.Manager1")
    assert rc == 0 and path in out.split(), (out, err)
    rc, out, err = run_tool("busctl", f"--address={addr}", "get-property", "org.mvirt.Manager1",
                            path, DOMAIN_IFACE, "State")
    assert rc == 0 and out.strip() == 's "shutoff"', (out, err)
    rc, out, err = run_tool("gdbus", "call", "--address", addr, "--dest", "org.mvirt.Manager1",
                            "--object-path", MANAGER_PATH,
                            "--method", "org.mvirt.Manager1.LookupByName", "tools")
    assert rc == 0 and out.strip() == f"(objectpath '{path}',)", (out, err)
    rc, out, err = run_tool("gdbus", "call", "--address", addr, "--dest", "org.mvirt.Manager1",
                            "--object-path", MANAGER_PATH,
                            "--method", "org.mvirt.Manager1.LookupByName", "nope")
    assert rc != 0 and "org.mvirt.Error.NotFound" in err and "nope" in err, err


def test_hostile_document_does_not_stall_other_clients(mvirtd):
    """A ~1 MB DefineXML whose <vcpu> had 143,243 attributes took 48 s,
    and a ListDomains of another client waited behind it. The shape is now bounded before
    the parser runs, and no lock is held while a caller's document is parsed."""
    import threading
    import time

    mvirtd.define(domain_xml("present", kernel()))
    attrs = "".join(f" a{i:x}='1'" for i in range(90000))
    hostile = domain_xml("hostile", kernel()).replace("<vcpu>", f"<vcpu{attrs}>")
    assert len(hostile) < 1024 * 1024
    result = {}

    def define():
        bus = dbus.bus.BusConnection(mvirtd.bus_address)
        m = dbus.Interface(bus.get_object("org.mvirt.Manager1", MANAGER_PATH),
                           "org.mvirt.Manager1")
        t0 = time.monotonic()
        try:
            m.DefineXML(hostile, timeout=120)
            result["error"] = None
        except dbus.DBusException as e:
            result["error"] = e
        result["seconds"] = time.monotonic() - t0

    caller = threading.Thread(target=define)
    caller.start()
    try:
        reader = dbus.bus.BusConnection(mvirtd.bus_address)
        m = dbus.Interface(reader.get_object("org.mvirt.Manager1", MANAGER_PATH),
                           "org.mvirt.Manager1")
        while caller.is_alive():
            t0 = time.monotonic()
            assert len(m.ListDomains(timeout=30)) == 1
            assert time.monotonic() - t0 < 2, "a read waited behind the hostile document"
            time.sleep(0.05)
    finally:
        caller.join()
    e = result["error"]
    assert e is not None and e.get_dbus_name() == "org.mvirt.Error.InvalidXML", e
    assert "more than 32 attributes" in str(e), str(e)
    assert result["seconds"] < 2, result
