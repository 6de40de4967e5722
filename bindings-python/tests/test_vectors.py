"""Replays every tests/vectors/*.json conversation through the Python flows.

The runner follows tests/vectors/README.md: actions are compared as exact JSON values
(object order ignored, array order kept, types compared: ``True`` is not ``1``), the
typed action is converted back with ``to_dict()`` (so the dataclasses are checked too),
and refused inputs / configurations are compared by ``kind`` and ``code``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List

import pytest

import termauth
from termauth.flow import Flow, action_from_dict, input_from_dict

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"
FILES = sorted(VECTORS.glob("*.json"))


def json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_enough_vectors() -> None:
    assert len(FILES) >= 40, f"only {len(FILES)} vectors in {VECTORS}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_vector(path: Path) -> None:
    v = json.loads(path.read_text(encoding="utf-8"))
    failures: List[str] = []
    try:
        flow = Flow.from_spec(v["spec"], bytes.fromhex(v["seed"]))
    except termauth.Error as e:
        assert "expect_start_error" in v, f"unexpected start error {e!r}"
        assert {"kind": e.kind, "code": e.code} == v["expect_start_error"]
        return
    assert "expect_start_error" not in v, "flow started but a start error was expected"
    for i, step in enumerate(v["steps"]):
        if "poll" in step:
            action = flow.poll(step["poll"])
            got = action.to_dict()
            if not json_equal(got, step["expect"]):
                failures.append(f"step {i}: expected {step['expect']!r}\n      got {got!r}")
            # the dataclass round trip is lossless
            assert action_from_dict(got) == action or isinstance(action, termauth.flow.Failed)
        elif "handle" in step:
            # feed the typed input (checks input_from_dict/to_dict), not only the raw JSON
            typed = input_from_dict(step["handle"])
            assert json_equal(typed.to_dict(), {"headers": [], "body": "", **step["handle"]} if step["handle"]["type"] == "http_response" else step["handle"])
            try:
                flow.handle(typed, step["now"])
                if "expect_error" in step:
                    failures.append(f"step {i}: input accepted, error {step['expect_error']} expected")
            except termauth.Error as e:
                if "expect_error" not in step:
                    failures.append(f"step {i}: input refused: {e!r}")
                elif {"kind": e.kind, "code": e.code} != step["expect_error"]:
                    failures.append(f"step {i}: refused with {e.kind}/{e.code}, expected {step['expect_error']}")
                else:
                    assert isinstance(e, termauth.UsageError) == (e.kind == "usage")
        else:
            failures.append(f"step {i}: neither poll nor handle")
    assert not failures, f"{path.name}:\n  " + "\n  ".join(failures)
