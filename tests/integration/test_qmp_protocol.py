"""The QMP wire protocol of mvirt-vmm on its real unix socket: clients one
after another and several at once, events to all, random and truncated bytes,
and the command list against schemas/qmp-commands.json."""
import json
import os
import random

import pytest

from mvirt_test import env_path, require_kvm, workdir  # noqa: F401 (fixture)
from qmp_client import QmpClient
from vmm_helpers import vmm_with_qmp

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


@pytest.fixture
def vmm(workdir):  # noqa: F811
    require_kvm()
    v = vmm_with_qmp(workdir)
    yield v
    v.stop()


def test_clients_in_turn_and_at_once(vmm):
    for _ in range(3):
        q = QmpClient(vmm.sock)
        assert q.greeting["QMP"]["version"]["package"].startswith("mvirt-")
        assert q.execute("query-status", id=1) == \
            {"return": {"status": "running", "singlestep": False, "running": True}, "id": 1}
        q.close()
    clients = [QmpClient(vmm.sock) for _ in range(3)]
    try:
        assert clients[0].execute("stop", id={"n": [1]}) == {"return": {}, "id": {"n": [1]}}
        for c in clients:
            assert c.event("STOP")["timestamp"]["seconds"] > 0
        assert clients[1].ok("query-status")["status"] == "paused"
        clients[2].ok("cont")
        for c in clients:
            c.event("RESUME")
    finally:
        for c in clients:
            c.close()


def test_random_and_truncated_bytes(vmm):
    q = QmpClient(vmm.sock)
    rng = random.Random(5)
    for round_ in range(10):
        junk = bytes(rng.randrange(1, 256) for _ in range(2048))
        q.send_raw(junk)
        # A truncated message, then enough blank lines to end anything unfinished.
        q.send_raw(b'{"execute": "query-sta')
        q.send_raw(b" " * 140000 + b"\n")
        q.send("query-status", id=f"r{round_}")
        for _ in range(2000):
            msg = q.read()
            if msg.get("id") == f"r{round_}" and "return" in msg:
                break
        else:
            pytest.fail("the server stopped answering after random bytes")
        assert all("error" in m or "return" in m or "event" in m for m in q.log[1:])
    q.close()


def test_command_list_matches_schema(vmm):
    with open(os.path.join(env_path("MVIRT_SCHEMAS"), "qmp-commands.json")) as f:
        schema = json.load(f)
    q = QmpClient(vmm.sock)
    names = sorted(c["name"] for c in q.ok("query-commands"))
    assert names == sorted(schema["commands"])
    # Every argument the schema lists is known to the server (an unknown one is refused).
    for name, spec in schema["commands"].items():
        if name in ("quit", "stop", "system_powerdown"):
            continue
        desc = q.error(name, {"no-such-argument": 1})
        assert "no-such-argument" in desc, (name, desc)
        for arg in spec.get("arguments", {}):
            r = q.execute(name, {arg: {"wrong": "type"}})
            assert "error" in r and f'"{arg}' in r["error"]["desc"], (name, arg, r)
    q.close()
