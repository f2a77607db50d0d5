"""mvirtd's D-Bus API as D-Bus tools and other client libraries expect it: discovery
from nothing but the bus (child nodes, org.freedesktop.DBus.ObjectManager and its signals),
the standard error names, GetAll(""), annotations and Peer in the introspection, and libvirt's
own XML (virsh dumpxml, virt-install's direct kernel boot) defined through the bus.

Clients: python3-jeepney (raw messages, so every name and signature is the wire's) and
python3-dbus-next (proxies built from our introspection), besides python3-dbus elsewhere.
"""
import asyncio
import os
import xml.etree.ElementTree as ET

import pytest
from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

from mvirt_test import dbus_bus, env_path, require_kvm, wait_for, workdir  # noqa: F401
from mvirtd_helpers import Signals, domain_xml, make_image, mvirtd  # noqa: F401

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none); only
# test_live_xml_says_the_real_console starts a VM.
KVM = "any"

BUS_NAME = "org.mvirt.Manager1"
MANAGER_PATH = "/org/mvirt/Manager1"
DOMAIN_IFACE = "org.mvirt.Domain1"
PROPS = "org.freedesktop.DBus.Properties"
OM = "org.freedesktop.DBus.ObjectManager"
DATA = os.path.join(os.environ.get("top_srcdir", ".."), "tests", "data", "xml2xml")


class Jeepney:
    """A jeepney connection: calls return (error name or None, body)."""

    def __init__(self, address):
        self.conn = open_dbus_connection(bus=address)

    def call(self, path, iface, member, sig=None, body=(), timeout=10):
        addr = DBusAddress(path, bus_name=BUS_NAME, interface=iface)
        reply = self.conn.send_and_get_reply(new_method_call(addr, member, sig, body),
                                             timeout=timeout, unwrap=False)
        if reply.header.message_type == MessageType.error:
            return reply.header.fields[HeaderFields.error_name], reply.body
        return None, reply.body

    def ok(self, *args, **kw):
        err, body = self.call(*args, **kw)
        assert err is None, (args, err, body)
        return body

    def close(self):
        self.conn.close()


@pytest.fixture
def jp(mvirtd):  # noqa: F811
    c = Jeepney(mvirtd.bus_address)
    yield c
    c.close()


def children(jp, path):
    xml = jp.ok(path, "org.freedesktop.DBus.Introspectable", "Introspect")[0]
    return [n.get("name") for n in ET.fromstring(xml).findall("node")]


def walk(jp, path="/"):
    """busctl tree: every object path reachable from / by introspection alone."""
    found = [path]
    for name in children(jp, path):
        found += walk(jp, path.rstrip("/") + "/" + name)
    return found


def test_discovery_from_nothing_but_the_bus(mvirtd, jp):  # noqa: F811
    paths = [str(mvirtd.manager().DefineXML(domain_xml(f"disc{i}", env_path("MVIRT_PROBE"))))
             for i in range(3)]
    tree = walk(jp)
    assert MANAGER_PATH in tree and MANAGER_PATH + "/domain" in tree
    assert sorted(p for p in tree if p.startswith(MANAGER_PATH + "/domain/")) == sorted(paths)
    # ObjectManager: every domain with its interfaces and properties in one call.
    objects = jp.ok(MANAGER_PATH, OM, "GetManagedObjects")[0]
    assert sorted(objects) == sorted(paths)
    for path, ifaces in objects.items():
        props = {k: v[1] for k, v in ifaces[DOMAIN_IFACE].items()}
        assert props["Name"].startswith("disc") and props["State"] == "shutoff"
        assert path.endswith(props["UUID"].replace("-", "_"))
        assert {PROPS, "org.freedesktop.DBus.Introspectable",
                "org.freedesktop.DBus.Peer"} <= set(ifaces)


def test_interfaces_added_and_removed(mvirtd, jp):  # noqa: F811
    rule = MatchRule(type="signal", interface=OM, path=MANAGER_PATH)
    jp.conn.send_and_get_reply(message_bus.AddMatch(rule))
    with jp.conn.filter(rule) as queue:
        path = jp.ok(MANAGER_PATH, BUS_NAME, "DefineXML", "s",
                     (domain_xml("om", env_path("MVIRT_PROBE")),))[0]
        sig = jp.conn.recv_until_filtered(queue, timeout=10)
        assert sig.header.fields[HeaderFields.member] == "InterfacesAdded"
        assert sig.body[0] == path
        assert sig.body[1][DOMAIN_IFACE]["Name"] == ("s", "om")
        # A redefinition changes no object: no signal.
        jp.ok(MANAGER_PATH, BUS_NAME, "DefineXML", "s",
              (domain_xml("om", env_path("MVIRT_PROBE"), uuid=path[-36:].replace("_", "-")),))
        jp.ok(path, DOMAIN_IFACE, "Undefine")
        sig = jp.conn.recv_until_filtered(queue, timeout=10)
        assert sig.header.fields[HeaderFields.member] == "InterfacesRemoved"
        assert sig.body[0] == path and DOMAIN_IFACE in sig.body[1]
    assert jp.ok(MANAGER_PATH, OM, "GetManagedObjects")[0] == {}


