"""Typed construction of frozen config dataclasses from plain dicts, with field-named errors."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from .._util import ConfigError

D = TypeVar("D")


def build(cls: type[D], data: object, path: str) -> D:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and ill-typed values."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping of fields, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"unknown key {where}{unknown[0]}; valid keys{' of ' + path if path else ''}: {', '.join(names)}")
    values = {key: coerce(hints[key], value, _join(path, key)) for key, value in data.items()}
    return cls(**values)


def coerce(hint: Any, value: object, path: str) -> Any:
    """Check `value` against the annotation `hint`; return it in the field's own type."""
    if dataclasses.is_dataclass(hint):
        return build(hint, value, path)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(inner[0], value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {_show(value)}")
        return tuple(coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    return _scalar(hint, value, path)


def _scalar(hint: type, value: object, path: str) -> object:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {_show(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected a whole number, got {_show(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{path}: expected a number, got {_show(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}: expected a string, got {_show(value)}")
    raise TypeError(f"{path}: unsupported field type {hint!r}")


def require(ok: bool, path: str, rule: str, value: object) -> None:
    """Raise a ConfigError naming the field, the rule it breaks and the value it has."""
    if not ok:
        raise ConfigError(f"{path} {rule}, got {_show(value)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"
