"""Building request models from keyword fields, with errors that name the field."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, cast

import attrs

from ..errors import InvalidRequestError

T = TypeVar("T")

__all__ = ["build_request", "rule"]


@functools.cache
def _field_names(cls: Any) -> tuple[frozenset[str], tuple[str, ...]]:
    """(every field, the required ones) of an attrs class, read once per class."""
    fields = attrs.fields(cls)
    return (
        frozenset(field.name for field in fields),
        tuple(field.name for field in fields if field.default is attrs.NOTHING),
    )


def build_request(cls: type[T], request: T | None, fields: Mapping[str, Any]) -> T:
    """`request` itself, or `cls(**fields)` with `None` fields dropped.

    Refuses both at once, unknown fields and missing required ones with an
    `InvalidRequestError` naming the field; the class's own validators check the rest.
    """
    given = {name: value for name, value in fields.items() if value is not None}
    if request is not None:
        if not isinstance(request, cls):
            raise InvalidRequestError(
                f"request must be a {cls.__name__}, got {type(request).__name__}"
            )
        if given:
            raise InvalidRequestError(
                f"pass either a {cls.__name__} or keyword fields, not both "
                f"(got {', '.join(sorted(given))} too)",
                field=sorted(given)[0],
            )
        return request
    try:
        # The common case costs one construction; only a failure is examined below.
        return cls(**given)
    except TypeError:
        known, required = _field_names(cast(Hashable, cls))
    if not known.issuperset(given):
        name = next(name for name in given if name not in known)
        names = ", ".join(field.name for field in attrs.fields(cls))  # type: ignore[arg-type]
        raise InvalidRequestError(
            f"{name} is not a field of {cls.__name__} (known: {names})", field=name
        )
    for name in required:
        if name not in given:
            raise InvalidRequestError(f"{name} is required", field=name)
    return cls(**given)  # raises the TypeError again: a bug, not bad input


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def rule(check: Callable[[str, Any], object], *, optional: bool = False) -> Validator:
    """An attrs validator running `check(field_name, value)` (skipping `None` if optional).

    The checks raise `InvalidRequestError` naming the field, so every model reports bad
    input the same way.
    """

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            if optional:
                return
            raise InvalidRequestError(f"{attribute.name} is required", field=attribute.name)
        check(attribute.name, value)

    return validate
