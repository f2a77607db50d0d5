"""Every seccomp rule in vmm/seccomp-rules.c is one the VMM uses.

A representative session runs under strace: the probe boots with two vCPUs, a
disk and a NIC on the command line and a console socket; the host pings the
NIC, types into the console, and over QMP hot-plugs a disk by path and one by
getfd, a NIC by TAP name, removes them, pauses and resumes, and presses the
power button, which powers the probe off. Each thread's calls after it
installed its filter are compared with the rules of its kind (vCPU threads
are the ones that call KVM_RUN; the others are the main thread). A rule that
no call matched fails the test unless KEPT below names it with the reason the
session does not reach its path: a rule nothing uses is an opening for a
guest that takes over a device model, and the list should say only what the
code calls."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from mvirt_test import env_path, require_kvm, require_root, workdir  # noqa: F401 (fixture)
from qmp_client import QmpClient
from vmm_helpers import Vmm, probe_fields

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

KVM_RUN = 0xae80

# Rules kept although the session does not reach their path: (kind, call, value) -> why.
# value is the allowed argument (the ioctl request, the fcntl command), or None.
LIBC = "made by glibc itself (malloc, thread start and exit, pthread_kill and abort, vDSO "\
       "fallback, interrupted sleeps): when, and on which thread, depends on timing"
OTHER_LIBC = "what glibc calls instead on another architecture or glibc version"
KEPT = {
    **{("main", c, None): LIBC for c in ("brk", "mmap", "madvise", "mprotect", "rt_sigreturn",
                                         "clock_gettime", "exit", "restart_syscall")},
    **{("vcpu", c, None): LIBC for c in ("brk", "mmap", "munmap", "madvise", "mprotect",
                                         "futex", "rt_sigreturn", "rt_sigprocmask",
                                         "clock_gettime", "getpid", "tgkill", "exit_group",
                                         "exit", "restart_syscall")},
    **{("main", c, None): OTHER_LIBC for c in ("epoll_pwait", "fstat", "statx", "unlinkat")},
    ("main", "getsockopt", 0x11): "SO_PEERCRED: a QMP client taking the last slot",
    ("main", "ioctl", 0x80081272): "BLKGETSIZE64: a block-device backend's size; the "
                                   "session's disks are files (a block device needs a loop "
                                   "device, which a test must not take from the host)",
    ("main", "ioctl", 0x800454d2): "TUNGETIFF: a TAP passed with getfd; the test process "
                                   "lives outside the namespace that holds the TAPs",
    ("vcpu", "ioctl", 0x4008ae61): "KVM_IRQ_LINE from an MMIO exit: a device without irqfd",
    ("vcpu", "ioctl", 0x8090ae81): "KVM_GET_REGS: the register dump of an emulation failure",
    ("vcpu", "ioctl", 0x8138ae83): "KVM_GET_SREGS: the same",
    ("vcpu", "ioctl", 0xc018ae85): "KVM_TRANSLATE: the same",
}
# Rules only a ./configure --enable-sanitizers build has (SANITIZER_RULES): the ASan
# runtime's own calls, made when threads start and end.
SANITIZER = "the ASan runtime's, in a --enable-sanitizers build"
KEPT_IF_PRESENT = {(k, c, None): SANITIZER for k in ("main", "vcpu")
                   for c in ("sigaltstack", "gettid")}

# strace -f: "TID call(args) = result", or "TID call(args <unfinished ...>" whose
# "<... call resumed>" line comes later and is not counted again.
CALL_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)")


def allow_list():
    """The rules as (kind, call, arg index or None, value or None), from the built code."""
    out = subprocess.run([env_path("MVIRT_SECCOMP_RULES_DUMP")], check=True,
                         capture_output=True, text=True).stdout
    rules = []
    for line in out.splitlines():
        kind, call, arg, value = line.split()
        rules.append((kind, call, None if arg == "-" else int(arg),
                      None if value == "-" else int(value, 16)))
    return rules


def filtered_calls(trace_path):
    """{tid: [(call, [args])]} of the calls each thread made once its filter was on, and the
    set of tids that are vCPU threads."""
    calls, filtered, vcpus = {}, set(), set()
    with open(trace_path) as f:
        for line in f:
            m = CALL_LINE.match(line)
            if not m:
                continue
            tid, call, rest = m.groups()
            args = [a.strip() for a in rest.split(")", 1)[0].split(",")]
            if tid in filtered:
                calls.setdefault(tid, []).append((call, args))
            if call == "ioctl" and len(args) > 1 and args[1].startswith("0x") and \
                    int(args[1], 16) == KVM_RUN:
                vcpus.add(tid)
            # libseccomp probes the kernel with seccomp() calls that load nothing first.
            if call == "seccomp" and "SECCOMP_SET_MODE_FILTER" in rest and "filter=" in rest:
                filtered.add(tid)
    return calls, vcpus


def matches(rule, call, args):
    _, name, arg, value = rule
    if call != name:
        return False
    if arg is None:
        return True
    try:
        return int(args[arg], 0) == value
    except (IndexError, ValueError):
        return False


def wait_line(path, prefix, timeout=30, **want):
    """The first line of the console log starting with prefix whose fields include want."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                for line in f.read().split("\n")[:-1]:
                    line = line.strip()
                    if line.startswith(prefix):
                        fields = probe_fields(line)[1]
                        if all(fields.get(k) == str(v) for k, v in want.items()):
                            return fields
        time.sleep(0.05)
    pytest.fail(f"no {prefix!r} with {want} in the console log")


