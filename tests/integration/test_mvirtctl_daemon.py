"""Every mvirtctl verb against a real mvirtd on a private dbus-daemon (real SQLite
file; real KVM booting the guest probe for the verbs that need a running VM)."""
import json
import os
import signal
import subprocess

from mvirt_test import dbus_bus, env_path, require_kvm, wait_for, workdir  # noqa: F401
from mvirtd_helpers import disk_xml, domain_xml, make_image, mvirtd  # noqa: F401
from mvirtd_helpers import console as console_log  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

UUID = "6f1e3a52-8c0f-4d7e-9b61-2b1c7d0e5a13"


def ctl(mvirtd, *args, check=None):  # noqa: F811
    argv = [env_path("MVIRTCTL"), "--bus-address", mvirtd.bus_address,
            "--runtime-dir", mvirtd.runtime_dir, *args]
    env = dict(os.environ, LC_ALL="C", LANGUAGE="", MVIRT_SCHEMAS=env_path("MVIRT_SCHEMAS"))
    run = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    if check is not None:
        assert run.returncode == check, (args, run.stdout, run.stderr)
    return run


def write(workdir, name, text):  # noqa: F811
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def define(mvirtd, workdir, name, uuid=None, kernel=None):  # noqa: F811
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    xml = domain_xml(name, kernel or env_path("MVIRT_PROBE"), img, uuid=uuid)
    path = write(workdir, f"{name}.xml", xml.replace("><", ">\n<"))
    run = ctl(mvirtd, "define", path, check=0)
    assert run.stdout == f"Domain '{name}' defined.\n"
    return path


def test_define_list_dominfo_dumpxml_undefine(mvirtd, workdir):  # noqa: F811
    define(mvirtd, workdir, "alpha", uuid=UUID)
    define(mvirtd, workdir, "beta")

    assert ctl(mvirtd, "list", check=0).stdout.count("\n") == 2  # header only: none runs
    listed = json.loads(ctl(mvirtd, "list", "--all", "--json", check=0).stdout)
    assert [d["name"] for d in listed] == ["alpha", "beta"]
    assert listed[0] == {"name": "alpha", "uuid": UUID, "state": "shutoff",
                         "autostart": False}
    text = ctl(mvirtd, "list", "--all", check=0).stdout
    assert f" {UUID}  alpha" in text and "shutoff" in text

    info = json.loads(ctl(mvirtd, "dominfo", UUID, "--json", check=0).stdout)
    assert info["name"] == "alpha" and info["state"] == "shutoff"
    text = ctl(mvirtd, "dominfo", "alpha", check=0).stdout
    assert f"UUID:        {UUID}\n" in text

    xml = ctl(mvirtd, "dumpxml", "alpha", check=0).stdout
    assert "<name>alpha</name>" in xml and UUID in xml
    assert "<name>alpha</name>" in ctl(mvirtd, "dumpxml", "--inactive", "alpha", check=0).stdout

    assert ctl(mvirtd, "undefine", "alpha", check=0).stdout == \
        "Domain 'alpha' has been undefined.\n"
    gone = ctl(mvirtd, "dominfo", "alpha", check=1)
    assert gone.stderr.startswith("mvirtctl: alpha: ")
    assert [d["name"] for d in json.loads(ctl(mvirtd, "list", "--all", "--json",
                                              check=0).stdout)] == ["beta"]


def test_daemon_errors_are_prefixed(mvirtd, workdir):  # noqa: F811
    define(mvirtd, workdir, "gamma")
    # The same name with another UUID: the daemon refuses, the file is named.
    img = make_image(os.path.join(workdir, "other.img"))
    other = write(workdir, "other.xml", domain_xml("gamma", env_path("MVIRT_PROBE"), img,
                                                  uuid=UUID))
    run = ctl(mvirtd, "define", other, check=1)
    assert run.stderr.startswith(f"mvirtctl: {other}: ")
    assert "gamma" in run.stderr

    run = ctl(mvirtd, "start", "nosuch", check=1)
    assert run.stderr.startswith("mvirtctl: nosuch: ") and "nosuch" in run.stderr[18:]

    # A live change on a domain that does not run.
    disk = write(workdir, "disk.xml", disk_xml(make_image(os.path.join(workdir, "d.img")),
                                               "vdb"))
    run = ctl(mvirtd, "attach-device", "gamma", disk, "--live", check=1)
    assert run.stderr.startswith(f"mvirtctl: {disk}: ")

    # Without the local check, the daemon's own XML error comes back, prefixed too.
    bad = write(workdir, "bad.xml", "<disk type='file'><source file='/x'/></disk>")
    run = ctl(mvirtd, "attach-device", "gamma", bad, "--config", "--no-validate", check=1)
    assert run.stderr.startswith(f"mvirtctl: {bad}: ")
    run = ctl(mvirtd, "attach-device", "gamma", bad, "--config", check=1)
    assert run.stderr.startswith(f"mvirtctl: {bad}:1: ")


