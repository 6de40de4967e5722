"""Replays every tests/vectors/session/*.json conversation through the native session.

The bare machine is replayed (``Session.poll_json`` / ``handle_json``; never ``advance``,
which would touch real files): each storage primitive, request and wait is an expected
action, each answer an input. The comparison follows tests/vectors/README.md, like the
flow vectors: actions are compared as exact JSON values (object order ignored, array order
kept, types compared: ``True`` is not ``1``); refused inputs and specs by ``kind`` and
``code``. Every expected action must also parse into the typed layer (``termauth.session``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, List

import pytest

import termauth
from termauth import _native
from termauth.session import StorageAction, action_from_dict

from test_vectors import json_equal

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "session"
FILES = sorted(VECTORS.glob("*.json"))
MINIMUM = 30
MISSING = f"NO SESSION VECTORS in {VECTORS}: the session conversations are not replayed by Python yet"


def test_enough_session_vectors() -> None:
    if not FILES:
        warnings.warn(MISSING, stacklevel=1)
        pytest.skip(MISSING)
    assert len(FILES) >= MINIMUM, f"only {len(FILES)} session vectors in {VECTORS} (at least {MINIMUM} expected)"


def replay(v: Any) -> List[str]:
    """Replays one session vector; the differences found (empty: it passes)."""
    try:
        session = _native.Session(json.dumps(v["spec"]), bytes.fromhex(v["seed"]), v["start"])
    except termauth.Error as e:
        if "expect_start_error" not in v:
            return [f"unexpected start error {e!r}"]
        got = {"kind": e.kind, "code": e.code}
        return [] if got == v["expect_start_error"] else [f"start refused with {got}, expected {v['expect_start_error']}"]
    if "expect_start_error" in v:
        return ["the session started but a start error was expected"]
    failures: List[str] = []
    for i, step in enumerate(v["steps"]):
        if "poll" in step:
            got_action: Any = json.loads(session.poll_json(step["poll"]))
            if not json_equal(got_action, step["expect"]):
                failures.append(f"step {i}: expected {step['expect']!r}\n      got {got_action!r}")
            typed = action_from_dict(step["expect"])  # the dataclasses read every action
            if isinstance(typed, StorageAction) and typed.type != step["expect"]["type"]:
                failures.append(f"step {i}: typed as {typed.type}")
        elif "handle" in step:
            try:
                session.handle_json(json.dumps(step["handle"]), step["now"])
                if "expect_error" in step:
                    failures.append(f"step {i}: input accepted, error {step['expect_error']} expected")
            except termauth.Error as e:
                if "expect_error" not in step:
                    failures.append(f"step {i}: input refused: {e!r}")
                elif {"kind": e.kind, "code": e.code} != step["expect_error"]:
                    failures.append(f"step {i}: refused with {e.kind}/{e.code}, expected {step['expect_error']}")
        else:
            failures.append(f"step {i}: neither poll nor handle")
    return failures


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_session_vector(path: Path) -> None:
    v = json.loads(path.read_text(encoding="utf-8"))
    failures = replay(v)
    assert not failures, f"{path.name} ({v.get('description', '')}):\n  " + "\n  ".join(failures)


KNOWN: Any = {
    "description": "get_token with nothing stored (the runner's own check, from the core's docs)",
    "seed": "00" * 32,
    "start": 1000,
    "spec": {"command": {"op": "get_token"}, "config": {"app": "mycli", "issuer": "https://as.example", "client_id": "cli"},
             "environment": {"platform": "linux", "host": "h", "pid": 7, "vars": {"HOME": "/home/u"}}},
    "steps": [
        {"poll": 1000, "expect": {"type": "read_file", "id": 1, "path": "/home/u/.config/mycli/profiles.json"}},
        {"handle": {"type": "file_contents", "id": 2, "contents": None}, "now": 1000,
         "expect_error": {"kind": "usage", "code": "unknown_request_id"}},
        {"handle": {"type": "file_contents", "id": 1, "contents": None}, "now": 1000},
        {"handle": {"type": "file_contents", "id": 1, "contents": None}, "now": 1000,
         "expect_error": {"kind": "usage", "code": "duplicate_response"}},
        {"poll": 1000, "expect": {"type": "read_file", "id": 2,
                                  "path": "/home/u/.config/mycli/credentials/default@b3f72f8afbf68562.json"}},
        {"handle": {"type": "file_contents", "id": 2, "contents": None}, "now": 1000},
        {"poll": 1000, "expect": {"type": "read_file", "id": 3,
                                  "path": "/home/u/.config/mycli/credentials/default@b3f72f8afbf68562.keyring"}},
        {"handle": {"type": "file_contents", "id": 3, "contents": None}, "now": 1000},
        {"poll": 1000, "expect": {"type": "failed", "error": {
            "kind": "storage", "code": "not_logged_in", "message": "Not logged in. Run `mycli login` first.",
            "hint": "reauthenticate"}}},
        {"poll": 2000, "expect": {"type": "failed", "error": {
            "kind": "storage", "code": "not_logged_in", "message": "Not logged in. Run `mycli login` first.",
            "hint": "reauthenticate"}}},
    ],
}


def test_the_runner_replays_and_catches_differences() -> None:
    assert replay(KNOWN) == []
    wrong = json.loads(json.dumps(KNOWN))
    wrong["steps"][0]["expect"]["id"] = True  # True is not 1
    wrong["steps"][1]["expect_error"]["code"] = "duplicate_response"
    del wrong["steps"][2]["now"]
    wrong["steps"][2]["now"] = 1000
    wrong["steps"][8]["expect"]["error"]["hint"] = "fatal"
    assert [f.split(":")[0] for f in replay(wrong)] == ["step 0", "step 1", "step 8"]
    bad_start = dict(KNOWN, spec=dict(KNOWN["spec"], config={"app": "mycli", "issuer": "https://as.example",
                                                             "client_id": "cli", "profile": "../x"}))
    assert replay(bad_start) == ["unexpected start error " + repr(_start_error(bad_start))]
    assert replay(dict(bad_start, expect_start_error={"kind": "usage", "code": "invalid_profile"})) == []


def _start_error(v: Any) -> termauth.Error:
    with pytest.raises(termauth.Error) as e:
        _native.Session(json.dumps(v["spec"]), bytes(32), 0)
    return e.value
