"""Registry of model builders: name → builder, description, default input shape. Raises on duplicates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

from convwise.core import config_error

Builder = Callable[..., nn.Module]
F = TypeVar("F", bound=Builder)


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: its builder, a one-line description and its input shape (C, H, W)."""

    name: str
    builder: Builder
    description: str
    input_shape: tuple[int, int, int]
    defaults: dict[str, Any] = field(default_factory=dict)
    #: Optional callable config → input shape (e.g. MobileNet's resolution).
    input_shape_fn: Callable[..., tuple[int, int, int]] | None = None

    def shape_for(self, **config: Any) -> tuple[int, int, int]:
        """The input shape the model expects under `config`."""
        return self.input_shape_fn(**config) if self.input_shape_fn else self.input_shape


_REGISTRY: dict[str, ModelEntry] = {}


def register(
    name: str,
    *,
    description: str,
    input_shape: tuple[int, int, int],
    defaults: dict[str, Any] | None = None,
    input_shape_fn: Callable[..., tuple[int, int, int]] | None = None,
) -> Callable[[F], F]:
    """Decorator registering a builder under `name`.

    Raises:
        ConfigError: if `name` is already registered.
    """

    def deco(fn: F) -> F:
        if name in _REGISTRY:
            raise config_error("A model with this name is already registered.", name=name)
        _REGISTRY[name] = ModelEntry(name, fn, description, input_shape, dict(defaults or {}), input_shape_fn)
        return fn

    return deco


def _ensure_loaded() -> None:
    # importing the package registers the built-in models
    import convwise.models  # noqa: F401


def get_entry(name: str) -> ModelEntry:
    """The registry entry of `name`.

    Raises:
        ConfigError: for an unknown name (the message lists the known ones).
    """
    _ensure_loaded()
    if name not in _REGISTRY:
        raise config_error(f"Unknown model. Known models: {', '.join(sorted(_REGISTRY))}.", model=name)
    return _REGISTRY[name]


def build(name: str, **config: Any) -> nn.Module:
    """Build the registered model `name` with `config` (keyword arguments of its builder)."""
    from convwise.models.factory import call_factory

    entry = get_entry(name)
    return call_factory(entry.builder, config, f"model `{name}`")  # type: ignore[no-any-return]


def list_models() -> list[ModelEntry]:
    """Every registered model, sorted by name."""
    _ensure_loaded()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
