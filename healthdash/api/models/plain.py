"""A model's fields as a TypedDict validated alike: for validating many bodies at once into plain dicts.

Validating a batch of 10,000 events into model instances and dumping them back to dicts took about 100 ms, most of
it making the 20,000 instances; into dicts shaped by the same fields, 12 ms (22 ms with the events made from them).
The TypedDict is derived from the model, field by field (the type, its constraints and validators, required or not,
extra fields refused as the model refuses them), so the model stays the one definition: the OpenAPI document and
single events use it as before.

What differs from `model.model_dump(exclude_none=True)`: a field left out stays out (a model fills in its default),
and a field sent as null stays there as None. `without_none` drops those, as that dump would.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, NotRequired, Required, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12 on


@functools.cache
def plain(model: type[BaseModel]) -> Any:
    """Return a TypedDict with the model's fields, validated as the model validates them (nested models too)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind = _plain_type(info.annotation)
        annotated = Annotated[kind, *info.metadata] if info.metadata else kind  # constraints, validators
        fields[name] = Required[annotated] if info.is_required() else NotRequired[annotated]
    make: Any = TypedDict  # made at run time, from the model: a type checker knows only TypedDicts written out
    shape = make(model.__name__, fields)
    shape.__pydantic_config__ = ConfigDict(extra=model.model_config.get("extra"))
    return shape


def _plain_type(annotation: Any) -> Any:
    """The annotation with every model in it replaced by its TypedDict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return plain(annotation)
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return Union[tuple(_plain_type(arg) for arg in get_args(annotation))]  # noqa: UP007 (built at run time)
    if origin is list:
        return list[_plain_type(get_args(annotation)[0])]  # type: ignore[misc]
    if origin is typing.Annotated:
        kind, *metadata = get_args(annotation)
        return Annotated[_plain_type(kind), *metadata]
    return annotation


def without_none(values: dict[str, Any]) -> dict[str, Any]:
    """The fields that hold a value (a field sent as null is left out, as `model_dump(exclude_none=True)` does)."""
    return {key: value for key, value in values.items() if value is not None}
