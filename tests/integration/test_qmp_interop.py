"""QMP as QEMU's own clients (qemu.qmp, qmp-shell) expect it from QEMU 7.2, on mvirt-vmm's real
socket: a null id echoed, a second negotiation refused, one error for a bad object split over
two lines, "/" not escaped, and QEMU's unplug order (device_del, DEVICE_DELETED, then
blockdev-del / netdev_del) as well as StratoVirt's (device_del alone) leaving nothing open."""
import json
import os
import signal
import subprocess
import time

import pytest

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from qemu_probe import qemu_path
from qmp_client import QmpClient
from vmm_helpers import vmm_with_qmp

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


@pytest.fixture
def vmm(workdir):  # noqa: F811
    require_kvm()
    v = vmm_with_qmp(workdir)
    v.qmp = QmpClient(v.sock)
    yield v
    v.qmp.close()
    v.stop()


def open_fds(pid):
    return sorted(os.readlink(f"/proc/{pid}/fd/{n}") for n in os.listdir(f"/proc/{pid}/fd"))


def test_wire_details_as_qemu(vmm):
    q = vmm.qmp
    # 12: a null id is echoed as null, like any other JSON value.
    q.send_raw(b'{"execute": "query-status", "id": null}\r\n')
    line = q.readline()
    assert b'"id":null' in line.replace(b" ", b""), line
    # 13: negotiation once; the second is refused as QEMU refuses it.
    assert q.execute("qmp_capabilities") == {"return": {}}
    r = q.execute("qmp_capabilities", id="again")
    assert r["error"]["class"] == "CommandNotFound", r
    assert "already complete" in r["error"]["desc"] and r["id"] == "again"
    # 14: a malformed object over two lines is one error; the next command is answered.
    q.send_raw(b'{"execute": \r\n')
    q.send_raw(b'}\r\n')
    q.send_raw(b'{"execute": "query-status", "id": "after"}\r\n')
    first = q.reply()
    assert "error" in first and "JSON" in first["error"]["desc"], first
    assert q.reply()["id"] == "after"
    # 15: "/" is written as is.
    q.send("blockdev-add", {"node-name": "m", "file": {"driver": "file",
                                                        "filename": "/nonexistent/x.img"}})
    line = q.readline()
    assert b"/nonexistent/x.img" in line and b"\\/" not in line, line


def test_unplug_in_qemu_and_stratovirt_order(vmm, workdir):  # noqa: F811
    q = vmm.qmp
    image = os.path.join(workdir, "d.img")
    with open(image, "wb") as f:
        f.truncate(1 << 20)
    blockdev = {"node-name": "drive-1", "file": {"driver": "file", "filename": image},
                "cache": {"direct": True}, "read-only": False}
    before = open_fds(vmm.pid)
    # QEMU's order.
    q.ok("blockdev-add", blockdev)
    q.ok("device_add", {"id": "drive-1", "driver": "virtio-blk-mmio", "addr": "0x1"})
    q.ok("device_del", {"id": "drive-1"})
    assert q.event("DEVICE_DELETED")["data"]["device"] == "drive-1"
    q.ok("blockdev-del", {"node-name": "drive-1"})
    assert open_fds(vmm.pid) == before
    q.error("blockdev-del", {"node-name": "drive-1"}, names=["drive-1"])
    # StratoVirt's guide: device_del only, then the same names again, many times.
    for _ in range(15):
        q.ok("blockdev-add", blockdev)
        q.ok("device_add", {"id": "drive-1", "driver": "virtio-blk-mmio", "addr": "0x1"})
        q.ok("device_del", {"id": "drive-1"})
        q.event("DEVICE_DELETED")
    assert open_fds(vmm.pid) == before
    assert [s for s in q.ok("query-slots") if s.get("id") == "drive-1"] == []


def test_netdev_del_after_device_del(vmm):
    require_root()
    q = vmm.qmp
    import subprocess
    tap = "mvqi%d" % (os.getpid() % 10000)
    subprocess.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr"], check=True)
    try:
        before = open_fds(vmm.pid)
        q.ok("netdev_add", {"id": "net-0", "ifname": tap})
        q.ok("device_add", {"id": "net-0", "driver": "virtio-net-mmio"})
        q.ok("device_del", {"id": "net-0"})
        q.event("DEVICE_DELETED")
        q.ok("netdev_del", {"id": "net-0"})
        assert open_fds(vmm.pid) == before
    finally:
        subprocess.run(["ip", "link", "del", tap], check=False)


# The wire details above, replayed against QEMU 7.2 itself: the same replies, in shape.
TRANSCRIPT = [b'{"execute": "qmp_capabilities"}\r\n',
              b'{"execute": "query-status", "id": null}\r\n',
              b'{"execute": "qmp_capabilities", "id": "again"}\r\n',
              b'{"execute": \r\n', b'}\r\n',
              b'{"execute": "query-status", "id": "after"}\r\n',
              b'{"execute": "device_del", "arguments": {"id": "/a/b"}}\r\n']


def replay(sock_path):
    """Sends TRANSCRIPT, returns the raw reply lines (events left out)."""
    q = QmpClient(sock_path)
    try:
        for chunk in TRANSCRIPT:
            q.send_raw(chunk)
            time.sleep(0.05)
        lines = []
        while len(lines) < 6:
            line = q.readline()
            if b'"event"' not in line:
                lines.append(line)
        return lines
    finally:
        q.close()


def shape(line):
    msg = json.loads(line)
    return (sorted(msg), msg.get("id", "-"), msg.get("error", {}).get("class"))


def test_same_replies_as_qemu(vmm, workdir):  # noqa: F811
    qemu = qemu_path()
    if not qemu:
        pytest.skip("QEMU is not installed")
    sock = os.path.join(workdir, "qemu-qmp.sock")
    proc = subprocess.Popen([qemu, "-M", "microvm", "-accel", "tcg", "-display", "none",
                             "-nodefaults", "-S", "-qmp", f"unix:{sock},server=on,wait=off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        want = replay(sock)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    vmm.qmp.close()
    got = replay(vmm.sock)
    assert [shape(x) for x in got] == [shape(x) for x in want], (got, want)
    assert b"/a/b" in got[-1] and b"\\/" not in got[-1] and b"\\/" not in want[-1]
