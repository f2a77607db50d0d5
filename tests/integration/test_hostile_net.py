"""A misbehaving guest against mvirt-vmm's virtio-net: a 70000-byte frame (past the MTU and
past what a TAP takes in one write) on a NIC behind a real TAP in a private network
namespace. The VMM completes the buffer without sending it, stays up, logs nothing at the
default level, and the same NIC still answers the host's pings, the disk its reads."""
import os
import zlib

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

NEEDS_RESET = 0x40


def test_net_frame_too_big(workdir):  # noqa: F811
    require_kvm()
    require_root()
    from probe_netns import HOST_IP, TAP, NetNS
    disk = os.path.join(workdir, "disk.img")
    data = os.urandom(512 * 64)
    with open(disk, "wb") as f:
        f.write(data)
    ns = NetNS(taps=1)
    vm = None
    try:
        vm = Vmm(workdir, ["-m", "64M", "-smp", "1",
                           "-drive", f"file={disk},id=d0",
                           "-device", "virtio-blk-device,drive=d0,id=d0",
                           "-netdev", f"tap,id=n0,ifname={TAP.format(0)}",
                           "-device", "virtio-net-device,netdev=n0,id=eth0,"
                                      "mac=52:54:00:00:20:01"],
                 cmdline="probe.ip=10.0.0.2 probe.hostile=net-frame-too-big",
                 prefix=["ip", "netns", "exec", ns.name])
        vm.wait_event("hostile", mode="net-frame-too-big", done=1)
        seen = vm.events("hostile")[0]
        assert seen["dev"] == "net" and seen["index"] == "0"
        assert seen["used"] == "1", seen  # the buffer came back
        assert not int(seen["status"], 16) & NEEDS_RESET, seen
        read = vm.wait_event("read", index=0, sector=0)
        assert read["sum"] == f"{zlib.crc32(data[:512]):08x}"
        replies = ns.ping("10.0.0.2", count=3)
        assert replies, f"no ping reply after the big frame; console:\n{vm.console()}"
        vm.wait_event("ping", index=0, **{"from": HOST_IP})
        assert vm.proc.alive(), "the VMM died"
        lines = [line for line in vm.stderr().splitlines()
                 if ": warning: " in line or ": error: " in line]
        # One line for the cause, its own sentence, naming the device.
        assert len(lines) == 1, vm.stderr()
        assert "virtio device at 0xd" in lines[0], lines
        assert "frame larger than 65535 bytes" in lines[0], lines
    finally:
        rc = vm.stop() if vm else 0
        ns.close()
    assert rc == 0, f"mvirt-vmm exited with {rc}; stderr:\n{vm.stderr()}"
    assert not os.path.exists(f"/var/run/netns/{ns.name}")
