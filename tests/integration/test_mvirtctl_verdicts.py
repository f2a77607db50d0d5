"""mvirtctl's local check and mvirtd give the same verdict on every bad definition in
tests/data/xml2xml: the client refuses it before sending, and the daemon, sent the same file
with --no-validate, refuses it with the same sentence. Only the prefix differs: the client
names FILE:LINE where the sentence is about a line, the daemon's answer is prefixed FILE.
The same for device documents (attach-device --config), which have no data folder: a few
of each kind of fault are written here.

Real mvirtctl, real mvirtd on a private dbus-daemon, no VM."""
import os
import re
import subprocess

from mvirt_test import dbus_bus, env_path, workdir  # noqa: F401 (fixtures)
from mvirtd_helpers import domain_xml, make_image, mvirtd  # noqa: F401 (fixture)

CASES = os.path.join(env_path("top_srcdir"), "tests", "data", "xml2xml")


def bad_cases():
    with open(os.path.join(CASES, "cases")) as f:
        names = [line.strip() for line in f if line.strip()]
    return [n for n in names if os.path.exists(os.path.join(CASES, n + ".err"))]


def ctl(mvirtd, *args):  # noqa: F811
    argv = [env_path("MVIRTCTL"), "--bus-address", mvirtd.bus_address,
            "--runtime-dir", mvirtd.runtime_dir, *args]
    env = dict(os.environ, LC_ALL="C", LANGUAGE="", MVIRT_SCHEMAS=env_path("MVIRT_SCHEMAS"))
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def same_verdict(mvirtd, path, *verb):  # noqa: F811
    """Runs verb on path with and without the local check; returns the daemon's sentence."""
    daemon = ctl(mvirtd, *verb, path, "--no-validate")
    assert daemon.returncode == 1, (path, daemon.stdout, daemon.stderr)
    assert daemon.stderr.startswith(f"mvirtctl: {path}: "), (path, daemon.stderr)
    sentence = daemon.stderr[len(f"mvirtctl: {path}: "):]

    client = ctl(mvirtd, *verb, path)
    assert client.returncode == 1, (path, client.stdout, client.stderr)
    m = re.match(rf"mvirtctl: {re.escape(path)}(:[1-9][0-9]*)?: ", client.stderr)
    assert m, (path, client.stderr)
    assert client.stderr[m.end():] == sentence, (path, client.stderr, daemon.stderr)
    # The line the client names is the one the sentence names, when it names one.
    said = re.search(r"\bline ([0-9]+)\b", sentence)
    if m.group(1):
        assert said and m.group(1) == ":" + said.group(1), (path, client.stderr)
    return sentence


def test_every_bad_case_has_one_verdict(mvirtd):  # noqa: F811
    cases = bad_cases()
    assert len(cases) >= 20
    for name in cases:
        with open(os.path.join(CASES, name + ".err")) as f:
            fragment = f.read().strip()
        sentence = same_verdict(mvirtd, os.path.join(CASES, name + ".xml"), "define")
        assert fragment in sentence, (name, sentence)

    # Nothing was defined along the way.
    run = ctl(mvirtd, "list", "--all")
    assert run.returncode == 0 and "bad" not in run.stdout, run.stdout


BAD_DEVICES = (
    "<disk type='file'>\n  <source file='/a'/>\n  <target dev='vda'/>\n"
    "  <address type='pci'/>\n</disk>\n",
    "<disk type='file' device='cdrom'>\n  <source file='/a'/>\n"
    "  <target dev='sda' bus='scsi'/>\n</disk>\n",
    "<disk type='file'>\n  <driver name='qemu' type='raw' discard='unmap'/>\n"
    "  <source file='/a'/>\n  <target dev='vda'/>\n</disk>\n",
    "<disk type='file'>\n  <source file='/a'/>\n</disk>\n",
    "<disk type='file'>\n  <source file='/a'/>\n  <target dev='vdq'/>\n</disk>\n",
    "<disk type='file'>\n  <source file='a.img'/>\n  <target dev='vdb'/>\n</disk>\n",
    "<interface type='ethernet'>\n  <target dev='t' managed='maybe'/>\n</interface>\n",
    "<interface type='bridge'>\n  <source bridge='br0'/>\n"
    "  <mac address='03:00:00:00:00:01'/>\n</interface>\n",
    "<interface type='bridge'>\n  <source bridge='.'/>\n</interface>\n",
    "<interface type='ethernet'>\n  <target dev='x'/>\n  <target dev='y'/>\n</interface>\n",
    "<!DOCTYPE disk>\n<disk type='file'>\n  <source file='/a'/>\n  <target dev='vdb'/>\n"
    "</disk>\n",
    "<hostdev/>\n",
    "<disk type='file'>\n  <source file='/a'/>\n  <target dev='vdb'>\n</disk>\n",
)


def test_every_bad_device_has_one_verdict(mvirtd, workdir):  # noqa: F811
    img = make_image(os.path.join(workdir, "root.img"))
    dom = os.path.join(workdir, "verdict.xml")
    with open(dom, "w") as f:
        f.write(domain_xml("verdict", env_path("MVIRT_PROBE"), img))
    assert ctl(mvirtd, "define", dom).returncode == 0
    for i, text in enumerate(BAD_DEVICES):
        path = os.path.join(workdir, f"device-{i}.xml")
        with open(path, "w") as f:
            f.write(text)
        same_verdict(mvirtd, path, "attach-device", "verdict", "--config")
        same_verdict(mvirtd, path, "detach-device", "verdict", "--config")