def test_config_and_persistent_on_a_stopped_domain(mvirtd, workdir):  # noqa: F811
    define(mvirtd, workdir, "delta")
    image = make_image(os.path.join(workdir, "data.img"))
    disk = write(workdir, "disk.xml", disk_xml(image, "vdb"))
    assert ctl(mvirtd, "attach-device", "delta", disk, "--config", check=0).stdout == \
        "Device attached successfully.\n"
    assert image in ctl(mvirtd, "dumpxml", "--inactive", "delta", check=0).stdout
    ctl(mvirtd, "detach-device", "delta", disk, "--persistent", check=0)
    assert image not in ctl(mvirtd, "dumpxml", "--inactive", "delta", check=0).stdout
    ctl(mvirtd, "attach-device", "delta", disk, "--current", "--live", check=2)


def test_running_domain_hotplug_events_console(mvirtd, workdir):  # noqa: F811
    require_kvm()
    define(mvirtd, workdir, "eps")
    env = dict(os.environ, LC_ALL="C", LANGUAGE="")
    base = [env_path("MVIRTCTL"), "--bus-address", mvirtd.bus_address,
            "--runtime-dir", mvirtd.runtime_dir]
    events = subprocess.Popen([*base, "events", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    console = None
    try:
        assert events.stderr.readline().startswith("Following events")
        assert ctl(mvirtd, "start", "eps", check=0).stdout == "Domain 'eps' started.\n"
        wait_for(lambda: "PROBE ready" in console_log(mvirtd, "eps"), 60, what="probe ready")
        assert json.loads(ctl(mvirtd, "list", "--json", check=0).stdout)[0]["state"] == \
            "running"

        out = os.path.join(workdir, "console.out")
        with open(out, "wb") as f:
            console = subprocess.Popen([*base, "console", "eps"], stdin=subprocess.PIPE,
                                       stdout=f, stderr=subprocess.PIPE, env=env)
        assert console.stderr.readline().startswith(b"Connected to domain 'eps'")

        image = make_image(os.path.join(workdir, "hot.img"), 2 << 20)
        with open(image, "r+b") as f:
            f.write(b"mvirtctl test")
        disk = write(workdir, "hot.xml", disk_xml(image, "vdb"))
        ctl(mvirtd, "attach-device", "eps", disk, "--live", check=0)
        wait_for(lambda: "PROBE blk index=1 capacity=4096" in console_log(mvirtd, "eps"), 60,
                 what="the guest to see the disk")
        # The same line reached the interactive console.
        wait_for(lambda: b"PROBE blk index=1 capacity=4096" in open(out, "rb").read(), 30,
                 what="the console to relay the guest's line")
        console.stdin.write(b"\x1d")  # Ctrl-]
        console.stdin.flush()
        assert console.wait(timeout=30) == 0

        ctl(mvirtd, "detach-device", "eps", disk, "--live", check=0)
        wait_for(lambda: "PROBE blk index=1 capacity=0" in console_log(mvirtd, "eps"), 60,
                 what="the guest to see the disk go")
        assert ctl(mvirtd, "destroy", "eps", check=0).stdout == "Domain 'eps' destroyed.\n"
        assert json.loads(ctl(mvirtd, "dominfo", "eps", "--json", check=0).stdout)["state"] == \
            "shutoff"
    finally:
        if console and console.poll() is None:
            console.kill()
            console.wait()
        events.send_signal(signal.SIGINT)
        rc = events.wait(timeout=30)
    assert rc == 0
    lines = [json.loads(line) for line in events.stdout.read().splitlines()]
    kinds = [e["event"] for e in lines]
    assert "DeviceAdded" in kinds and "DeviceRemoved" in kinds
    assert {"event": "StateChanged", "state": "running"}.items() <= \
        next(e for e in lines if e["event"] == "StateChanged").items()
    assert all(e.get("name") in (None, "eps") for e in lines)
