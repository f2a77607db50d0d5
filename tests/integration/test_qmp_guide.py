"""StratoVirt's hot-plug guide (seed/stratovirt-hotplug.ru.md) against mvirt-vmm
running the guest probe on real KVM: the guide's exact JSON over the QMP socket,
the replies and events it shows, and what the guest sees; then every error case."""
import os
import time
import zlib

import pytest

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from qmp_client import GuideNet, QmpClient, Transcript
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def make_image(path, sectors):
    data = os.urandom(512 * sectors)
    with open(path, "wb") as f:
        f.write(data)
    return f"{zlib.crc32(data[:512]):08x}"


@pytest.fixture
def vm(workdir):  # noqa: F811
    require_kvm()
    started = []

    def start(args=(), cmdline="", prefix=()):
        sock = os.path.join(workdir, f"qmp{len(started)}.sock")
        v = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait", *args], cmdline=cmdline,
                prefix=prefix, name=f"vm{len(started)}")
        started.append(v)
        v.wait_event("ready", timeout=60)
        v.qmp = QmpClient(sock)
        return v

    yield start
    for v in started:
        if hasattr(v, "qmp"):
            v.qmp.close()
        v.stop()


def blk_lines(v, index):
    return [b for b in v.events("blk") if b["index"] == str(index)]


def test_guide_disk_hotplug_and_unplug(vm, workdir):  # noqa: F811
    block = os.path.join(workdir, "block")
    sum0 = make_image(block, 300)
    v = vm()
    q = v.qmp
    assert q.greeting["QMP"]["capabilities"] == []
    before = len(blk_lines(v, 1))
    # The guide's two commands, word for word but for the path.
    guide = Transcript("guide-disk.qmp", BLOCK=block)
    t0 = time.monotonic()
    guide.play(q, "add")
    seen = v.wait_event("blk", after=0, index=1, capacity=300)
    print(f"# device_add -> probe sees capacity: {(time.monotonic() - t0) * 1000:.1f} ms")
    assert seen["sum0"] == sum0
    assert len(blk_lines(v, 1)) == before + 1
    # 0x1 is vdb: no other disk changed.
    assert all(b["capacity"] == "0" for b in v.events("blk") if b["index"] != "1")

    guide.play(q, "del")
    v.wait_event("blk", after=before + 1, index=1, capacity=0)

    # Re-adding the same id works; lun=0 is vdb too.
    q.ok("blockdev-add", {"node-name": "drive-0", "file": {"driver": "file", "filename": block},
                          "cache": {"direct": True}, "read-only": True})
    q.ok("device_add", {"id": "drive-0", "driver": "virtio-blk-mmio", "lun": 0})
    again = v.wait_event("blk", after=before + 2, index=1, capacity=300)
    # The guest learns read-only-ness (VIRTIO_BLK_F_RO) only when its driver starts,
    # so a hot-plugged read-only disk is refused writes by the device, not flagged.
    assert again["sum0"] == sum0


def test_guide_nic_hotplug_ping_and_unplug(vm, workdir):  # noqa: F811
    require_root()
    net = GuideNet()
    try:
        v = vm(prefix=net.prefix())
        q = v.qmp
        mac0 = v.events("net")[0]["mac"]
        guide = Transcript("guide-nic.qmp")
        guide.play(q, "add")
        v.wait_event("net", index=0, link="up")
        assert net.ping("10.0.0.2", count=2), "the hot-plugged NIC does not answer ping"
        slots = q.ok("query-slots")
        nic = [s for s in slots if s["kind"] == "net" and s["slot"] == 0][0]
        assert nic == {"kind": "net", "slot": 0, "addr": "0x0", "id": "net-0",
                       "netdev": "net-0", "ifname": "tap0", "mac": mac0, "boot": False}

        guide.play(q, "del")
        v.wait_event("net", index=0, link="down")
        assert net.ping("10.0.0.2", count=2) == [], "an unplugged NIC still answers"
        # The slot's MAC, fixed at boot, is the only one device_add takes.
        q.ok("netdev_add", {"id": "net-1", "ifname": "tap1"})
        desc = q.error("device_add", {"id": "net-1", "driver": "virtio-net-mmio", "addr": "0x1",
                                      "mac": "52:54:00:00:00:01"},
                       names=["52:54:00:00:00:01", v.events("net")[1]["mac"]])
        q.ok("device_add", {"id": "net-1", "driver": "virtio-net-mmio", "addr": "0x1",
                            "mac": v.events("net")[1]["mac"]})
        v.wait_event("net", index=1, link="up")
        assert net.ping("10.0.0.3", count=2)
        # The third NIC; a TAP that does not exist; a TAP in use.
        q.ok("netdev_add", {"id": "net-0", "ifname": "tap0"})
        q.ok("device_add", {"id": "net-0", "driver": "virtio-net-mmio"})
        q.ok("netdev_add", {"id": "net-2", "ifname": "tap2"})
        q.error("device_add", {"id": "net-2", "driver": "virtio-net-mmio"}, names=["net-2"])
        q.error("netdev_add", {"id": "net-3", "ifname": "nosuchtap"}, names=["nosuchtap"])
        q.error("netdev_add", {"id": "net-4", "ifname": "tap1"}, names=["tap1"])
        assert desc
    finally:
        net.close()


