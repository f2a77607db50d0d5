"""Why a domain crashed: when its mvirt-vmm ends on its own (a seccomp violation,
a signal, a non-zero exit), mvirtd records the reason in words in its log and in
the domain's StateReason property, sent with State in PropertiesChanged.

Real dbus-daemon, real mvirtd, real KVM running the guest probe; skipped only
without /dev/kvm.
"""
import os
import signal
import subprocess

import dbus
import pytest

from mvirt_test import dbus_bus, env_path, require_kvm, wait_for, workdir  # noqa: F401
from mvirtd_helpers import (DOMAIN_IFACE, Mvirtd, Signals, console, domain_xml,
                            make_image, mvirtd, stop_daemon, _vmm_pids)  # noqa: F401

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


class PropsChanged:
    """Every PropertiesChanged of one domain object, in order."""

    def __init__(self, bus, path):
        self.seen = []
        bus.add_signal_receiver(self._on, signal_name="PropertiesChanged",
                                dbus_interface="org.freedesktop.DBus.Properties", path=path)

    def _on(self, iface, changed, invalidated):
        self.seen.append({str(k): v for k, v in changed.items()})


def reason(props):
    return str(props.Get(DOMAIN_IFACE, "StateReason"))


def define(d, workdir, name, kernel=None):
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, kernel or env_path("MVIRT_PROBE"), img))
    return dom, props, path


def vmm_pid(d, name):
    with open(os.path.join(d.runtime_dir, name, "vmm.pid")) as f:
        return int(f.read().strip())


@pytest.fixture
def selftest_mvirtd(workdir, dbus_bus):  # noqa: F811
    """mvirtd whose VMMs make a forbidden system call right after installing their filter."""
    d = Mvirtd(workdir, dbus_bus.address, env={"MVIRT_VMM_SECCOMP_SELFTEST": "1"}).start()
    try:
        yield d
    finally:
        stop_daemon(d)


def test_seccomp_violation_is_recorded(selftest_mvirtd, workdir):  # noqa: F811
    require_kvm()
    d = selftest_mvirtd
    dom, props, path = define(d, workdir, "probe")
    sig = Signals(d.bus, path)
    changed = PropsChanged(d.bus, path)
    with pytest.raises(dbus.DBusException) as e:
        dom.Start()
    assert "forbidden system call (seccomp)" in str(e.value), str(e.value)
    assert sig.wait("StateChanged", timeout=30)[0] == "crashed"
    assert d.state(props) == "crashed"
    why = reason(props)
    assert why.startswith("mvirt-vmm was killed for a forbidden system call (seccomp); "
                          "see the kernel's audit log"), why
    sig.pump()
    assert {"State": "crashed", "StateReason": why} in changed.seen, changed.seen
    wait_for(lambda: why in d.log(), 10, what="the reason in mvirtd's log")
    assert "Seccomp self-test: calling ptrace()" in open(
        os.path.join(d.runtime_dir, "probe", "vmm.log")).read()
    info = subprocess.run([env_path("MVIRTCTL"), "--bus-address", d.bus_address, "dominfo", "probe"],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, LC_ALL="C", LANGUAGE=""))
    assert info.returncode == 0, info.stderr
    assert f"Reason:      {why}" in info.stdout, info.stdout
    assert not _vmm_pids(d.runtime_dir)


def test_sigkill_and_other_signals_have_their_own_sentences(mvirtd, workdir):  # noqa: F811
    require_kvm()
    dom, props, path = define(mvirtd, workdir, "fragile")
    sig = Signals(mvirtd.bus, path)
    assert reason(props) == ""
    for signo, expected in ((signal.SIGKILL, "mvirt-vmm was killed with SIGKILL by something "
                             "other than mvirtd"),
                            (signal.SIGALRM, f"mvirt-vmm was killed by signal "
                             f"{int(signal.SIGALRM)} (")):
        dom.Start()
        assert sig.wait("StateChanged")[0] == "running"
        assert reason(props) == ""
        wait_for(lambda: "PROBE ready" in console(mvirtd, "fragile"), 60,
                 what="the probe to report ready")
        os.kill(vmm_pid(mvirtd, "fragile"), signo)
        assert sig.wait("StateChanged", timeout=10)[0] == "crashed"
        assert reason(props).startswith(expected), reason(props)
        wait_for(lambda: reason(props) in mvirtd.log(), 10, what="the reason in mvirtd's log")
    # A Destroy is no crash: no reason.
    dom.Start()
    assert sig.wait("StateChanged")[0] == "running"
    assert reason(props) == ""
    dom.Destroy()
    assert sig.wait("StateChanged")[0] == "shutoff"
    assert reason(props) == ""


def test_nonzero_exit_has_its_own_sentence(mvirtd, workdir):  # noqa: F811
    require_kvm()
    # Not a kernel: mvirt-vmm refuses it and exits with a status, before it serves QMP.
    bogus = os.path.join(workdir, "not-a-kernel")
    with open(bogus, "wb") as f:
        f.write(b"\0" * 4096)
    dom, props, path = define(mvirtd, workdir, "bogus", kernel=bogus)
    sig = Signals(mvirtd.bus, path)
    with pytest.raises(dbus.DBusException) as e:
        dom.Start()
    assert sig.wait("StateChanged", timeout=30)[0] == "crashed"
    why = reason(props)
    rundir = os.path.join(mvirtd.runtime_dir, "bogus")
    assert why.startswith("mvirt-vmm exited with status "), why
    assert why.endswith(f"see {rundir}/vmm.log."), why
    assert why in str(e.value)
    assert int(why.split("status ")[1].split(";")[0]) != 0
