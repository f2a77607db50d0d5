"""virtio-net on real TAPs: the probe's NICs behind a bridge in a private
network namespace answer the host's pings under mvirt-vmm."""
import os
import threading

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def test_host_pings_both_nics(workdir):  # noqa: F811
    require_kvm()
    require_root()
    from probe_netns import HOST_IP, TAP, NetNS
    ns = NetNS(taps=2)
    vm = None
    try:
        args = []
        for n in range(2):
            args += ["-netdev", f"tap,id=n{n},ifname={TAP.format(n)}",
                     "-device", f"virtio-net-device,netdev=n{n},id=eth{n},"
                                f"mac=52:54:00:00:10:0{n}"]
        vm = Vmm(workdir, args, cmdline="probe.ip=10.0.0.2 probe.ip1=10.0.0.9",
                 prefix=["ip", "netns", "exec", ns.name])
        vm.wait_event("ready", net=2)
        nets = {n["index"]: n for n in vm.events("net")}
        assert nets["0"]["link"] == "up" and nets["1"]["link"] == "up"
        for index, ip in ((0, "10.0.0.2"), (1, "10.0.0.9")):
            replies = ns.ping(ip, count=3)
            assert replies, f"no ping reply from {ip}; console:\n{vm.console()}"
            vm.wait_event("ping", index=index, **{"from": HOST_IP})
    finally:
        if vm:
            vm.stop()
        ns.close()
    assert not os.path.exists(f"/var/run/netns/{ns.name}")


def test_nic_reset_during_traffic(workdir):  # noqa: F811
    """The guest's driver resets virtio-net (Status 0, on a vCPU thread) while the
    host sends frames into its TAP. The reset's change to the loop's TAP watch must reach the
    loop thread, not race it (an assert in the loop aborts the VMM on the wrong thread)."""
    require_kvm()
    require_root()
    from probe_netns import TAP, NetNS
    ns = NetNS(taps=1)
    vm = None
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            ns.ping("10.0.0.2", count=1, timeout=5)

    sender = threading.Thread(target=traffic)
    try:
        sender.start()
        args = ["-netdev", f"tap,id=n0,ifname={TAP.format(0)}",
                "-device", "virtio-net-device,netdev=n0,id=eth0,mac=52:54:00:00:10:00"]
        vm = Vmm(workdir, args, cmdline="probe.ip=10.0.0.2 probe.net-resets=40",
                 prefix=["ip", "netns", "exec", ns.name])
        vm.wait_event("net-resets", timeout=90, index="0", done="40")
        stop.set()
        sender.join()
        assert ns.ping("10.0.0.2", count=3), f"no ping reply; console:\n{vm.console()}"
        assert vm.proc.alive(), vm.stderr()
        assert "Assertion" not in vm.stderr()
    finally:
        stop.set()
        if sender.is_alive():
            sender.join()
        if vm:
            vm.stop()
        ns.close()
