"""The real Linux guest of the tests and a shell on its serial console.

tests/run-pytest builds the guest with tools/linux-guest into <builddir>/tests/linux-guest
before a file marked KVM = "linux" runs (the TCG guest that may run it has no network): Debian's
cloud kernel (vmlinuz and the ELF vmlinux inside it) and an initramfs whose /init prints
"GUEST ..." lines about every disk and NIC and every change to them, then leaves a shell on
the console (tools/linux-guest-init).
"""
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from mvirt_test import env_path

FILES = ("vmlinuz", "vmlinux", "initrd.img")


def guest_images(dest):
    """Copies the guest's kernels and initramfs into dest (a folder the daemon takes images
    from); returns {name: path}."""
    src = os.path.join(env_path("top_builddir"), "tests", "linux-guest")
    paths = {}
    for name in FILES:
        if not os.path.exists(os.path.join(src, name)):
            pytest.fail(f"{src}/{name} is missing: tests/run-pytest builds it with "
                        "tools/linux-guest; run the test through 'make check'.")
        paths[name] = shutil.copy(os.path.join(src, name), os.path.join(dest, name))
    return paths


def linux_domain_xml(name, images, ip, kernel="vmlinuz", memory_mib=256, extra="", devices=""):
    """A domain booting the Linux guest; guest.ip is the address /init gives eth0."""
    return (f"<domain type='kvm'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory>"
            f"<vcpu>1</vcpu><os><type arch='x86_64' machine='microvm'>hvm</type>"
            f"<kernel>{images[kernel]}</kernel><initrd>{images['initrd.img']}</initrd>"
            f"<cmdline>console=ttyS0 quiet panic=-1 guest.ip={ip}</cmdline></os>{extra}"
            f"<devices>{devices}</devices></domain>")


def guest_lines(text):
    """The GUEST lines of a console text, without the prefix. /init's reports can follow the
    shell's prompt on the same line."""
    return [m.group(1).strip() for m in re.finditer(r"GUEST (.*)", text.replace("\r", ""))]


class GuestShell:
    """The guest's shell through `mvirtctl console` over pipes, as a user would reach it.
    run() types a command followed by an echo of markers the shell must compute
    ($((N+1))), so the echo of the typed line never matches them."""

    def __init__(self, argv=None, sock_path=None):
        """Over `argv` (e.g. mvirtctl console) or straight on a VMM's console socket."""
        self.proc = self.sock = None
        if sock_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(sock_path)
        else:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT)
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.serial = 1000
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = (self.sock.recv(4096) if self.sock
                        else os.read(self.proc.stdout.fileno(), 4096))
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buf += data

    def text(self):
        with self.lock:
            return self.buf.decode(errors="replace").replace("\r", "")

    def run(self, command, timeout=60):
        """(exit status, output lines) of command in the guest's shell; GUEST lines that
        /init prints meanwhile are left out."""
        self.serial += 2
        begin, end = self.serial, self.serial + 1
        with self.lock:
            start = len(self.buf)
        line = f"echo @@$(({begin - 1}+1))@@; {command}; echo @@$(({end - 1}+1))@@ $?\n"
        if self.sock:
            self.sock.sendall(line.encode())
        else:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        pattern = re.compile(rf"@@{begin}@@\n(.*?)@@{end}@@ (\d+)\n", re.S)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                text = self.buf[start:].decode(errors="replace").replace("\r", "")
            m = pattern.search(text)
            if m:
                out = [s for s in m.group(1).split("\n") if s and "GUEST " not in s]
                return int(m.group(2)), out
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"The guest's shell did not finish {command!r} within {timeout}s; "
                    f"the console showed:\n{self.text()[-3000:]}")

    def check(self, command, timeout=60):
        """The output of a command that must succeed."""
        rc, out = self.run(command, timeout)
        assert rc == 0, f"{command!r} failed in the guest (exit {rc}): {out}"
        return out

    def close(self):
        if self.sock:
            self.sock.close()
            return
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
