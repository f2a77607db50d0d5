"""mvirtd's options and the NIC kinds around them, with real parts: a type='ethernet' NIC on
a TAP the test made (the host side is left alone), --no-create-bridges (a missing bridge is
refused and nothing is left behind; an existing one is used and kept), --shutdown-timeout
(a guest that ignores the power button is destroyed after it), and Suspend/Resume.
"""
import os
import re
import signal
import subprocess
import xml.etree.ElementTree as ET

import dbus
import pytest

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root,  # noqa: F401
                        wait_for, workdir)
from mvirtd_helpers import (Mvirtd, Signals, _vmm_pids, dbus_error_name, domain_xml,
                            kill_vmms, make_image, nic_xml)
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def boot(d, workdir, name, cmdline=""):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img,
                                           cmdline=cmdline))
    sig = Signals(d.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, name), 60, what="the probe to be ready")
    return dom, props, sig


def links(netns):
    return netns.run("ip", "-o", "link", "show").stdout


def live_nics(dom):
    return ET.fromstring(str(dom.GetXML(1))).findall("devices/interface")


@pytest.fixture
def daemon_ns(workdir, dbus_bus, netns):
    started = []

    def start(*args):
        d = Mvirtd(workdir, dbus_bus.address, netns=netns, extra_args=args).start()
        started.append(d)
        return d
    try:
        yield start
    finally:
        for d in started:
            pids = _vmm_pids(d.runtime_dir)
            try:
                d.destroy_all()
            except dbus.DBusException:
                pass
            d.stop()
            # A domain the daemon was still starting (a restore) when destroy_all() looked.
            kill_vmms(set(pids) | set(_vmm_pids(d.runtime_dir)))


def test_ethernet_nic_on_a_tap_the_user_made(daemon_ns, workdir, netns):
    require_root()
    d = daemon_ns()
    dom, props, sig = boot(d, workdir, "eth", cmdline="probe.ip=10.0.0.2")
    netns.run("ip", "tuntap", "add", "dev", "usertap0", "mode", "tap")
    netns.run("ip", "addr", "add", "10.0.0.1/24", "dev", "usertap0")
    netns.run("ip", "link", "set", "usertap0", "up")
    def host_side():
        addr = netns.run("ip", "-o", "-4", "addr", "show", "dev", "usertap0").stdout
        mac = re.search(r"link/ether (\S+)", netns.run("ip", "-o", "link", "show", "dev",
                                                         "usertap0").stdout).group(1)
        return addr, mac
    before = host_side()
    # Without managed='no' an existing TAP is not taken over (it may be a
    # VPN's): libvirt's rule, mvirtd would make the TAP and the name is in use.
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(nic_xml(tap="usertap0", ethernet=True), 1)
    assert "exists already" in str(e.value) and "managed='no'" in str(e.value), str(e.value)
    assert live_nics(dom) == [] and host_side() == before
    dom.AttachDevice(nic_xml(tap="usertap0", ethernet=True, managed=False), 1)
    alias = sig.wait("DeviceAdded")[0]
    wait_for(lambda: re.search(r"PROBE net index=0 mac=\S+ link=up", console(d, "eth")), 30,
             what="the probe to see eth0 up")
    wait_for(lambda: netns.run("ping", "-c", "1", "-W", "1", "10.0.0.2",
                               check=False).returncode == 0,
             30, what="the guest to answer ping on the user's TAP")
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    assert live_nics(dom) == []
    # mvirtd neither removed nor changed the TAP it did not make.
    assert host_side() == before
    # The TAP can be plugged again.
    dom.AttachDevice(nic_xml(tap="usertap0", ethernet=True, managed=False), 1)
    alias = sig.wait("DeviceAdded")[0]
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    # type='ethernet' without managed='no': mvirtd makes the TAP, and removes it at detach.
    dom.AttachDevice(nic_xml(tap="ethmade0", ethernet=True), 1)
    alias = sig.wait("DeviceAdded")[0]
    assert "ethmade0" in links(netns)
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    wait_for(lambda: "ethmade0" not in links(netns), 10, what="mvirtd's TAP to go")
    dom.Destroy()
    assert "usertap0" in links(netns)


