#!/usr/bin/python3
"""The two hot-plug models side by side on the real Linux guest (tools/linux-guest):
time from exec to the guest's "GUEST ready", the VMM's resident memory, a disk's
device_add until the guest reports its size, and device_del until DEVICE_DELETED.

Run from the build folder, as root, on a KVM that boots Linux (or through tools/with-kvm):
  tools/with-kvm --need linux --writable BUILD -- /usr/bin/python3 bench/hotplug_models.py \
      --builddir BUILD [--rounds 5]
QEMU has no counterpart (its microvm refuses virtio-mmio hot-plug), so the ratio printed is
acpi over slots, measured in the same run."""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "integration"), os.path.join(HERE, "..", "tests")]

from linux_guest import GuestShell, guest_images, guest_lines  # noqa: E402
from mvirt_test import Process  # noqa: E402
from qmp_client import QmpClient  # noqa: E402

SECTORS = 2048


class Guest:
    def __init__(self, model, workdir, images):
        self.workdir = workdir
        self.qmp_path = os.path.join(workdir, f"{model}.qmp")
        self.log_path = os.path.join(workdir, f"{model}.console.log")
        for path in (self.qmp_path, self.log_path, f"{workdir}/{model}.console"):
            if os.path.exists(path):
                os.unlink(path)  # each boot its own console log
        start = time.monotonic()
        self.vm = Process([os.environ["MVIRT_VMM"], "-machine", f"microvm,hotplug={model}",
                           "-kernel", images["vmlinuz"], "-initrd", images["initrd.img"],
                           "-m", "256M", "-append", "console=ttyS0 quiet panic=-1",
                           "-qmp", f"unix:{self.qmp_path},server,nowait",
                           "-serial", f"unix:{workdir}/{model}.console,logfile={self.log_path}"],
                          log_path=os.path.join(workdir, f"{model}.vmm.log"))
        while "ready" not in self.lines():
            if time.monotonic() - start > 120 or not self.vm.alive():
                raise RuntimeError(f"{model}: no GUEST ready within 120 s")
            time.sleep(0.05)
        self.ready_s = time.monotonic() - start
        self.qmp = QmpClient(self.qmp_path)
        self.qmp.ok("qmp_capabilities")
        self.shell = GuestShell(sock_path=f"{workdir}/{model}.console")
        # The shell's line editor can take the first characters typed for the answer to its
        # cursor-position query: one throw-away command first.
        try:
            self.shell.run("true", timeout=5)
        except BaseException as e:  # pytest's Failed is a BaseException
            if isinstance(e, KeyboardInterrupt):
                raise

    def lines(self):
        try:
            with open(self.log_path, "rb") as f:
                return guest_lines(f.read().decode(errors="replace"))
        except OSError:
            return []

    def rss_mib(self):
        """The VMM's resident memory with the guest at its shell (guest RAM it touched
        included: the same guest in both models, so the difference is the model's)."""
        with open(f"/proc/{self.vm.pid}/status") as f:
            return [int(s.split()[1]) for s in f if s.startswith("VmRSS:")][0] / 1024

    def attach(self, n, addr):
        image = os.path.join(self.workdir, f"b{n}.img")
        with open(image, "wb") as f:
            f.truncate(SECTORS * 512)
        mark = len(self.lines())
        start = time.monotonic()
        self.qmp.ok("blockdev-add", {"node-name": f"b{n}", "file": {"driver": "file",
                                                                     "filename": image}})
        args = {"driver": "virtio-blk-mmio", "id": f"b{n}", "drive": f"b{n}"}
        if addr is not None:
            args["addr"] = hex(addr)
        self.qmp.ok("device_add", args)
        while not any(s.startswith("blk ") and s.endswith(f"size={SECTORS}")
                      for s in self.lines()[mark:]):
            if time.monotonic() - start > 60:
                raise RuntimeError("the guest did not see the disk within 60 s")
            time.sleep(0.01)
        return time.monotonic() - start

    def detach(self, n):
        start = time.monotonic()
        self.qmp.ok("device_del", {"id": f"b{n}"})
        self.qmp.sock.settimeout(60)
        while self.qmp.event("DEVICE_DELETED")["data"]["device"] != f"b{n}":
            pass
        return time.monotonic() - start

    def close(self):
        self.shell.close()
        self.qmp.close()
        self.vm.stop(timeout=10)


def boot(model, workdir, images, tries=4):
    """A guest at its shell; Linux nested under TCG now and then hangs early in boot
    (tools/with-kvm), so a boot that does not reach its shell is tried again."""
    for attempt in range(tries):
        try:
            return Guest(model, workdir, images)
        except RuntimeError as e:
            print(f"{model}: boot {attempt + 1} failed ({e}); trying again", file=sys.stderr)
    raise RuntimeError(f"{model}: no boot of {tries} reached the shell")


def summary(values):
    return statistics.median(values), min(values), max(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    os.environ.setdefault("MVIRT_VMM", os.path.join(args.builddir, "vmm", "mvirt-vmm"))
    os.environ.setdefault("top_builddir", os.path.abspath(args.builddir))
    rows = {}
    with tempfile.TemporaryDirectory(dir=args.builddir) as workdir:
        images = guest_images(workdir)
        for model in ("slots", "acpi"):
            r = rows[model] = {"ready": [], "rss": [], "attach": [], "detach": []}
            for _ in range(args.rounds):
                g = boot(model, workdir, images)
                try:
                    r["ready"].append(g.ready_s)
                    r["rss"].append(g.rss_mib())
                    # The slot model reuses one slot; the dynamic one takes a new slot each time.
                    r["attach"].append(g.attach(len(r["attach"]), 1 if model == "slots" else None))
                    r["detach"].append(g.detach(len(r["detach"])))
                finally:
                    g.close()
    names = {"ready": ("exec to GUEST ready", "s"), "rss": ("VMM RSS, guest at its shell", "MiB"),
             "attach": ("device_add to the guest's size line", "s"),
             "detach": ("device_del to DEVICE_DELETED", "s")}
    print("| measurement | unit | slots median (min..max) | acpi median (min..max) | acpi/slots |")
    print("|---|---|---|---|---|")
    for key, (label, unit) in names.items():
        s, a = summary(rows["slots"][key]), summary(rows["acpi"][key])
        print(f"| {label} | {unit} | {s[0]:.3g} ({s[1]:.3g}..{s[2]:.3g}) | "
              f"{a[0]:.3g} ({a[1]:.3g}..{a[2]:.3g}) | {a[0] / s[0]:.2f} |")


if __name__ == "__main__":
    main()
