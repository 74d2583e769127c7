"""JSON bodies: the standard library's C encoder and scanner, called without the wrappers.

`json.dumps` builds a new C encoder on every call and `json.loads(bytes)` sniffs the
encoding in Python first; for the small bodies of an API call those wrappers cost more
than the encoding itself. The output is what `json.dumps(body, separators=(",", ":"))`
gives, and anything the fast path does not take (another encoding, surrounding
whitespace, bad input) goes through `json.loads`, so the results and errors are the
standard library's.
"""

from __future__ import annotations

import json
import json.decoder
import json.encoder
from collections.abc import Callable
from typing import Any

__all__ = ["dumps", "loads"]


def _slow_dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _make_dumps() -> Callable[[Any], bytes]:
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # an interpreter without the C accelerator
        return _slow_dumps
    # The arguments of `json.JSONEncoder.iterencode`'s own call, as `json.dumps` would
    # pass them, without the check for circular references: bodies are trees built
    # from the models.
    encode = make_encoder(
        None,  # markers
        json.JSONEncoder().default,  # raises TypeError for a value JSON cannot hold
        json.encoder.encode_basestring_ascii,
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as json.dumps
    )

    def dumps(value: Any) -> bytes:
        """`value` as compact ASCII JSON bytes."""
        return "".join(encode(value, 0)).encode()

    sample = {"a": [1, 2.5, None, True], "b": "é\n"}
    return dumps if dumps(sample) == _slow_dumps(sample) else _slow_dumps


dumps = _make_dumps()
_raw_decode = json.decoder.JSONDecoder().raw_decode


def loads(raw: bytes) -> Any:
    """The value of a JSON document in `raw`; a `ValueError` if it is not one."""
    try:
        text = raw.decode()
        value, end = _raw_decode(text)
    except ValueError:
        return json.loads(raw)  # another encoding, leading whitespace, or bad: it decides
    if end != len(text):
        return json.loads(raw)  # trailing whitespace passes there; anything else raises
    return value
