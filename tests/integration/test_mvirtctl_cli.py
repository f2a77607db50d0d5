"""mvirtctl on its own: help, exit codes, and the local schema check that runs
before anything is sent (a private dbus-daemon without mvirtd proves nothing
was needed from the daemon)."""
import os
import subprocess

from mvirt_test import dbus_bus, env_path, workdir  # noqa: F401  (fixtures)


def mvirtctl(*args, env=None, **kwargs):
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("MVIRT_SCHEMAS", env_path("MVIRT_SCHEMAS"))
    return subprocess.run([env_path("MVIRTCTL"), *args], capture_output=True, text=True,
                          timeout=30, env=full_env, **kwargs)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def test_help_lists_every_verb():
    run = mvirtctl("--help", env={"LANGUAGE": "", "LC_ALL": "C"})
    assert run.returncode == 0
    for verb in ("define", "undefine", "start", "shutdown", "destroy", "list", "dominfo",
                 "dumpxml", "attach-device", "detach-device", "detach-device-alias",
                 "console", "events", "version"):
        assert f"\n  {verb} " in run.stdout
    assert "Exit status" in run.stdout


def test_each_verb_has_help():
    for verb in ("attach-device", "list", "events", "console"):
        run = mvirtctl(verb, "--help", env={"LC_ALL": "C"})
        assert run.returncode == 0
        assert run.stdout.startswith(f"Usage: mvirtctl {verb} ")


def test_version():
    run = mvirtctl("version")
    assert run.returncode == 0
    assert run.stdout.startswith("mvirtctl ")
    assert mvirtctl("--version").stdout == run.stdout


def test_usage_errors_exit_2():
    for argv, needle in ((["frobnicate"], "'frobnicate'"),
                         (["start"], "mvirtctl start DOM"),
                         (["list", "--live"], "--live"),
                         (["attach-device", "d", "f.xml", "--current", "--config"],
                          "--current and --config"),
                         ([], "No verb")):
        run = mvirtctl(*argv, env={"LC_ALL": "C"})
        assert run.returncode == 2, argv
        assert run.stdout == ""
        assert needle in run.stderr
        assert run.stderr.startswith("mvirtctl: ")


def test_schema_error_has_file_and_line(workdir, dbus_bus):  # noqa: F811
    disk = write(os.path.join(workdir, "disk.xml"),
                 "<disk type='file' device='disk'>\n"
                 "  <source file='/tmp/a.img'/>\n"
                 "  <target dev='vdb' bus='virtio'/>\n"
                 "  <readonyl/>\n"
                 "</disk>\n")
    run = mvirtctl("--bus-address", dbus_bus.address, "attach-device", "web1", disk,
                   env={"LC_ALL": "C"})
    assert run.returncode == 1
    assert run.stderr.startswith(f"mvirtctl: {disk}:4: ")
    assert "readonyl" in run.stderr


def test_unsupported_libvirt_element_is_named(workdir, dbus_bus):  # noqa: F811
    dom = write(os.path.join(workdir, "dom.xml"),
                "<domain type='kvm'>\n  <name>web1</name>\n  <memory unit='MiB'>64</memory>\n"
                "  <vcpu>1</vcpu>\n  <os><type>hvm</type><kernel>/k</kernel></os>\n"
                "  <devices>\n    <graphics type='vnc'/>\n  </devices>\n</domain>\n")
    run = mvirtctl("--bus-address", dbus_bus.address, "define", dom, env={"LC_ALL": "C"})
    assert run.returncode == 1
    assert run.stderr.startswith(f"mvirtctl: {dom}:7: ")
    assert "graphics" in run.stderr


def test_libvirt_forms_pass_and_refused_values_are_named(workdir, dbus_bus):  # noqa: F811
    """libvirt's unmanaged TAP and virtio-mmio address pass the local check (the
    call then needs mvirtd); a value mvirt lacks is named with its line and what would do,
    in mvirtd's sentence after FILE:LINE."""
    ok = write(os.path.join(workdir, "tap.xml"),
               "<interface type='ethernet'>\n  <target dev='mytap' managed='no'/>\n"
               "  <model type='virtio'/>\n  <address type='virtio-mmio'/>\n</interface>\n")
    run = mvirtctl("--bus-address", dbus_bus.address, "attach-device", "web1", ok,
                   env={"LC_ALL": "C"})
    assert run.returncode == 1 and "mvirtd is not running" in run.stderr, run.stderr
    for text, line, want in (
            ("<disk type='file' device='cdrom'>\n  <source file='/a.iso'/>\n"
             "  <target dev='sda' bus='scsi'/>\n</disk>\n", 1,
             "The value cdrom of <disk device> at line 1 is not supported; mvirt supports disk."),
            ("<disk type='file' device='disk'>\n  <driver name='qemu' type='qcow2'/>\n"
             "  <source file='/a.img'/>\n  <target dev='vdb'/>\n</disk>\n", 2,
             "The value qcow2 of <driver type> at line 2 is not supported; mvirt supports raw."),
            ("<interface type='user'>\n  <model type='virtio'/>\n</interface>\n", 1,
             "The value user of <interface type> at line 1 is not supported; mvirt supports "
             "bridge, ethernet."),
            ("<interface type='ethernet'>\n  <target dev='x' bogus='1'/>\n</interface>\n", 2,
             "The attribute bogus of <target> at line 2 is not supported by mvirt; remove it."),
            # libxml2 names no line for this one; mvirtd takes the element's.
            ("<interface type='ethernet'>\n  <target dev='x'/>\n  <target dev='y'/>\n"
             "</interface>\n", 1,
             "The XML does not match device.rng at line 1, element <interface>: Extra "
             "element target in interleave.")):
        bad = write(os.path.join(workdir, "bad.xml"), text)
        run = mvirtctl("--bus-address", dbus_bus.address, "attach-device", "web1", bad,
                       env={"LC_ALL": "C"})
        assert run.returncode == 1
        assert run.stderr == f"mvirtctl: {bad}:{line}: {want}\n", run.stderr


def test_broken_xml_has_its_line(workdir):  # noqa: F811
    dom = write(os.path.join(workdir, "dom.xml"), "<domain type='kvm'>\n<name>x</nam>\n")
    run = mvirtctl("define", dom, env={"LC_ALL": "C"})
    assert run.returncode == 1
    assert run.stderr.startswith(f"mvirtctl: {dom}:2: ")


def test_missing_daemon_is_a_failure_with_a_sentence(workdir, dbus_bus):  # noqa: F811
    run = mvirtctl("--bus-address", dbus_bus.address, "list", "--all", env={"LC_ALL": "C"})
    assert run.returncode == 1
    assert "mvirtd is not running" in run.stderr


def test_unreachable_bus_is_a_failure(workdir):  # noqa: F811
    run = mvirtctl("--bus-address", f"unix:path={workdir}/nobus", "list",
                   env={"LC_ALL": "C"})
    assert run.returncode == 1
    assert run.stderr.startswith("mvirtctl: Cannot connect to the D-Bus bus")
