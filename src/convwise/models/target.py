"""Resolve a TARGET — zoo name, `path/to/file.py:factory` or `package.module:factory` — to a model."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from convwise.core import ConfigError, config_error


@dataclass
class LoadedModel:
    """A model resolved from a TARGET, with its name and default input shape (C, H, W) when known.

    For a model file (`.onnx`, `.keras`, `.tflite`, resolved with `files=True`) `model` is None and
    `file` is its path: `convwise.formats.summarize_file` reads it.
    """

    model: nn.Module | None
    name: str
    input_shape: tuple[int, int, int] | None
    config: dict[str, Any]
    zoo: bool
    file: Path | None = None


def _import_file(path: Path, target: str) -> Any:
    if not path.is_file():
        raise config_error("The target file does not exist.", target=target, path=str(path))
    mod_name = f"convwise_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise config_error("The target file cannot be imported as Python.", target=target)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise config_error(
            f"Importing the target file failed: {type(exc).__name__}: {exc}", target=target
        ) from exc
    return module


def resolve_target(target: str, *, files: bool = False, **config: Any) -> LoadedModel:
    """Resolve TARGET to a model.

    A model file (`.onnx`, `.keras`, `.tflite`) is accepted when `files` is True (commands that count
    from a file: `summary`); elsewhere it is a one-line error saying which commands read it.

    A zoo name builds the registered model with `config`. `file.py:factory` and `pkg.module:factory`
    import the module and call `factory(**config)` (a class, a function, or an `nn.Module` instance used
    as is). The factory's module may define `INPUT_SHAPE = (C, H, W)`; the model may carry
    `input_shape` too.

    Raises:
        ConfigError: unknown name, missing file/module/attribute, factory raising, not an `nn.Module`.
    """
    from convwise.models.registry import _REGISTRY, _ensure_loaded, build, get_entry

    if not isinstance(target, str) or not target.strip():
        raise config_error(
            "`target` must be a zoo name, path/to/file.py:factory or package.module:factory.", target=target
        )
    from convwise.formats.load import is_model_file

    if is_model_file(target) and ":" not in Path(target).name:
        if config:
            raise config_error("A model file takes no `--config`.", target=target, config=config)
        if not files:
            raise config_error(
                "A model file is read by `convwise summary`; this command needs a PyTorch model (a zoo "
                "name, path/to/file.py:factory or package.module:factory).",
                target=target,
            )
        path = Path(target)
        if not path.is_file():
            raise config_error("The model file does not exist.", path=target)
        return LoadedModel(None, path.name, None, {}, False, path)
    _ensure_loaded()
    if ":" not in target:
        if target.endswith(".py"):
            raise config_error(
                "A file target needs the factory after a colon: path/to/file.py:factory.", target=target
            )
        if target not in _REGISTRY:
            get_entry(target)  # raises with the list of known names
        model = build(target, **config)
        return LoadedModel(model, target, get_entry(target).shape_for(**config), dict(config), True)
    where, _, attr = target.rpartition(":")
    if not attr.isidentifier():
        raise config_error("The factory after the colon must be a Python name.", target=target)
    if where.endswith(".py") or "/" in where or "\\" in where:
        module = _import_file(Path(where), target)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise config_error(f"Cannot import module `{where}`: {exc}", target=target) from None
    if not hasattr(module, attr):
        raise config_error(f"`{where}` has no attribute `{attr}`.", target=target)
    factory = getattr(module, attr)
    if isinstance(factory, nn.Module):
        model = factory
    elif callable(factory):
        try:
            model = factory(**config)
        except ConfigError:
            raise
        except Exception as exc:
            raise config_error(f"The factory raised {type(exc).__name__}: {exc}", target=target) from exc
    else:
        raise config_error(f"`{attr}` is neither a factory nor an nn.Module.", target=target)
    if not isinstance(model, nn.Module):
        raise config_error(
            "The factory must return a torch.nn.Module.", target=target, returned=type(model).__name__
        )
    shape = getattr(model, "input_shape", None) or getattr(module, "INPUT_SHAPE", None)
    return LoadedModel(model, attr, tuple(shape) if shape else None, dict(config), False)  # type: ignore[arg-type]


def load_target(target: str, **config: Any) -> nn.Module:
    """The `nn.Module` a TARGET names (see `resolve_target`)."""
    model = resolve_target(target, **config).model
    assert model is not None  # files=False: a model file raised
    return model