def test_standard_error_names(mvirtd, jp):  # noqa: F811
    path = str(mvirtd.manager().DefineXML(domain_xml("errs", env_path("MVIRT_PROBE"))))
    ghost = MANAGER_PATH + "/domain/_00000000_0000_4000_8000_000000000000"
    for iface, member, sig, body in ((DOMAIN_IFACE, "Start", None, ()),
                                     (PROPS, "GetAll", "s", (DOMAIN_IFACE,)),
                                     (PROPS, "Get", "ss", (DOMAIN_IFACE, "Name"))):
        err, body = jp.call(ghost, iface, member, sig, body)
        assert err == "org.freedesktop.DBus.Error.UnknownObject", (member, err)
        assert ghost in body[0]
    err, body = jp.call(path, PROPS, "Get", "ss", (DOMAIN_IFACE, "Colour"))
    assert err == "org.freedesktop.DBus.Error.UnknownProperty" and "Colour" in body[0]
    err, body = jp.call(path, PROPS, "Get", "ss", ("org.example.Nope", "Name"))
    assert err == "org.freedesktop.DBus.Error.UnknownInterface" and "org.example.Nope" in body[0]
    err, body = jp.call(path, PROPS, "Set", "ssv", (DOMAIN_IFACE, "Name", ("s", "other")))
    assert err == "org.freedesktop.DBus.Error.PropertyReadOnly" and "Name" in body[0]
    err, body = jp.call(path, PROPS, "Set", "ssv", (DOMAIN_IFACE, "Autostart", ("s", "yes")))
    assert err == "org.freedesktop.DBus.Error.InvalidArgs" and "Autostart" in body[0]
    err, body = jp.call(path, PROPS, "Set", "ssv", (DOMAIN_IFACE, "Colour", ("b", True)))
    assert err == "org.freedesktop.DBus.Error.UnknownProperty"
    err, body = jp.call(path, DOMAIN_IFACE, "Fly")
    assert err == "org.freedesktop.DBus.Error.UnknownMethod"
    # GetAll("") is every property, as the specification says; Get("") finds any.
    every = jp.ok(path, PROPS, "GetAll", "s", ("",))[0]
    assert set(every) == {"Name", "UUID", "State", "StateReason", "Autostart"}
    assert jp.ok(path, PROPS, "Get", "ss", ("", "Name"))[0] == ("s", "errs")
    assert jp.ok(path, PROPS, "GetAll", "s", ("org.freedesktop.DBus.Peer",))[0] == {}
    # Unknown GetXML flags: the sentence says which flags there are.
    err, body = jp.call(path, DOMAIN_IFACE, "GetXML", "u", (99,))
    assert err == "org.mvirt.Error.InvalidArgument"
    assert "99" in body[0] and "0 (current), 1 (live) or 2 (config)" in body[0], body
    err, body = jp.call(path, DOMAIN_IFACE, "GetXML", "u", (3,))
    assert err == "org.mvirt.Error.InvalidArgument" and "not both" in body[0]
    # Peer works on every object, as the introspection now says.
    jp.ok(path, "org.freedesktop.DBus.Peer", "Ping")
    jp.ok(MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")


def test_introspection_annotations_and_peer(mvirtd, jp):  # noqa: F811
    path = str(mvirtd.manager().DefineXML(domain_xml("ann", env_path("MVIRT_PROBE"))))
    root = ET.fromstring(jp.ok(path, "org.freedesktop.DBus.Introspectable", "Introspect")[0])
    ifaces = {i.get("name"): i for i in root.findall("interface")}
    assert "org.freedesktop.DBus.Peer" in ifaces
    emits = {p.get("name"): p.find("annotation").get("value")
             for p in ifaces[DOMAIN_IFACE].findall("property")
             if p.find("annotation") is not None and p.find("annotation").get("name") ==
             "org.freedesktop.DBus.Property.EmitsChangedSignal"}
    assert emits == {"Name": "const", "UUID": "const", "State": "true", "StateReason": "true",
                     "Autostart": "true"}
    mroot = ET.fromstring(jp.ok(MANAGER_PATH, "org.freedesktop.DBus.Introspectable",
                                "Introspect")[0])
    assert {OM, "org.freedesktop.DBus.Peer"} <= {i.get("name") for i in mroot.findall("interface")}


def libvirt_xml(name, workdir, kernel):
    """A libvirt test file with its paths pointed at files that exist here."""
    with open(os.path.join(DATA, name)) as f:
        text = f.read()
    img = make_image(os.path.join(workdir, name + ".img"))
    for old in ("/var/lib/libvirt/boot/vmlinuz", "/var/lib/mvirt/boot/vmlinuz"):
        text = text.replace(old, kernel)
    for old in ("/var/lib/libvirt/boot/initrd.img", "/var/lib/mvirt/boot/initrd.img"):
        text = text.replace(old, kernel)
    for old in ("/var/lib/libvirt/images/dkb.img", "/var/lib/mvirt/images/demo.img"):
        text = text.replace(old, img)
    return text


def test_dbus_next_defines_libvirt_xml(mvirtd, workdir):  # noqa: F811
    """virt-install's direct kernel boot and virsh's live dumpxml, through dbus-next proxies
    built from our introspection; then detach of a NIC given without <mac> (as libvirt)."""
    from dbus_next.aio import MessageBus

    kernel = env_path("MVIRT_PROBE")

    async def run():
        bus = await MessageBus(bus_address=mvirtd.bus_address).connect()
        intro = await bus.introspect(BUS_NAME, MANAGER_PATH)
        obj = bus.get_proxy_object(BUS_NAME, MANAGER_PATH, intro)
        mgr = obj.get_interface(BUS_NAME)
        om = obj.get_interface(OM)
        added = []
        om.on_interfaces_added(lambda path, ifaces: added.append(path))
        out = {}
        for case in ("libvirt-direct-kernel.xml", "libvirt-dumpxml.xml"):
            path = await mgr.call_define_xml(libvirt_xml(case, workdir, kernel))
            dom = bus.get_proxy_object(BUS_NAME, path, await bus.introspect(BUS_NAME, path))
            d1 = dom.get_interface(DOMAIN_IFACE)
            out[case] = (path, d1, await d1.call_get_xml(2))
        for _ in range(100):
            if len(added) == 2:
                break
            await asyncio.sleep(0.05)
        assert sorted(added) == sorted(p for p, _, _ in out.values())
        # A NIC without <mac>, attached to the definition and detached with the same XML.
        path, d1, _ = out["libvirt-direct-kernel.xml"]
        nic = "<interface type='ethernet'><target dev='mvtapx' managed='no'/>" \
              "<model type='virtio'/><address type='virtio-mmio'/></interface>"
        await d1.call_attach_device(nic, 2)
        assert "mvtapx" in await d1.call_get_xml(2)
        await d1.call_detach_device(nic, 2)
        out["after-detach"] = await d1.call_get_xml(2)
        bus.disconnect()
        return out

    out = asyncio.run(run())
    dkb = ET.fromstring(out["libvirt-direct-kernel.xml"][2])
    assert dkb.findtext("name") == "dkb"
    assert dkb.find("vcpu").get("placement") == "static"
    assert dkb.find("clock").get("offset") == "utc"
    assert dkb.find("features/acpi") is not None and dkb.find("features/apic") is not None
    # The console is written as it is: the unix socket mvirtd gives every domain.
    sock = os.path.join(mvirtd.runtime_dir, "dkb", "console.sock")
    for chr_ in ("serial", "console"):
        el = dkb.find("devices/" + chr_)
        assert el.get("type") == "unix" and el.find("source").get("path") == sock, chr_
    demo = ET.fromstring(out["libvirt-dumpxml.xml"][2])
    assert demo.get("id") is None  # ignored on define, as libvirt does
    assert demo.find("devices/interface/target").get("managed") == "no"
    assert "mvtapx" not in out["after-detach"]
    assert ET.fromstring(out["after-detach"]).find("devices/interface") is not None  # virbr0's


def test_detach_nic_without_mac_is_refused_when_ambiguous(mvirtd, jp, workdir):  # noqa: F811
    path = str(mvirtd.manager().DefineXML(domain_xml("twonics", env_path("MVIRT_PROBE"))))
    nic = "<interface type='bridge'><source bridge='br7'/><model type='virtio'/></interface>"
    jp.ok(path, DOMAIN_IFACE, "AttachDevice", "su", (nic, 2))
    jp.ok(path, DOMAIN_IFACE, "AttachDevice", "su", (nic, 2))
    err, body = jp.call(path, DOMAIN_IFACE, "DetachDevice", "su", (nic, 2))
    assert err == "org.mvirt.Error.InvalidArgument" and "mac address" in body[0], body
    other = "<interface type='bridge'><source bridge='br8'/></interface>"
    err, body = jp.call(path, DOMAIN_IFACE, "DetachDevice", "su", (other, 2))
    assert err == "org.mvirt.Error.NotFound" and "bridge" in body[0], body
    assert "interface ." not in body[0]


def test_live_xml_says_the_real_console(mvirtd, workdir):  # noqa: F811
    require_kvm()
    img = make_image(os.path.join(workdir, "live-root.img"))
    xml = domain_xml("livecon", env_path("MVIRT_PROBE"), img,
                     extra_devices="<serial type='pty'><target port='0'/></serial>"
                                   "<console type='pty'><target type='serial' port='0'/>"
                                   "</console>")
    dom, props, path = mvirtd.define(xml)
    sig = Signals(mvirtd.bus, path)
    dom.Start()
    try:
        assert sig.wait("StateChanged")[0] == "running"
        live = ET.fromstring(str(dom.GetXML(1)))
        sock = live.find("devices/serial/source").get("path")
        assert live.find("devices/serial").get("type") == "unix"
        wait_for(lambda: os.path.exists(sock), 10, what="the console socket")
        assert sock == os.path.join(mvirtd.runtime_dir, "livecon", "console.sock")
        # What dumpxml prints of a running domain defines again.
        assert mvirtd.manager().DefineXML(str(dom.GetXML(1))) == path
    finally:
        dom.Destroy()
