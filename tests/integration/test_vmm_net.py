"""virtio-net on real TAPs: the probe's NICs behind a bridge in a private
network namespace answer the host's pings under mvirt-vmm."""
import os

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
