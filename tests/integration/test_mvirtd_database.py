"""Database faults, with real parts: the sqlite3 program holding the daemon's
database locked (BEGIN EXCLUSIVE) while D-Bus calls change and read state, and the
database on a read-only bind mount in a private mount namespace.
"""
import os
import subprocess

import dbus
import pytest

from mvirt_test import dbus_bus, env_path, require_root, workdir  # noqa: F401
from mvirtd_helpers import Mvirtd, dbus_error_name, domain_xml


def kernel():
    return env_path("MVIRT_PROBE")


def names(d):
    return sorted(str(d.domain(p)[1].Get("org.mvirt.Domain1", "Name"))
                  for p in d.manager().ListDomains())


def test_locked_database_is_busy_and_loses_nothing(workdir, dbus_bus):
    d = Mvirtd(workdir, dbus_bus.address).start()
    lock = None
    try:
        d.define(domain_xml("before", kernel()))
        db = os.path.join(d.state_dir, "mvirt.db")
        lock = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lock.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'held';\n")
        lock.stdin.flush()
        assert lock.stdout.readline().strip() == "held"
        # A change waits for the lock, then fails with a sentence naming the database.
        with pytest.raises(dbus.DBusException) as e:
            d.define(domain_xml("during", kernel()))
        assert dbus_error_name(e) == "org.mvirt.Error.Busy", str(e.value)
        assert "mvirt.db" in str(e.value) and "locked" in str(e.value)
        dom, props = d.domain(d.manager().LookupByName("before"))
        with pytest.raises(dbus.DBusException) as e:
            props.Set("org.mvirt.Domain1", "Autostart", True)
        assert dbus_error_name(e) == "org.mvirt.Error.Busy", str(e.value)
        # Reads go on, and nothing half-done shows.
        assert names(d) == ["before"]
        assert "<name>before</name>" in str(dom.GetXML(0))
        assert not props.Get("org.mvirt.Domain1", "Autostart")
        lock.stdin.write("ROLLBACK;\n.quit\n")
        lock.stdin.flush()
        lock.wait(timeout=10)
        lock = None
        # Later calls work, and a restart finds exactly what was accepted.
        d.define(domain_xml("after", kernel()))
        d.stop()
        d = Mvirtd(workdir, dbus_bus.address).start()
        assert names(d) == ["after", "before"]
    finally:
        if lock:
            lock.kill()
            lock.wait()
        d.stop()


def test_read_only_database_is_refused_with_a_sentence(workdir, dbus_bus):
    """mvirtd needs to record what it does (runtime rows, device steps): on a read-only
    database it does not start half-working; it says so, and the data is intact."""
    require_root()
    d = Mvirtd(workdir, dbus_bus.address).start()
    d.define(domain_xml("kept", kernel()))
    d.stop()
    # The state folder bind-mounted read-only in a private mount namespace of mvirtd's own.
    state = d.state_dir
    inner = f"mount --bind {state} {state} && mount -o remount,bind,ro {state} && exec \"$@\""
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner, "sh",
            env_path("MVIRTD"), "--bus-address", dbus_bus.address, "--state-dir", state,
            "--runtime-dir", d.runtime_dir, "--vmm", env_path("MVIRT_VMM")]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"The database {state}/mvirt.db is read-only; mvirtd needs to write to it." \
        in run.stderr, run.stderr
    # Nothing was lost: writable again, the daemon starts with the domain.
    d = Mvirtd(workdir, dbus_bus.address).start()
    try:
        assert names(d) == ["kept"]
    finally:
        d.stop()


def test_database_files_are_root_only(workdir, dbus_bus):
    """The database and its -wal and -shm are 0600 and the state folder
    0700 at every start, also when an earlier run (or a umask) left them readable."""
    require_root()
    state = os.path.join(workdir, "state")
    os.makedirs(state, mode=0o755)
    os.chmod(state, 0o755)
    old = os.umask(0o022)
    try:
        d = Mvirtd(workdir, dbus_bus.address).start()
    finally:
        os.umask(old)
    try:
        d.define(domain_xml("modes", kernel()))
        files = ["mvirt.db", "mvirt.db-wal", "mvirt.db-shm"]
        assert os.path.exists(os.path.join(state, "mvirt.db"))
        for f in files:
            if os.path.exists(os.path.join(state, f)):
                mode = os.stat(os.path.join(state, f)).st_mode & 0o777
                assert mode == 0o600, f"{f} is {mode:o}"
        assert os.stat(state).st_mode & 0o777 == 0o700
        d.stop()
        # Loosened by hand while stopped: the next start tightens them again.
        os.chmod(state, 0o755)
        for f in files:
            if os.path.exists(os.path.join(state, f)):
                os.chmod(os.path.join(state, f), 0o644)
        d = Mvirtd(workdir, dbus_bus.address).start()
        for f in files:
            path = os.path.join(state, f)
            if os.path.exists(path):
                assert os.stat(path).st_mode & 0o777 == 0o600, f
        assert os.stat(state).st_mode & 0o777 == 0o700
    finally:
        d.stop()
