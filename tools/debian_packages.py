"""Debian packages fetched with `apt-get download` into a cache folder and
unpacked beside their .deb, reused from there: the kernels and busybox that
tools/linux-guest and tools/with-kvm build on. Nothing is installed."""
import glob
import os
import re
import subprocess
import sys

DEFAULT_CACHE = "/var/cache/mvirt-linux-guest"


class Failure(Exception):
    """A step that cannot go on; the message is a sentence for the user."""


def run(argv, cwd=None, timeout=900):
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise Failure(f"'{' '.join(argv)}' failed (exit {r.returncode}): "
                      f"{(r.stderr or r.stdout).strip()}")
    return r.stdout


def natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def newest_kernel_package(flavour="cloud-amd64"):
    """The newest linux-image-<version>-<flavour> apt-cache knows, e.g. the
    cloud kernel (virtiofs built in) or the generic "amd64" one."""
    out = run(["apt-cache", "search", "--names-only", rf"^linux-image-[0-9].*-{flavour}$"])
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    names = [n for n in names if "dbg" not in n and "unsigned" not in n
             and n.endswith("-" + flavour) and (flavour != "amd64" or "cloud" not in n)
             and "-rt-" not in n]
    if not names:
        raise Failure(f"apt-cache knows no linux-image-*-{flavour} package; run "
                      "'apt-get update' or name one with --package.")
    return sorted(names, key=natural_key)[-1]


def fetch(package, cache=DEFAULT_CACHE):
    """The unpacked root of the package's .deb in the cache, downloaded once."""
    os.makedirs(cache, exist_ok=True)
    debs = sorted(glob.glob(os.path.join(cache, f"{package}_*.deb")))
    if not debs:
        print(f"downloading {package} into {cache}", file=sys.stderr)
        run(["apt-get", "download", package], cwd=cache)
        debs = sorted(glob.glob(os.path.join(cache, f"{package}_*.deb")))
        if not debs:
            raise Failure(f"apt-get download {package} left no .deb in {cache}.")
    root = os.path.join(cache, package + ".root")
    if not os.path.isdir(root):
        run(["dpkg-deb", "-x", debs[-1], root + ".part"])
        os.rename(root + ".part", root)
    return root


def kernel_image(kroot):
    """The vmlinuz of an unpacked kernel package."""
    kernels = glob.glob(os.path.join(kroot, "boot", "vmlinuz-*"))
    if len(kernels) != 1:
        raise Failure(f"Expected one vmlinuz in {kroot}/boot, found {len(kernels)}.")
    return kernels[0]


def module_dir(kroot):
    """lib/modules/<version> of an unpacked kernel package."""
    moddirs = glob.glob(os.path.join(kroot, "lib", "modules", "*"))
    if len(moddirs) != 1:
        raise Failure(f"Expected one module folder in {kroot}/lib/modules, found {len(moddirs)}.")
    return moddirs[0]
