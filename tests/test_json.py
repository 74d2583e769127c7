"""The JSON codec of request and response bodies: the standard library's results."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from soap_async import _json

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(values)
def test_dumps_is_json_dumps_compact(value: object) -> None:
    encoded = _json.dumps(value)
    assert encoded == json.dumps(value, separators=(",", ":")).encode()
    assert json.loads(encoded) == value


@given(values, st.sampled_from(["", " ", "\n", "\t "]), st.sampled_from(["", " ", "\r\n"]))
def test_loads_reads_what_json_loads_reads(value: object, before: str, after: str) -> None:
    raw = (before + json.dumps(value) + after).encode()
    assert _json.loads(raw) == json.loads(raw) == value


def test_loads_reads_other_encodings_as_json_loads_does() -> None:
    raw = json.dumps({"name": "Zoë"}).encode("utf-16")
    assert _json.loads(raw) == {"name": "Zoë"}


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"a": 1} x', b"[1, 2]]", b"nul", b'"\xff"', b"<html>", b"{} {}"],
)
def test_loads_refuses_what_json_loads_refuses(raw: bytes) -> None:
    try:
        json.loads(raw)
    except ValueError as exc:
        expected = type(exc)  # JSONDecodeError, or UnicodeDecodeError for bad bytes
    else:
        pytest.fail(f"json.loads accepted {raw!r}")
    with pytest.raises(expected):
        _json.loads(raw)


def test_dumps_refuses_values_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        _json.dumps({"when": object()})


def test_dumps_writes_non_finite_floats_as_json_dumps_does() -> None:
    assert _json.dumps([math.inf]) == json.dumps([math.inf]).encode()
