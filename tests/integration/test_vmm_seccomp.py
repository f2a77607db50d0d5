"""mvirt-vmm's seccomp allowlists on a real VMM booting the probe: every
thread runs filtered once the guest runs, a forbidden call ends the whole
VMM with SIGSYS, and -disable-seccomp leaves the threads unfiltered."""
import os
import signal

from mvirt_test import require_kvm, workdir  # noqa: F401 (fixture)
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def seccomp_modes(pid):
    """Each thread's Seccomp: line (0 none, 2 filter) from /proc, by thread id."""
    modes = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    modes[tid] = int(line.split()[1])
    return modes


def test_every_thread_is_filtered(workdir):  # noqa: F811
    require_kvm()
    vm = Vmm(workdir, ["-smp", "2"])
    try:
        vm.wait_event("ready")
        modes = seccomp_modes(vm.pid)
        # The main thread and two vCPU threads at least.
        assert len(modes) >= 3, modes
        assert set(modes.values()) == {2}, modes
    finally:
        vm.stop()


def test_disable_seccomp_leaves_threads_unfiltered(workdir):  # noqa: F811
    require_kvm()
    vm = Vmm(workdir, ["-disable-seccomp"])
    try:
        vm.wait_event("ready")
        modes = seccomp_modes(vm.pid)
        assert set(modes.values()) == {0}, modes
    finally:
        vm.stop()


def test_forbidden_call_kills_the_vmm(workdir):  # noqa: F811
    require_kvm()
    qmp = os.path.join(workdir, "q.sock")
    vm = Vmm(workdir, ["-qmp", f"unix:{qmp},server,nowait"],
             env={"MVIRT_VMM_SECCOMP_SELFTEST": "1"})
    try:
        rc = vm.wait_exit(timeout=60)
        err = vm.stderr()
        assert rc == -signal.SIGSYS, f"exit {rc}; stderr:\n{err}"
        assert "Seccomp self-test: calling ptrace()" in err
        assert "the filter is not working" not in err
    finally:
        vm.stop()