def test_no_create_bridges(daemon_ns, workdir, netns):
    require_root()
    d = daemon_ns("--no-create-bridges")
    dom, props, sig = boot(d, workdir, "nobr", cmdline="probe.ip=10.0.0.2")
    before = links(netns)
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(nic_xml("absentbr0", tap="nbtap0"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
    assert "absentbr0" in str(e.value)
    assert links(netns) == before
    assert live_nics(dom) == []
    # A bridge the admin made is used, and stays when the NIC goes.
    netns.run("ip", "link", "add", "adminbr0", "type", "bridge")
    netns.run("ip", "link", "set", "adminbr0", "up")
    dom.AttachDevice(nic_xml("adminbr0", tap="nbtap0"), 1)
    alias = sig.wait("DeviceAdded")[0]
    assert "master adminbr0" in links(netns)
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    wait_for(lambda: "nbtap0" not in links(netns), 10, what="mvirtd's TAP to go")
    assert "adminbr0" in links(netns)
    # An administrator's bridge that is down stays down.
    netns.run("ip", "link", "add", "adminbr1", "type", "bridge")
    dom.AttachDevice(nic_xml("adminbr1", tap="nbtap1"), 1)
    alias = sig.wait("DeviceAdded")[0]
    assert not link_up(netns, "adminbr1")
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    assert not link_up(netns, "adminbr1") and "adminbr1" in links(netns)
    dom.Destroy()


def link_up(netns, name):
    flags = netns.run("ip", "-o", "link", "show", "dev", name).stdout.split("<")[1].split(">")[0]
    return "UP" in flags.split(",")


def test_created_bridge_goes_with_its_last_port(daemon_ns, workdir, netns):
    """A bridge mvirtd made goes when its last port goes, whichever NIC
    made it, and one left behind (a crash) goes at the next start."""
    require_root()
    d = daemon_ns()
    dom, props, sig = boot(d, workdir, "brs", cmdline="probe.ip=10.0.0.2")
    dom.AttachDevice(nic_xml("mvbr7", tap="brtap0"), 1)
    first = sig.wait("DeviceAdded")[0]
    dom.AttachDevice(nic_xml("mvbr7", tap="brtap1"), 1)
    second = sig.wait("DeviceAdded")[0]
    assert link_up(netns, "mvbr7")
    # The NIC that made the bridge goes first: the bridge stays for the other.
    dom.DetachDeviceAlias(first, 1)
    sig.wait("DeviceRemoved", first)
    assert "mvbr7" in links(netns)
    dom.DetachDeviceAlias(second, 1)
    sig.wait("DeviceRemoved", second)
    wait_for(lambda: "mvbr7" not in links(netns), 10, what="the bridge mvirtd made to go")
    # A crash leaves one behind with no port: the next start removes it.
    dom.AttachDevice(nic_xml("mvbr8", tap="brtap2"), 1)
    sig.wait("DeviceAdded")
    [pid] = _vmm_pids(d.runtime_dir)
    d.kill9()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "brtap2" not in links(netns), 10, what="the VMM's TAP to go")
    assert "mvbr8" in links(netns)
    d.start()
    wait_for(lambda: "mvbr8" not in links(netns), 20, what="the restart to remove mvbr8")
    # The restart starts the domain again (it was running): end it, and every VMM it ran.
    dom, props = d.domain(d.manager().LookupByName("brs"))
    wait_for(lambda: d.state(props) == "running", 60, what="brs to be started again")
    dom.Destroy()
    kill_vmms(_vmm_pids(d.runtime_dir) + [pid])


def test_shutdown_timeout_and_suspend_resume(workdir, dbus_bus):
    d = Mvirtd(workdir, dbus_bus.address, extra_args=["--shutdown-timeout", "1"]).start()
    try:
        dom, props, sig = boot(d, workdir, "deaf")
        with pytest.raises(dbus.DBusException) as e:
            dom.Resume()
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"
        dom.Suspend()
        assert sig.wait("StateChanged")[0] == "paused"
        assert d.state(props) == "paused"
        with pytest.raises(dbus.DBusException) as e:
            dom.Suspend()
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"
        dom.Resume()
        assert sig.wait("StateChanged")[0] == "running"
        # The probe ignores the power button: destroyed after one second, not the default ten.
        dom.Shutdown()
        assert sig.wait("StateChanged", timeout=30)[0] == "shutoff"
        assert "did not power off within 1000 ms" in d.log()
    finally:
        try:
            d.destroy_all()
        except dbus.DBusException:
            pass
        d.stop()


@pytest.mark.parametrize("value", ["0", "soon", "86401"])
def test_shutdown_timeout_refuses_bad_values(value):
    r = subprocess.run([env_path("MVIRTD"), "--shutdown-timeout", value], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert f"not {value}." in r.stderr
