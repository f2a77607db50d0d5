"""The bus policy schemas/org.mvirt.Manager1.conf on a real dbus-daemon: root changes
anything, any other user (not in group mvirt) may only read and gets AccessDenied for
every method that changes something.
"""
import json
import os
import shutil
import subprocess
import textwrap

import pytest

from mvirt_test import env_path, require_root, workdir  # noqa: F401
from mvirtd_helpers import Mvirtd, domain_xml

NOBODY = 65534

CLIENT = textwrap.dedent("""
    import json, sys, dbus
    bus = dbus.bus.BusConnection(sys.argv[1])
    obj = bus.get_object("org.mvirt.Manager1", "/org/mvirt/Manager1")
    m = dbus.Interface(obj, "org.mvirt.Manager1")
    path = sys.argv[2]
    dobj = bus.get_object("org.mvirt.Manager1", path)
    dom = dbus.Interface(dobj, "org.mvirt.Domain1")
    props = dbus.Interface(dobj, "org.freedesktop.DBus.Properties")
    calls = {
        "ListDomains": lambda: m.ListDomains(),
        "LookupByName": lambda: m.LookupByName("guarded"),
        "GetXML": lambda: dom.GetXML(0),
        "GetAll": lambda: props.GetAll("org.mvirt.Domain1"),
        "Introspect": lambda: obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable"),
        "DefineXML": lambda: m.DefineXML(sys.argv[3]),
        "Start": lambda: dom.Start(),
        "Shutdown": lambda: dom.Shutdown(),
        "Destroy": lambda: dom.Destroy(),
        "Suspend": lambda: dom.Suspend(),
        "Resume": lambda: dom.Resume(),
        "Undefine": lambda: dom.Undefine(),
        "AttachDevice": lambda: dom.AttachDevice("<disk/>", 1),
        "DetachDevice": lambda: dom.DetachDevice("<disk/>", 1),
        "DetachDeviceAlias": lambda: dom.DetachDeviceAlias("x", 1),
        "SetAutostart": lambda: props.Set("org.mvirt.Domain1", "Autostart", dbus.Boolean(True)),
    }
    out = {}
    for name in sys.argv[4:] or calls:
        call = calls[name]
        try:
            call()
            out[name] = "ok"
        except dbus.DBusException as e:
            out[name] = e.get_dbus_name()
    print(json.dumps(out))
""")

READS = {"ListDomains", "LookupByName", "GetXML", "GetAll", "Introspect"}


@pytest.fixture
def policy_bus(workdir):
    require_root()
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to call as another user")
    policy = os.path.join(env_path("MVIRT_SCHEMAS"), "org.mvirt.Manager1.conf")
    conf = os.path.join(workdir, "policy-bus.conf")
    # An abstract socket: the unprivileged caller cannot enter the 0700 workdir.
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:abstract=mvirt-policy-{os.getpid()}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow send_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  <include>{policy}</include>
</busconfig>
""")
    proc = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork", "--print-address"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    address = proc.stdout.readline().strip()
    try:
        assert address, "dbus-daemon did not start with the policy"
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()


def call_all(address, path, uid, define_xml, *only):
    argv = ["/usr/bin/python3", "-c", CLIENT, address, path, define_xml, *only]
    if uid != 0:
        argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_only_root_changes(workdir, policy_bus):
    d = Mvirtd(workdir, policy_bus).start()
    try:
        kernel = env_path("MVIRT_PROBE")
        _, _, path = d.define(domain_xml("guarded", kernel))
        got = call_all(policy_bus, path, NOBODY, domain_xml("intruder", kernel))
        for name, result in got.items():
            if name in READS:
                assert result == "ok", (name, result)
            else:
                assert result == "org.freedesktop.DBus.Error.AccessDenied", (name, result)
        assert [str(p) for p in d.manager().ListDomains()] == [path]
        # root gets through the same policy (the calls fail on their merits, not on access).
        got = call_all(policy_bus, path, 0, domain_xml("welcome", kernel),
                       "DefineXML", "SetAutostart", "Destroy", "AttachDevice", "Undefine")
        assert got == {"DefineXML": "ok", "SetAutostart": "ok",
                       "Destroy": "org.mvirt.Error.InvalidState",
                       "AttachDevice": "org.mvirt.Error.InvalidXML", "Undefine": "ok"}, got
    finally:
        d.stop()
