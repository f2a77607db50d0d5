"""The README's first command, tools/demo, run as written against this build: it must
show the guest seeing the hot-plugged disk and NIC, answer ping, see them go, and leave
nothing behind."""
import glob
import os
import subprocess

from mvirt_test import env_path, require_kvm, require_root

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def test_demo_runs_the_main_job_and_cleans_up():
    require_root()
    require_kvm()
    before = set(glob.glob("/tmp/mvirt-demo.*"))
    images_before = set(glob.glob("/var/lib/mvirt/images/example-*.img"))
    env = dict(os.environ, MVIRT_BUILD=env_path("top_builddir"), LC_ALL="C", LANGUAGE="")
    run = subprocess.run([os.path.join(env_path("top_srcdir"), "tools", "demo")],
                         capture_output=True, text=True, timeout=400, env=env)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    for needle in ("Device attached successfully.", "PROBE blk index=1 capacity=8192 sum0=",
                   "link=up", "3 received", "PROBE ping from=10.0.0.1",
                   "PROBE blk index=1 capacity=0", "link=down", "DeviceAdded ua-example-disk",
                   "DeviceRemoved ua-example-nic", "Domain 'demo' has been undefined.",
                   "demo: done, everything removed."):
        assert needle in out, needle
    # The checksum the guest read is the one the host computed.
    host = out.split("computed on the host: ")[1].split()[0]
    assert f"capacity=8192 sum0={host}" in out
    assert set(glob.glob("/tmp/mvirt-demo.*")) == before
    assert set(glob.glob("/var/lib/mvirt/images/example-*.img")) == images_before
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "mvirt-demo-" not in netns