def test_error_cases(vm, workdir):  # noqa: F811
    root = os.path.join(workdir, "root.img")
    make_image(root, 64)
    images = []
    for i in range(7):
        images.append(os.path.join(workdir, f"d{i}.img"))
        make_image(images[-1], 8 + i)
    v = vm(["-drive", f"file={root},id=root,readonly=on",
            "-device", "virtio-blk-device,drive=root,id=root"])
    q = v.qmp

    def blockdev(name, path, ro=False):
        return {"node-name": name, "file": {"driver": "file", "filename": path},
                "cache": {"direct": True}, "read-only": ro}

    # The root image: never plugged again (same inode via a link), never unplugged.
    link = os.path.join(workdir, "root-link.img")
    os.link(root, link)
    q.error("blockdev-add", blockdev("again", link, ro=True), names=[link])
    q.error("device_del", {"id": "root"}, names=["root"])
    # A missing file; a driver we do not have; an unknown id.
    missing = os.path.join(workdir, "missing.img")
    q.error("blockdev-add", blockdev("m", missing), names=[missing])
    q.error("device_add", {"id": "x", "driver": "virtio-scsi-pci"}, names=["virtio-scsi-pci"])
    q.error("device_del", {"id": "nobody"}, cls="DeviceNotFound", names=["nobody"])
    # id and node-name that do not match.
    q.ok("blockdev-add", blockdev("drive-1", images[0]))
    q.error("device_add", {"id": "drive-x", "driver": "virtio-blk-mmio", "addr": "0x1"},
            names=["drive-x"])
    # An image already attached read-write.
    q.error("blockdev-add", blockdev("dup", images[0], ro=True), names=[images[0], "drive-1"])
    # A duplicate node-name and a duplicate device id.
    q.error("blockdev-add", blockdev("drive-1", images[1]), names=["drive-1"])
    q.ok("device_add", {"id": "drive-1", "driver": "virtio-blk-mmio", "addr": "0x1"})
    q.ok("blockdev-add", blockdev("drive-2", images[1]))
    q.error("device_add", {"id": "drive-1", "driver": "virtio-blk-mmio", "drive": "drive-2"},
            names=["drive-1"])
    # An addr out of range, and an occupied one.
    q.error("device_add", {"id": "drive-2", "driver": "virtio-blk-mmio", "addr": "0x6"},
            names=["0x6"])
    q.error("device_add", {"id": "drive-2", "driver": "virtio-blk-mmio", "addr": "0x0"},
            names=["0x0", "root"])
    # Fill the rest (slot 0 holds the root): the 7th disk is refused.
    for i in range(3, 7):
        q.ok("blockdev-add", blockdev(f"drive-{i}", images[i - 1]))
    for i in range(2, 6):
        q.ok("device_add", {"id": f"drive-{i}", "driver": "virtio-blk-mmio"})
    q.ok("blockdev-add", blockdev("drive-7", images[6]))
    q.error("device_add", {"id": "drive-6", "driver": "virtio-blk-mmio", "drive": "drive-7"},
            names=["drive-6"])
    # A backend not plugged in can be removed; a plugged one cannot.
    q.ok("blockdev-del", {"node-name": "drive-7"})
    q.error("blockdev-del", {"node-name": "drive-1"}, names=["drive-1"])
    slots = q.ok("query-slots")
    assert [s.get("id") for s in slots if s["kind"] == "blk"] == \
        ["root", "drive-1", "drive-2", "drive-3", "drive-4", "drive-5"]
    assert slots[0]["boot"] is True and slots[0]["read-only"] is True
    assert slots[0]["file"] == root
    # Each plugged disk reached the guest with its own size.
    for i in range(1, 6):
        v.wait_event("blk", index=i, capacity=7 + i)
