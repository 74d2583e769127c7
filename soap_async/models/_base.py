"""Building request models from keyword fields, with errors that name the field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from ..errors import InvalidRequestError

T = TypeVar("T")

__all__ = ["build_request", "rule"]


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
    known = attrs.fields_dict(cls)  # type: ignore[arg-type]
    for name in given:
        if name not in known:
            raise InvalidRequestError(
                f"{name} is not a field of {cls.__name__} (known: {', '.join(known)})",
                field=name,
            )
    for name, field in known.items():
        if field.default is attrs.NOTHING and name not in given:
            raise InvalidRequestError(f"{name} is required", field=name)
    return cls(**given)


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def rule(check: Callable[[str, Any], object], *, optional: bool = False) -> Validator:
    """An attrs validator running `check(field_name, value)` (skipping `None` if optional).

    The checks raise `InvalidRequestError` naming the field, so every model reports bad
    input the same way.
    """

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and optional:
            return
        check(attribute.name, value)

    return validate
