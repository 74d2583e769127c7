"""The cattrs converter between Soap's JSON and the attrs models."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn

from .errors import APIResponseValidationError

__all__ = ["converter", "parse_datetime", "structure_response", "unstructure_request"]

T = TypeVar("T")


def parse_datetime(value: str) -> dt.datetime:
    """An aware `datetime` from Soap's timestamp formats.

    Accepts ISO 8601 (`2025-03-10T16:08:14.427Z`, offsets) and the webhook form
    `2025-05-30 06:05:22 UTC`. Python 3.10's `fromisoformat` knows no `Z`, hence the
    rewrite. A timestamp without a zone is taken as UTC, which is what Soap sends.
    """
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    elif text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    return parse_datetime(value)


def _structure_date(value: Any, _: type) -> dt.date:
    if not isinstance(value, str):
        raise TypeError(f"expected a YYYY-MM-DD string, got {type(value).__name__}")
    return dt.date.fromisoformat(value)


def _strict(kind: type[T]) -> Callable[[Any, type], T]:
    # cattrs builds primitives by calling the type, so null would become "None" and
    # "false" would become True; a response of the wrong type must fail instead.
    def structure(value: Any, _: type) -> T:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return value

    return structure


def _open_enum_members(kind: Any) -> type[enum.Enum] | None:
    """The enum of an `SomeEnum | str` annotation (an open enum, maybe `| None`), else None."""
    if typing.get_origin(kind) not in (typing.Union, types.UnionType):
        return None
    members = set(typing.get_args(kind)) - {type(None)}
    if len(members) != 2 or str not in members:
        return None
    (other,) = members - {str}
    return other if isinstance(other, type) and issubclass(other, enum.Enum) else None


def _structure_open_enum(value: Any, kind: Any) -> Any:
    # A known value becomes the enum member, an unknown one stays a string: a value
    # Soap adds later must never break parsing.
    if value is None and type(None) in typing.get_args(kind):
        return None
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    members = _open_enum_members(kind)
    assert members is not None
    try:
        return members(value)
    except ValueError:
        return value


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(str, _strict(str))
    conv.register_structure_hook(bool, _strict(bool))
    conv.register_structure_hook(int, _strict(int))
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook_func(
        lambda kind: _open_enum_members(kind) is not None, _structure_open_enum
    )
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)

    def drop_none(cls: type) -> Callable[[Any], dict[str, Any]]:
        full: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, conv)

        def unstructure(obj: Any) -> dict[str, Any]:
            return {k: v for k, v in full(obj).items() if v is not None}

        return unstructure

    conv.register_unstructure_hook_factory(attrs.has, drop_none)
    return conv


converter = _make_converter()


def unstructure_request(request: Any) -> dict[str, Any]:
    """The JSON body of a request model; `None` fields are left out."""
    body: dict[str, Any] = converter.unstructure(request)
    return body


def structure_response(
    data: Any, cls: type[T], *, status_code: int = 200, headers: Any = None
) -> T:
    """A response model from decoded JSON; a shape error becomes `APIResponseValidationError`.

    Unknown fields are ignored, so a new field on Soap's side never breaks a client.
    """
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        details = (
            "; ".join(cattrs.transform_error(exc, path="$"))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise APIResponseValidationError(
            f"Unexpected {cls.__name__} in the response: {details}",
            status_code=status_code,
            body=data,
            headers=headers,
        ) from exc
