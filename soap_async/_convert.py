"""The cattrs converter between Soap's JSON and the attrs models."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import types
import typing
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from .errors import APIResponseValidationError

__all__ = ["converter", "parse_datetime", "structure_response", "unstructure_request"]

T = TypeVar("T")


def parse_datetime(value: str) -> dt.datetime:
    """An aware `datetime` from Soap's timestamp formats.

    Accepts ISO 8601 (`2025-03-10T16:08:14.427Z`, offsets) and the webhook form
    `2025-05-30 06:05:22 UTC`. Python 3.10's `fromisoformat` knows no `Z`, hence the
    rewrite. A timestamp without a zone is taken as UTC, which is what Soap sends.
    """
    try:
        # Python 3.11+ reads Soap's ISO form (with Z) directly: the fast path.
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_other_datetime(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _parse_other_datetime(value: str) -> dt.datetime:
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    elif text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


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


def _open_enum_hook(kind: Any) -> Callable[[Any, Any], Any]:
    """The hook of an open enum annotation, its enum and nullability read once."""
    members = _open_enum_members(kind)
    assert members is not None
    nullable = type(None) in typing.get_args(kind)

    def structure(value: Any, _: Any) -> Any:
        # A known value becomes the enum member, an unknown one stays a string: a
        # value Soap adds later must never break parsing.
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        try:
            return members(value)
        except ValueError:
            return value

    return structure


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _is_simple_optional(kind: Any) -> bool:
    """`X | None` for a single X that is not itself an open enum."""
    if typing.get_origin(kind) not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(kind)
    return len(args) == 2 and type(None) in args and _open_enum_members(kind) is None


def _make_converter(*, detailed_validation: bool = True) -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=detailed_validation)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_structure_hook(str, _strict(str))
    conv.register_structure_hook(bool, _strict(bool))
    conv.register_structure_hook(int, _strict(int))
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook_factory(
        lambda kind: _open_enum_members(kind) is not None, _open_enum_hook
    )

    def optional(kind: Any, owner: cattrs.Converter) -> Callable[[Any, Any], Any]:
        # `X | None`: the hook of X is looked up once, not on every value, in the
        # converter asking (a copy may have its own hook for X).
        (inner,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        hook = owner.get_structure_hook(inner)

        def structure(value: Any, _: Any) -> Any:
            return None if value is None else hook(value, inner)

        return structure

    conv.register_structure_hook_factory(_is_simple_optional, optional)
    conv.register_unstructure_hook(dt.date, dt.date.isoformat)
    conv.register_unstructure_hook(dt.datetime, dt.datetime.isoformat)

    def drop_none(cls: type) -> Callable[[Any], dict[str, Any]]:
        # Fields whose default is None are left out when None, in the generated code
        # itself (no second pass over the dict); a field with another default, such as
        # a KYC country of "USA", is always sent.
        omit: dict[str, Any] = {
            field.name: override(omit_if_default=True)
            for field in attrs.fields(cls)
            if field.default is None
        }
        unstructure: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(cls, conv, **omit)
        return unstructure

    conv.register_unstructure_hook_factory(attrs.has, drop_none)
    return conv


converter = _make_converter()
# The same hooks without per-field error bookkeeping: answers are parsed with it first,
# and only a failure is parsed again by `converter` to say precisely what is wrong.
_fast_converter = _make_converter(detailed_validation=False)


_SIMPLE = {str: "str", int: "int", bool: "bool"}


def _flat_structure(cls: Any) -> Callable[[Any, Any], Any] | None:
    """Straight-line parsing for a class of plain fields, or None if it has others.

    Response models such as `Customer` are parsed on every call; this builds, once per
    class, code that checks each field's type inline instead of calling one hook per
    field. A value of the wrong type raises, and `structure_response` then parses the
    data again with the detailed converter to report precisely what is wrong.
    """
    hints = typing.get_type_hints(cls)
    lines = ["def structure(o, _):"]
    arguments = []
    for index, field in enumerate(attrs.fields(cls)):
        kind = hints[field.name]
        args = set(typing.get_args(kind))
        optional = typing.get_origin(kind) in (typing.Union, types.UnionType) and (
            type(None) in args
        )
        if optional:
            if field.default is not None or len(args) != 2:
                return None
            (kind,) = args - {type(None)}
        elif field.default is not attrs.NOTHING:
            return None
        name, value = field.name, f"v{index}"
        lines.append(f"    {value} = o.get({name!r})" if optional else f"    {value} = o[{name!r}]")
        guard = f"{value} is not None and " if optional else ""
        if kind in _SIMPLE:
            lines.append(f"    if {guard}type({value}) is not {_SIMPLE[kind]}: raise TypeError")
        elif kind is float:
            lines.append(f"    if {guard}type({value}) not in (int, float): raise TypeError")
            lines.append(f"    if {guard}True: {value} = float({value})")
        elif kind in (dt.datetime, dt.date):
            parse = "_datetime" if kind is dt.datetime else "_date"
            lines.append(f"    if {guard}type({value}) is not str: raise TypeError")
            lines.append(f"    if {guard}True: {value} = {parse}({value})")
        else:
            return None
        arguments.append(f"{name}={value}")
    lines.append(f"    return cls({', '.join(arguments)})")
    namespace: dict[str, Any] = {
        "cls": cls,
        "_datetime": parse_datetime,
        "_date": dt.date.fromisoformat,
    }
    exec("\n".join(lines), namespace)  # noqa: S102 - our own code, built from the class
    structure: Callable[[Any, Any], Any] = namespace["structure"]
    return structure


@functools.cache
def _fast_hook(cls: Any) -> Callable[[Any, Any], Any]:
    return _flat_structure(cls) or _fast_converter.get_structure_hook(cls)


@functools.cache
def _unstructure_hook(cls: Any) -> Callable[[Any], dict[str, Any]]:
    """The converter's hook of a request class, looked up once, not dispatched per call."""
    hook: Callable[[Any], dict[str, Any]] = converter.get_unstructure_hook(cls)
    return hook


def unstructure_request(request: Any) -> dict[str, Any]:
    """The JSON body of a request model; `None` fields are left out."""
    body: dict[str, Any] = _unstructure_hook(cast(Hashable, type(request)))(request)
    return body


def structure_response(
    data: Any, cls: type[T], *, status_code: int = 200, headers: Any = None
) -> T:
    """A response model from decoded JSON; a shape error becomes `APIResponseValidationError`.

    Unknown fields are ignored, so a new field on Soap's side never breaks a client.
    """
    try:
        parsed: T = _fast_hook(cast(Hashable, cls))(data, cls)
        return parsed
    except Exception:  # noqa: S110 - parsed again below, to say what is wrong
        pass
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
