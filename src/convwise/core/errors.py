"""The exceptions convwise raises on bad input, and the one message template they share.

Messages name the argument, state the rule and show what was received:
"`groups` must divide `in_channels`. Received: in_channels=30, groups=4."
"""

from __future__ import annotations

from typing import Any


class ConvwiseError(Exception):
    """Base class of every error convwise raises on purpose (bad input, missing extra, bad file)."""


class ConfigError(ConvwiseError, ValueError):
    """An argument, shape or option is not valid."""


class MissingDependencyError(ConvwiseError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def received(**values: Any) -> str:
    """Render `Received: a=1, b=(3, 3).` for error messages (order as given)."""
    parts = ", ".join(f"{name}={value!r}" for name, value in values.items())
    return f"Received: {parts}."


def config_error(rule: str, **values: Any) -> ConfigError:
    """Build a `ConfigError` whose message is the rule followed by the received values."""
    rule = rule.rstrip()
    if not rule.endswith((".", "?", ")")):
        rule += "."
    return ConfigError(f"{rule} {received(**values)}" if values else rule)


def missing_extra(package: str, extra: str, purpose: str) -> MissingDependencyError:
    """Error for an optional package that is not installed, saying how to install it."""
    return MissingDependencyError(
        f"{purpose} needs the optional package `{package}`, which is not installed. "
        f'Install it with: pip install "convwise[{extra}]"'
    )
