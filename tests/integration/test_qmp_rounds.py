"""6 disks and 2 NICs plugged, unplugged and plugged again, round after round,
with the probe checking each disk's capacity and sector-0 CRC every round, on
mvirt-vmm with real KVM and TAPs in a private namespace. MVIRT_QMP_ROUNDS sets
the number of rounds (default 50: about 11 s here)."""
import os
import time
import zlib

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from qmp_client import GuideNet, QmpClient
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

ROUNDS = int(os.environ.get("MVIRT_QMP_ROUNDS", "50"))


def test_plug_unplug_rounds(workdir):  # noqa: F811
    require_kvm()
    require_root()
    images = []
    for i in range(6):
        path = os.path.join(workdir, f"d{i}.img")
        data = os.urandom(512 * (16 + i))
        with open(path, "wb") as f:
            f.write(data)
        images.append((path, 16 + i, f"{zlib.crc32(data[:512]):08x}"))
    net = GuideNet()
    sock = os.path.join(workdir, "qmp.sock")
    v = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait"], prefix=net.prefix())
    try:
        v.wait_event("ready", timeout=60)
        q = QmpClient(sock)
        t0 = time.monotonic()
        for r in range(ROUNDS):
            seen = len(v.events("blk"))
            for i, (path, _, _) in enumerate(images):
                q.ok("blockdev-add", {"node-name": f"d{i}", "cache": {"direct": i % 2 == 0},
                                      "file": {"driver": "file", "filename": path}})
                q.ok("device_add", {"id": f"d{i}", "driver": "virtio-blk-mmio", "addr": hex(i)})
            for n in range(2):
                q.ok("netdev_add", {"id": f"n{n}", "ifname": f"tap{n}"})
                q.ok("device_add", {"id": f"n{n}", "driver": "virtio-net-mmio", "addr": hex(n)})
            for i, (_, sectors, sum0) in enumerate(images):
                got = v.wait_event("blk", after=seen, index=i, capacity=sectors)
                assert got["sum0"] == sum0, (r, i, got)
            if r == 0 or r == ROUNDS - 1:
                assert net.ping("10.0.0.2", count=1) and net.ping("10.0.0.3", count=1), r
            slots = q.ok("query-slots")
            assert [s.get("id") for s in slots] == [f"d{i}" for i in range(6)] + ["n0", "n1"]
            seen = len(v.events("blk"))
            for dev in [f"d{i}" for i in range(6)] + ["n0", "n1"]:
                q.send("device_del", {"id": dev})
                assert q.event("DEVICE_DELETED")["data"] == {"device": dev, "path": dev}
                assert q.reply() == {"return": {}}
            for i in range(6):
                v.wait_event("blk", after=seen, index=i, capacity=0)
            assert all("id" not in s for s in q.ok("query-slots"))
        elapsed = time.monotonic() - t0
        print(f"# {ROUNDS} rounds of 6 disks + 2 NICs: {elapsed:.2f} s "
              f"({elapsed / ROUNDS:.3f} s a round)")
        q.close()
    finally:
        v.stop()
        net.close()
