"""Start, Shutdown and Destroy of real mvirt-vmm processes booting the guest probe.

Real dbus-daemon, real mvirtd, real KVM; skipped only without /dev/kvm.
"""
import os
import signal

import dbus
import pytest

from mvirt_test import dbus_bus, require_kvm, wait_for, workdir  # noqa: F401 (fixtures)
from mvirtd_helpers import (Signals, dbus_error_name, domain_xml, make_image,
                            mvirtd)  # noqa: F401
from mvirtd_helpers import console  # complete lines only
from mvirt_test import env_path

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def vmm_pid(mvirtd, name):
    with open(os.path.join(mvirtd.runtime_dir, name, "vmm.pid")) as f:
        return int(f.read().strip())


def boot(mvirtd, workdir, name, **kw):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = mvirtd.define(domain_xml(name, env_path("MVIRT_PROBE"), img, **kw))
    sig = Signals(mvirtd.bus, path)
    dom.Start()
    assert sig.wait("StateChanged")[0] == "running"
    assert mvirtd.state(props) == "running"
    wait_for(lambda: "PROBE ready" in console(mvirtd, name), 60,
             what=f"the probe of {name} to report ready")
    return dom, props, sig


def test_start_destroy(mvirtd, workdir):
    dom, props, sig = boot(mvirtd, workdir, "life")
    rundir = os.path.join(mvirtd.runtime_dir, "life")
    for f in ("qmp.sock", "console.log", "vmm.pid"):
        assert os.path.exists(os.path.join(rundir, f)), f
    assert "PROBE blk index=0" in console(mvirtd, "life")
    with pytest.raises(dbus.DBusException) as e:
        dom.Start()
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"
    with pytest.raises(dbus.DBusException) as e:
        dom.Undefine()
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidState"
    pid = vmm_pid(mvirtd, "life")
    dom.Destroy()
    assert sig.wait("StateChanged")[0] == "shutoff"
    assert mvirtd.state(props) == "shutoff"
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    dom.Undefine()


def test_shutdown_powers_off(mvirtd, workdir):
    dom, props, sig = boot(mvirtd, workdir, "polite")
    dom.Shutdown()
    assert sig.wait("StateChanged", timeout=30)[0] == "shutoff"


def test_vmm_death_is_crash(mvirtd, workdir):
    dom, props, sig = boot(mvirtd, workdir, "fragile")
    os.kill(vmm_pid(mvirtd, "fragile"), signal.SIGKILL)
    assert sig.wait("StateChanged", timeout=10)[0] == "crashed"
    assert mvirtd.state(props) == "crashed"
    # A crashed domain can be started again.
    dom.Start()
    assert sig.wait("StateChanged")[0] == "running"
    dom.Destroy()
