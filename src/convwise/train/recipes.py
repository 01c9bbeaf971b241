"""Training recipes: every hyper-parameter of a run as one plain, JSON-serialisable value."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from convwise.core.errors import config_error
from convwise.train.init import INITS

DEFAULT_MODEL = "fashion_separable_cnn"
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored as `config.json` in the run directory).

    Attributes:
        model: zoo name or `path/file.py:factory` / `package.module:factory`.
        model_config: keyword arguments of the model factory.
        dataset: `fashion-mnist` or `mnist`.
        epochs: maximum number of epochs.
        batch_size: global batch size (split across processes under torchrun).
        lr: peak learning rate of Adam.
        adam_eps: Adam epsilon (Keras' default is 1e-7, PyTorch's 1e-8).
        weight_decay: decoupled weight decay (AdamW when > 0).
        schedule: `constant` or `cosine` (per step, to 0 at the last planned step).
        warmup_epochs: linear warm-up length for `cosine` (fraction of an epoch allowed).
        flip: random horizontal flips of training images (probability 0.5).
        label_smoothing: cross-entropy label smoothing.
        val_size: the first N training images form the validation set.
        patience: early stopping patience in epochs (0 disables it).
        min_delta: minimum decrease of val loss that counts as an improvement for early stopping.
        seed: seed of initialisation, shuffling and augmentation.
        train_subset / test_subset: use only the first N images (quick runs, tests).
        channels_last: run the model in channels-last memory format.
        threads: intra-op threads per process (0 = the CPUs available / local processes).
        precision: `fp32`, or `bf16` (autocast to bfloat16, where the CPU has native bf16 arithmetic).
        compile: compile the training step with Inductor (needs a C++ compiler; measured no faster here).
        init: weight initialisation, `torch` (the layers' own) or `keras` (glorot_uniform, zero biases).
        recipe: the name of the recipe this config started from.
        recipe: the name of the recipe this config started from.
    """

    model: str = DEFAULT_MODEL
    model_config: dict[str, Any] = field(default_factory=dict)
    dataset: str = "fashion-mnist"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    adam_eps: float = 1e-7
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    flip: bool = False
    label_smoothing: float = 0.0
    val_size: int = 5000
    patience: int = 5
    min_delta: float = 1e-3
    seed: int = 42
    train_subset: int | None = None
    test_subset: int | None = None
    channels_last: bool = True
    threads: int = 0
    precision: str = "fp32"
    compile: bool = False
    init: str = "torch"
    recipe: str = "custom"

    def validate(self, **where: Any) -> TrainConfig:
        """Check every field; returns self.

        Args:
            where: named values added to an error message (e.g. the file the config came from).

        Raises:
            ConfigError: a value out of range.

        >>> TrainConfig(epochs=0).validate()
        Traceback (most recent call last):
        ...
        convwise.core.errors.ConfigError: `epochs` must be a positive integer. Received: epochs=0.
        """
        for name in ("epochs", "batch_size", "val_size"):
            if int(getattr(self, name)) < 1:
                raise config_error(
                    f"`{name}` must be a positive integer.", **{name: getattr(self, name)}, **where
                )
        if not self.lr > 0:
            raise config_error("`lr` must be positive.", lr=self.lr, **where)
        if self.schedule not in ("constant", "cosine"):
            raise config_error("`schedule` must be one of constant, cosine.", schedule=self.schedule, **where)
        if self.precision not in PRECISIONS:
            raise config_error(
                f"`precision` must be one of {', '.join(PRECISIONS)}.", precision=self.precision, **where
            )
        if self.init not in INITS:
            raise config_error(f"`init` must be one of {', '.join(INITS)}.", init=self.init, **where)
        if self.patience < 0:
            raise config_error(
                "`patience` must be >= 0 (0 disables early stopping).", patience=self.patience, **where
            )
        if not 0 <= self.label_smoothing < 1:
            raise config_error(
                "`label_smoothing` must be in [0, 1).", label_smoothing=self.label_smoothing, **where
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON / checkpoint)."""
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(values: dict[str, Any], *, source: str | None = None) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys and values of the wrong type are rejected, naming the field.

        Args:
            values: the plain dict (e.g. a run's `config.json`).
            source: where it came from, named in error messages.

        Raises:
            ConfigError: an unknown key, a value of the wrong type or out of range.

        >>> TrainConfig.from_dict({"epochs": "ten"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convwise.core.errors.ConfigError: ... field `epochs` must be an integer. Received: epochs='ten'.
        """
        where = {"path": source} if source else {}
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise config_error("Training config has unknown keys.", keys=unknown, **where)
        for name, value in values.items():
            kind = _field_kind(name)
            if not _is_kind(value, kind):
                raise config_error(
                    f"Training config field `{name}` must be {_KIND_NAMES[kind]}.", **{name: value}, **where
                )
        return TrainConfig(**values).validate(**where)


# The kinds of values each field takes (from its annotation), for checking a hand-edited config.json.
_KIND_NAMES = {
    "str": "a string",
    "dict": "a JSON object",
    "int": "an integer",
    "int?": "an integer or null",
    "float": "a number",
    "bool": "true or false",
}


def _field_kind(name: str) -> str:
    """`int`, `int?` (int or None), `float`, `bool`, `str` or `dict`, from the field's annotation."""
    annotation = str(next(f.type for f in dataclasses.fields(TrainConfig) if f.name == name))
    return "int?" if annotation == "int | None" else annotation.split("[")[0]


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "int?":
        return value is None or _is_kind(value, "int")
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"str": str, "dict": dict, "bool": bool}[kind])


# The seed's TF2/Keras recipe, reproduced as faithfully as PyTorch allows (Keras' initialisers included).
SEED = TrainConfig(recipe="seed", init="keras")

# The seed's recipe, changed only where a change measurably helped (see docs/training.md):
# cosine learning-rate decay to 0 over the 10 epochs, and random horizontal flips.
DEFAULT = TrainConfig(recipe="default", schedule="cosine", flip=True)

RECIPES: dict[str, TrainConfig] = {"seed": SEED, "default": DEFAULT}


def get_recipe(name: str) -> TrainConfig:
    """A fresh copy of a named recipe (`seed` or `default`).

    Raises:
        ConfigError: unknown name.
    """
    if name not in RECIPES:
        raise config_error(f"`recipe` must be one of {', '.join(RECIPES)}.", recipe=name)
    return dataclasses.replace(RECIPES[name], model_config=dict(RECIPES[name].model_config))


__all__ = ["DEFAULT", "DEFAULT_MODEL", "RECIPES", "SEED", "TrainConfig", "get_recipe"]
