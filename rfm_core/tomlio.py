"""Frozen dataclasses to and from TOML, generically over their fields (written by tomli-w, read by tomllib).

Settings and segment rules are saved this way, so a field added to a dataclass is saved and loaded without
touching this module. The mapping between the two sides:

- a field is a key; a nested dataclass is a table; a tuple is an array; a date is a TOML date;
- a field whose value is None is left out and reads back as the field's default, so only fields that default to
  None may hold None (TOML has no null);
- reading checks every key against the dataclass's fields (unknown keys fail with the list of known ones) and
  every value against the field's type annotation (``bool``, ``int``, ``float``, ``str``, ``datetime.date``,
  ``Literal``, ``X | None``, ``tuple[X, ...]``, fixed-length tuples, nested dataclasses); the dataclass's own
  ``__post_init__`` then validates the combination.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomli_w

from .errors import ConfigError

__all__ = ["check_keys", "dumps", "from_table", "loads", "to_table"]


def to_table(obj: Any, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields of the dataclass instance ``obj`` as a TOML-ready dict (fields named in ``skip`` left out).

    Raises
    ------
    ConfigError
        A field holds None although its default is not None (TOML could not say so).
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.init or f.name in skip:
            continue
        value = getattr(obj, f.name)
        if value is None:
            if f.default is None:
                continue
            raise ConfigError(f"{type(obj).__name__}.{f.name} is None, which a TOML file cannot hold.")
        out[f.name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_table(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# An array tomli-w wrote one number per line. Its strings never hold a raw line break (they are escaped), so a
# "[" at the end of a line always opens an array.
_NUMBER_ARRAY = re.compile(r"\[\n((?:[ ]+[-+]?(?:inf|nan|[0-9][0-9_]*(?:\.[0-9_]+)?(?:[eE][-+]?[0-9_]+)?),\n)+)[ ]*\]")


def dumps(table: Mapping[str, Any], header: str) -> str:
    """TOML text (tomli-w) with a comment line on top and arrays of numbers on one line (``r = [4, 5]``)."""
    text = tomli_w.dumps(table)
    text = _NUMBER_ARRAY.sub(lambda m: "[" + ", ".join(v.strip().rstrip(",") for v in m.group(1).splitlines()) + "]",
                             text)
    return f"# {header}\n" + text


def loads(text: str, what: str) -> dict[str, Any]:
    """Parse TOML; a syntax error becomes a :class:`ConfigError` naming ``what`` (e.g. "settings file")."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The {what} is not valid TOML: {exc}.") from None


def check_keys(table: Mapping[str, Any], known: set[str] | frozenset[str], where: str) -> None:
    """Raise :class:`ConfigError` listing the unknown keys and the known ones."""
    unknown = set(table) - set(known)
    if unknown:
        raise ConfigError(f"Unknown keys in [{where}]: {', '.join(sorted(unknown))}. Known: "
                          f"{', '.join(sorted(known))}.")


def from_table(cls: type, table: Any, where: str, *,
               special: Mapping[str, Callable[[Any, str], Any]] | None = None,
               extra_keys: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Constructor arguments for the dataclass ``cls`` from a TOML table; absent keys are left to the defaults.

    ``special`` converts named fields itself (value, where) instead of by their annotation; keys in ``extra_keys``
    are allowed and ignored (the caller reads them).

    Raises
    ------
    ConfigError
        ``table`` is not a table, has unknown keys, or a value does not fit its field's type.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table of keys and values.")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    check_keys(table, {f.name for f in fields} | extra_keys, where)
    hints = get_type_hints(cls)
    special = special or {}
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.name in table:
            convert = special.get(f.name)
            value, at = table[f.name], f"{where}.{f.name}" if where != "top level" else f.name
            kwargs[f.name] = convert(value, at) if convert else _coerce(hints[f.name], value, at)
    return kwargs


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        problems = []
        for option in options:
            try:
                return _coerce(option, value, where)
            except ConfigError as exc:
                problems.append(str(exc))
        raise ConfigError(problems[0] if len(problems) == 1 else f"{where}: {value!r} fits none of its types.")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(map(repr, allowed))}, not {value!r}.")
        return value
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list [ ... ], not {value!r}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{where} must have {len(args)} items, not {len(value)}.")
        return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return tp(**from_table(tp, value, where))
    return _scalar(tp, value, where)


def _scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, not {value!r}.")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where} must be a whole number, not {value!r}.")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, not {value!r}.")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(f"{where} must be text in quotes, not {value!r}.")
    if tp is dt.date:
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ConfigError(f"{where} must be a date (YYYY-MM-DD), not {value!r}.") from None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise ConfigError(f"{where} must be a date (YYYY-MM-DD), not {value!r}.")
    return value  # an annotation this module does not check: the dataclass's __post_init__ validates it
