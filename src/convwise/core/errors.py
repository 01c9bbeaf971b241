"""The exceptions convwise raises on bad input, and the one message template they share.

Messages name the argument, state the rule and show what was received:
"`groups` must divide `in_channels`. Received: in_channels=30, groups=4."

>>> issubclass(ConfigError, ValueError), issubclass(MissingDependencyError, ImportError)
(True, True)
>>> all(issubclass(e, ConvwiseError) for e in (ConfigError, MissingDependencyError, WriteError))
True
"""

from __future__ import annotations

from typing import Any


class ConvwiseError(Exception):
    """Base class of every error convwise raises on purpose (bad input, missing extra, bad file)."""


class ConfigError(ConvwiseError, ValueError):
    """An argument, shape or option is not valid."""


class MissingDependencyError(ConvwiseError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""


class WriteError(ConvwiseError, OSError):
    """A file or folder convwise was asked to write cannot be written: `cannot write PATH: reason`.

    Raised by `convwise.fileio` for every OS error on our writes (a folder that cannot be written, a
    path below a regular file, a full disk), so the command line prints one line and exits 2.

    >>> err = WriteError("out/report.html", "No space left on device")
    >>> str(err), err.path
    ('cannot write out/report.html: No space left on device', 'out/report.html')
    >>> isinstance(err, OSError)
    True
    """

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return str(self.args[0])


def received(**values: Any) -> str:
    """Render `Received: a=1, b=(3, 3).` for error messages (order as given).

    >>> received(in_channels=30, groups=4)
    'Received: in_channels=30, groups=4.'
    """
    parts = ", ".join(f"{name}={value!r}" for name, value in values.items())
    return f"Received: {parts}."


def config_error(rule: str, **values: Any) -> ConfigError:
    """Build a `ConfigError` whose message is the rule followed by the received values.

    >>> str(config_error("`groups` must divide `in_channels`", in_channels=30, groups=4))
    '`groups` must divide `in_channels`. Received: in_channels=30, groups=4.'
    """
    rule = rule.rstrip()
    if not rule.endswith((".", "?", ")")):
        rule += "."
    return ConfigError(f"{rule} {received(**values)}" if values else rule)


def missing_extra(package: str, extra: str, purpose: str) -> MissingDependencyError:
    """Error for an optional package that is not installed, saying how to install it.

    >>> err = missing_extra("onnx", "export", "ONNX export")
    >>> for sentence in str(err).split(". "):
    ...     print(sentence)
    ONNX export needs the optional package `onnx`, which is not installed
    Install it with: pip install "convwise[export]"
    """
    return MissingDependencyError(
        f"{purpose} needs the optional package `{package}`, which is not installed. "
        f'Install it with: pip install "convwise[{extra}]"'
    )
