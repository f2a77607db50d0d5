"""A private network namespace with a bridge and a TAP for the probe's NIC, and ICMP echo.

Nothing here touches the machine's own interfaces: the bridge and the TAP live only in a
namespace named after this process, removed (with everything in it) by close(). The ping is
done with a raw socket by this same file run as a script inside the namespace (Debian's
iputils-ping is not always installed).

    python3 probe_netns.py ping ADDRESS COUNT   -> one line 'reply seq=N ms=T' per answer
"""
import os
import socket
import struct
import subprocess
import sys
import time

HOST_IP = "10.0.0.1"
TAP = "mvptap{}"  # .format(n): mvptap0, mvptap1, ...
BRIDGE = "mvpbr0"


def _ip(ns, *args):
    cmd = ["ip"] + (["netns", "exec", ns, "ip"] if ns else []) + list(args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=10)


class NetNS:
    """bridge BRIDGE (HOST_IP/24) <- `taps` TAPs, in namespace mvprobe-<pid>-<n>."""
    _count = 0

    def __init__(self, taps=1):
        NetNS._count += 1
        self.name = f"mvprobe-{os.getpid()}-{NetNS._count}"
        _ip(None, "netns", "add", self.name)
        try:
            _ip(self.name, "link", "set", "lo", "up")
            _ip(self.name, "link", "add", BRIDGE, "type", "bridge")
            _ip(self.name, "addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
            _ip(self.name, "link", "set", BRIDGE, "up")
            for n in range(taps):
                tap = TAP.format(n)
                _ip(self.name, "tuntap", "add", "dev", tap, "mode", "tap")
                _ip(self.name, "link", "set", tap, "master", BRIDGE)
                _ip(self.name, "link", "set", tap, "up")
        except Exception:
            self.close()
            raise

    def ping(self, address, count=3, timeout=20):
        out = subprocess.run(["ip", "netns", "exec", self.name, sys.executable,
                              os.path.abspath(__file__), "ping", address, str(count)],
                             check=False, capture_output=True, text=True, timeout=timeout)
        return [line for line in out.stdout.splitlines() if line.startswith("reply")]

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ping(address, count):
    """ICMP echo through a raw socket; one try a second, each waiting up to 2 s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    payload = b"mvirt-probe-ping" * 3
    for seq in range(1, count + 1):
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
        sent = time.monotonic()
        sock.sendto(packet, (address, 0))
        deadline = sent + 2
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                data, peer = sock.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (data[0] & 15) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if peer[0] == address and typ == 0 and rid == ident and rseq == seq:
                ok = data[ihl + 8:] == payload and _checksum(data[ihl:]) == 0
                print(f"reply seq={seq} ms={(time.monotonic() - sent) * 1000:.2f} "
                      f"intact={int(ok)}", flush=True)
                break
        time.sleep(max(0, sent + 1 - time.monotonic()))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "ping":
        _ping(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
