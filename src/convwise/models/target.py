"""Resolve a TARGET — zoo name, `path/to/file.py:factory`, `package.module:factory`, or a training
checkpoint / run folder — to a model. `resolve_target` is the one entry point every command uses."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from convwise.core import config_error


@dataclass
class LoadedModel:
    """A model resolved from a TARGET, with its name and default input shape (C, H, W) when known.

    Attributes:
        model: the module (a checkpoint's in eval mode, with its weights; otherwise freshly built).
        name: zoo name, factory name, or the model a checkpoint names.
        input_shape: one sample's input shape, when the target declares it.
        config: the builder configuration.
        zoo: built from the zoo by name.
        checkpoint: the checkpoint file or run folder loaded (None for fresh weights).
        info: the checkpoint dict without weights (dataset, normalisation, metrics …), {} otherwise.
    """

    model: nn.Module | None
    name: str
    input_shape: tuple[int, ...] | None
    config: dict[str, Any]
    zoo: bool
    checkpoint: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: A model file (.onnx, .keras, .tflite, resolved with `files=True`): `model` is None and
    #: `convwise.formats.summarize_file` reads the file.
    file: Path | None = None


def _from_checkpoint(target: str) -> LoadedModel:
    from convwise.models.checkpoint import load_checkpoint

    path = Path(target)
    if not path.exists():
        raise config_error("Checkpoint `path` does not exist.", path=target)
    model, info = load_checkpoint(path)
    spec = info.get("model") or {}
    shape = tuple(int(d) for d in info.get("input_shape") or ()) or None
    return LoadedModel(
        model, str(spec.get("name", path.stem)), shape, dict(spec.get("config") or {}), False, path, info
    )


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


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def resolve_target(target: str, *, files: bool = False, **config: Any) -> LoadedModel:
    """Resolve TARGET to a model.

    A model file (`.onnx`, `.keras`, `.tflite`) is accepted when `files` is True (`convwise summary`,
    which reads it with `convwise.formats`); elsewhere it is a one-line error saying so.

    A checkpoint file (.pt/.pth, `convwise-checkpoint/1`) or a training run folder (its best.pt, else
    last.pt) rebuilds the model it names with its weights, in eval mode (`config` is ignored: the
    checkpoint records its own). A zoo name builds the registered model with `config`. `file.py:factory`
    and `pkg.module:factory` import the module and call `factory(**config)` (a class, a function, or an
    `nn.Module` instance used as is). The factory's module may define `INPUT_SHAPE = (C, H, W)`; the
    model may carry `input_shape` too.

    Raises:
        ConfigError: unknown name, missing file/module/attribute, factory raising, not an `nn.Module`.
    """
    from convwise.models.registry import _REGISTRY, _ensure_loaded, build, get_entry

    if not isinstance(target, str) or not target.strip():
        raise config_error(
            "`target` must be a zoo name, path/to/file.py:factory or package.module:factory.", target=target
        )
    from convwise.formats.load import is_model_file
    from convwise.models.checkpoint import is_checkpoint_path

    if is_model_file(target):
        if config:
            raise config_error("A model file takes no `--config`.", target=target, config=config)
        if not files:
            raise config_error(
                "A model file is read by `convwise summary`; this command needs a PyTorch model (a zoo "
                "name, path/to/file.py:factory, package.module:factory or a checkpoint).",
                target=target,
            )
        path = Path(target)
        if not path.is_file():
            raise config_error("The model file does not exist.", path=target)
        return LoadedModel(None, path.name, None, {}, False, file=path)
    if is_checkpoint_path(target):
        return _from_checkpoint(target)
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
        from convwise.models.factory import call_factory

        model = call_factory(factory, config, f"`{target}`")
    else:
        raise config_error(f"`{attr}` is neither a factory nor an nn.Module.", target=target)
    if not isinstance(model, nn.Module):
        shown = repr(model) if len(repr(model)) <= 60 else repr(model)[:57] + "..."
        raise config_error(
            f"The factory must return a torch.nn.Module; it returned {_a(type(model).__name__)}: {shown}",
            target=target,
        )
    shape = getattr(model, "input_shape", None) or getattr(module, "INPUT_SHAPE", None)
    return LoadedModel(model, attr, tuple(shape) if shape else None, dict(config), False)  # type: ignore[arg-type]


def load_target(target: str, **config: Any) -> nn.Module:
    """The `nn.Module` a TARGET names (see `resolve_target`)."""
    model = resolve_target(target, **config).model
    assert model is not None  # files=False: a model file raised
    return model
