"""Calling a model factory with a user's `--config KEY=VALUE`: its errors name the key and the value."""

from __future__ import annotations

import inspect
import re
from typing import Any

from convwise.core.errors import ConfigError, config_error

_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
}


def _expected_types(param: inspect.Parameter) -> tuple[str, tuple[type, ...]] | None:
    """(type name, accepted types) from a parameter's plain annotation, else loosely from its default.

    Without an annotation a number default accepts any number (an unannotated `scale=1` may mean a
    float) and a string default any string.
    """
    note = param.annotation
    name = note if isinstance(note, str) else getattr(note, "__name__", None)
    if name in _SIMPLE_TYPES:
        return name, _SIMPLE_TYPES[name]
    default = param.default
    if note is inspect.Parameter.empty and default is not None and not isinstance(default, bool):
        if isinstance(default, (int, float)):
            return "number", (int, float)
        if isinstance(default, str):
            return "str", (str,)
    return None


def _check_keys(params: Any, config: dict[str, Any], label: str) -> None:
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    named = [n for n, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY)]
    for key, value in config.items():
        if key not in named:
            takes = ", ".join(named) or "no configuration"
            raise config_error(f"{label} has no parameter `{key}` (it takes: {takes}).", **{key: value})


def _check_types(params: Any, config: dict[str, Any], label: str) -> None:
    for key, value in config.items():
        expected = _expected_types(params[key]) if key in params else None
        if expected is None or value is None:
            continue
        type_name, accepted = expected
        if isinstance(value, accepted) and (type_name == "bool" or not isinstance(value, bool)):
            continue
        default = params[key].default
        extra = "" if default is inspect.Parameter.empty else f" (default {default!r})"
        article = "an" if type_name == "int" else "a"
        raise config_error(f"`{key}` of {label} must be {article} {type_name}{extra}.", **{key: value})


def call_factory(factory: Any, config: dict[str, Any], label: str) -> Any:
    """`factory(**config)`, with a one-line error naming the key and value the factory cannot take.

    Args:
        factory: a class or function.
        config: its keyword arguments (from `--config KEY=VALUE`).
        label: how messages name the factory, e.g. "`net.py:build`".

    Returns:
        What the factory returned.

    Raises:
        ConfigError: a key the factory has no parameter for; a value of the wrong plain type (a string
            where the parameter is annotated `int` or defaults to a number …); the factory raising.

    >>> def build(width: int = 8, name: str = "net"):
    ...     return (width, name)
    >>> call_factory(build, {"width": 16}, "`build`")
    (16, 'net')
    >>> for config in ({"depth": 3}, {"width": "abc"}):
    ...     try:
    ...         call_factory(build, config, "`build`")
    ...     except ConfigError as exc:
    ...         print(exc)
    `build` has no parameter `depth` (it takes: width, name). Received: depth=3.
    `width` of `build` must be an int (default 8). Received: width='abc'.
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # no signature to read (a builtin): the call decides
        params = None
    if params is not None:
        _check_keys(params, config, label)
        _check_types(params, config, label)
    try:
        return factory(**config)
    except ConfigError:
        raise
    except Exception as exc:
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        if isinstance(exc, TypeError) and unexpected and unexpected.group(1) in config:
            key = unexpected.group(1)  # a factory passing **config on (to a dataclass …)
            raise config_error(f"{label} has no parameter `{key}`.", **{key: config[key]}) from None
        first = (str(exc).strip().splitlines() or [""])[0][:160]
        cause = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        if not config:
            raise config_error(f"The factory {label} raised {cause}") from exc
        raise config_error(f"{label} cannot be built with this configuration ({cause}).", **config) from exc


__all__ = ["call_factory"]
