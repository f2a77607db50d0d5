"""mvirtctl's local check and mvirtd give the same verdict on every bad definition in
tests/data/xml2xml: the client refuses it before sending, and the daemon, sent the same file
with --no-validate, refuses it with the same sentence. Only the prefix differs: the client
names FILE:LINE where the sentence is about a line, the daemon's answer is prefixed FILE.

Real mvirtctl, real mvirtd on a private dbus-daemon, no VM."""
import os
import re
import subprocess

from mvirt_test import dbus_bus, env_path, workdir  # noqa: F401 (fixtures)
from mvirtd_helpers import mvirtd  # noqa: F401 (fixture)

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


def test_every_bad_case_has_one_verdict(mvirtd):  # noqa: F811
    cases = bad_cases()
    assert len(cases) >= 20
    for name in cases:
        path = os.path.join(CASES, name + ".xml")
        with open(os.path.join(CASES, name + ".err")) as f:
            fragment = f.read().strip()

        daemon = ctl(mvirtd, "define", path, "--no-validate")
        assert daemon.returncode == 1, (name, daemon.stdout, daemon.stderr)
        assert daemon.stderr.startswith(f"mvirtctl: {path}: "), (name, daemon.stderr)
        sentence = daemon.stderr[len(f"mvirtctl: {path}: "):]
        assert fragment in sentence, (name, sentence)

        client = ctl(mvirtd, "define", path)
        assert client.returncode == 1, (name, client.stdout, client.stderr)
        m = re.match(rf"mvirtctl: {re.escape(path)}(:[1-9][0-9]*)?: ", client.stderr)
        assert m, (name, client.stderr)
        assert client.stderr[m.end():] == sentence, (name, client.stderr, daemon.stderr)
        # The line the client names is the one the sentence names, when it names one.
        said = re.search(r"\bline ([0-9]+)\b", sentence)
        if m.group(1):
            assert said and m.group(1) == ":" + said.group(1), (name, client.stderr)

    # Nothing was defined along the way.
    run = ctl(mvirtd, "list", "--all")
    assert run.returncode == 0 and "bad" not in run.stdout, run.stdout