def make_file(path, sectors):
    with open(path, "wb") as f:
        f.write(os.urandom(512 * sectors))


def run_session(workdir, ns, trace):  # noqa: F811
    from probe_netns import TAP
    disk, hot, byfd = (os.path.join(workdir, n) for n in ("disk.img", "hot.img", "fd.img"))
    for path in (disk, hot, byfd):
        make_file(path, 64)
    qmp_path = os.path.join(workdir, "qmp.sock")
    console = os.path.join(workdir, "console.sock")
    log = os.path.join(workdir, "console.log")
    strace = ["strace", "-f", "-qq", "-o", trace, "-e", "trace=all",
              "-e", "raw=ioctl,fcntl,socket,getsockopt"]
    vm = Vmm(workdir, ["-smp", "2", "-qmp", f"unix:{qmp_path},server,nowait",
                       "-serial", f"unix:{console},logfile={log}",
                       "-drive", f"file={disk},id=d0",
                       "-device", "virtio-blk-device,drive=d0,id=vda",
                       "-netdev", f"tap,id=n0,ifname={TAP.format(0)}",
                       "-device", "virtio-net-device,netdev=n0,id=eth0,mac=52:54:00:00:10:00"],
             cmdline="probe.ip=10.0.0.2 probe.write=0:5:mvirt probe.on-power-button=poweroff",
             prefix=["ip", "netns", "exec", ns.name, *strace])
    try:
        wait_line(log, "PROBE ready", timeout=60)
        assert ns.ping("10.0.0.2", count=2), "no ping reply from the probe"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(console)
            client.sendall(b"x" * 16)
            qmp = QmpClient(qmp_path)
            try:
                qmp.ok("blockdev-add", {"node-name": "hot", "file": {
                    "driver": "file", "filename": hot}, "cache": {"direct": False}})
                qmp.ok("device_add", {"driver": "virtio-blk-mmio", "id": "disk1",
                                      "drive": "hot", "addr": "0x1"})
                wait_line(log, "PROBE blk", index=1, capacity=64)
                qmp.ok("device_del", {"id": "disk1"})
                qmp.event("DEVICE_DELETED")
                qmp.ok("blockdev-del", {"node-name": "hot"})
                with open(byfd, "r+b") as f:
                    qmp.send("getfd", {"fdname": "img"}, fds=[f.fileno()])
                    assert qmp.reply() == {"return": {}}
                qmp.ok("blockdev-add", {"node-name": "byfd", "file": {
                    "driver": "file", "fd": "img"}})
                qmp.ok("device_add", {"driver": "virtio-blk-mmio", "id": "disk2",
                                      "drive": "byfd", "addr": "0x1"})
                qmp.ok("netdev_add", {"id": "n1", "type": "tap", "ifname": TAP.format(1)})
                qmp.ok("device_add", {"driver": "virtio-net-mmio", "id": "eth1",
                                      "netdev": "n1"})
                qmp.ok("device_del", {"id": "eth1"})
                qmp.event("DEVICE_DELETED")
                qmp.ok("netdev_del", {"id": "n1"})
                qmp.ok("stop")
                qmp.ok("cont")
                qmp.ok("system_powerdown")
                qmp.event("SHUTDOWN")
            finally:
                qmp.close()
            client.settimeout(10)
            assert client.recv(4096), "no console output on the socket"
            # Connected until the VMM is gone: the console writes to a client that left
            # end the VMM with SIGPIPE (vmm/devices/serial.c), which is not this test's subject.
            assert vm.wait_exit(30) == 0, vm.stderr()
    finally:
        vm.stop()


def test_every_rule_is_used(workdir):  # noqa: F811
    require_kvm()
    require_root()
    from probe_netns import NetNS
    if not shutil.which("strace"):
        pytest.fail("strace is missing: install it (tools/setup lists it)")
    rules = allow_list()
    for key in KEPT:
        assert any(r[0] == key[0] and r[1] == key[1] and r[3] == key[2] for r in rules), \
            f"KEPT names {key}, which is no longer a rule: drop it from KEPT"
    trace = os.path.join(workdir, "vmm.strace")
    ns = NetNS(taps=2)
    try:
        run_session(workdir, ns, trace)
    finally:
        ns.close()
    calls, vcpus = filtered_calls(trace)
    assert vcpus and len(calls) > len(vcpus), f"no filtered threads seen in {trace}"
    unused = []
    for rule in rules:
        kind = rule[0]
        tids = [t for t in calls if (t in vcpus) == (kind == "vcpu")]
        if any(matches(rule, c, a) for t in tids for c, a in calls[t]):
            continue
        if (kind, rule[1], rule[3]) not in {**KEPT, **KEPT_IF_PRESENT}:
            unused.append(f"{kind}: {rule[1]}" + (f" arg{rule[2]}={rule[3]:#x}"
                                                 if rule[2] is not None else ""))
    assert not unused, ("seccomp rules no call of the session matched (remove them from "
                        "vmm/seccomp-rules.c, or add them to KEPT with the reason): "
                        + ", ".join(unused))
