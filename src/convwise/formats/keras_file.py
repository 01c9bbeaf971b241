"""Read a Keras 3 model (a `.keras` file or a model object) into layer records, one per Keras layer.

Parameters are Keras' own weights (so the totals equal `model.count_params()` and `model.summary()`'s
trainable / non-trainable split); the cost of each layer comes from `convwise.core` (Conv2D, Conv2D with
`groups`, DepthwiseConv2D with `depth_multiplier`, SeparableConv2D as convwise's variant specs) and the
profiler's formula table (`convwise.formats.keras_layers`). Keras runs on whatever backend it was
configured with (torch by default here: `KERAS_BACKEND=torch` unless set); the report says which.
Needs `keras` (extra `keras`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from convwise.core import config_error, missing_extra
from convwise.formats import keras_layers
from convwise.formats.record import LayerRecord, ModelRecord, numel, to_nchw


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        raise missing_extra("keras", "keras", "Reading a Keras model") from None
    return keras


def _load(path: Path) -> Any:
    keras = _keras()
    if not path.is_file():
        raise config_error("The model file does not exist.", path=str(path))
    try:
        return keras.saving.load_model(str(path), compile=False)
    except Exception as exc:
        text = " ".join(str(exc).split())
        if "custom" in text.lower() or "Could not locate" in text or "Unknown layer" in text:
            cls = text.split("'")[1] if text.count("'") >= 2 else "?"
            raise config_error(
                "The Keras file uses a custom layer or object that is not registered (register it with "
                "`keras.saving.register_keras_serializable` and pass the model object to "
                "`convwise.formats.keras_summary`).",
                path=str(path),
                custom_object=cls,
            ) from None
        raise config_error(
            f"The file is not a valid Keras model ({type(exc).__name__}: {text[:160]}).", path=str(path)
        ) from None


def _shape(t: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in t.shape]


def _concrete(shape: list[int | None], batch: int, where: str) -> list[int]:
    out = [batch, *shape[1:]]
    if any(d is None for d in out):
        raise config_error(
            f"The Keras model's {where} has unknown axes: give the input shape with `--input` (CxHxW).",
            shape=shape,
        )
    return [int(d) for d in out]  # type: ignore[arg-type]


def _rebuilt(model: Any, input_shapes: list[tuple[int, ...]]) -> Any:
    """A copy of `model` built on inputs of the given (C, H, W) shapes (to fill unknown axes)."""
    keras = _keras()
    if len(input_shapes) != len(model.inputs):
        raise config_error(
            f"Give one `--input` per model input (the model has {len(model.inputs)}).",
            input=[list(s) for s in input_shapes],
        )
    tensors = []
    for given, inp in zip(input_shapes, model.inputs, strict=True):
        rank = len(inp.shape) - 1
        sample = tuple(given)
        if rank == 3 and len(sample) == 3:  # --input is C×H×W; Keras is channels-last
            sample = (sample[1], sample[2], sample[0])
        if len(sample) != rank:
            raise config_error(
                f"`--input` must give the {rank} axes after the batch of the Keras input.", input=list(given)
            )
        for d, g in zip(inp.shape[1:], sample, strict=True):
            if d is not None and d != g:
                raise config_error(
                    "The Keras model fixes its input shape; `--input` cannot change it.",
                    model_input=_shape(inp)[1:],
                    input=list(given),
                )
        tensors.append(keras.Input(shape=sample, dtype=inp.dtype))
    try:
        return keras.models.clone_model(model, input_tensors=tensors if len(tensors) > 1 else tensors[0])
    except Exception as exc:
        raise config_error(
            f"The Keras model cannot be rebuilt for this input ({type(exc).__name__}: {exc}).",
            input=[list(s) for s in input_shapes],
        ) from None


def _graph(model: Any) -> Any:
    """The functional graph of a Sequential or functional model."""
    graph = getattr(model, "_functional", None) or model
    if not hasattr(graph, "_nodes_by_depth"):
        raise config_error(
            "A subclassed Keras model has no layer graph to read; use a Sequential or functional model.",
            model=model.name,
        )
    return graph


def _nodes(
    model: Any, alias: dict[int, int], prefix: str = ""
) -> list[tuple[str, Any, list[Any], list[Any]]]:
    """(name, layer, input tensors, output tensors) of every call in the model's graph, in execution order.

    Nested models are flattened ('outer/inner'); their inner inputs and outputs are aliased to the outer
    tensors so the receptive field follows through them.
    """
    graph = _graph(model)
    out: list[tuple[str, Any, list[Any], list[Any]]] = []
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            layer = node.operation
            ins, outs = list(node.input_tensors), list(node.output_tensors)
            if type(layer).__name__ == "InputLayer":
                continue
            if hasattr(layer, "_nodes_by_depth") or hasattr(layer, "_functional"):
                inner = _graph(layer)
                for a, b in zip(inner.inputs, ins, strict=False):
                    alias[id(a)] = alias.get(id(b), id(b))
                out.extend(_nodes(layer, alias, f"{prefix}{layer.name}/"))
                for a, b in zip(outs, inner.outputs, strict=False):
                    alias[id(a)] = alias.get(id(b), id(b))
                continue
            out.append((f"{prefix}{layer.name}", layer, ins, outs))
    return out


def read_keras(
    source: Any, *, input_shapes: list[tuple[int, ...]] | None = None, batch: int = 1
) -> ModelRecord:
    """Read a Keras model — a `.keras` file path or a `keras.Model` — into a `ModelRecord`.

    Args:
        source: the file, or the model object.
        input_shapes: per model input, its shape after the batch axis as C×H×W for images (filled into
            unknown axes; must agree with known ones). None: the model's own input shapes.
        batch: N.

    Raises:
        ConfigError: not a valid Keras file, a file that needs custom objects, unknown input axes.
        MissingDependencyError: `keras` is not installed (extra `keras`).

    >>> keras = _keras()
    >>> conv = keras.layers.SeparableConv2D(32, 3, padding="same")
    >>> model = keras.Sequential([keras.Input((224, 224, 10)), conv])
    >>> layer = read_keras(model).layers[0]
    >>> layer.kind, layer.params, layer.output_shape, layer.spec.bias_policy   # SPEC §4: 90 + 352
    ('separable', 442, [1, 32, 224, 224], 'keras')
    """
    keras = _keras()
    if isinstance(source, (str, Path)):
        path = Path(source)
        model = _load(path)
        name = path.name
    else:
        if not isinstance(source, keras.Model):
            raise config_error("Expected a keras.Model or a .keras file.", source=type(source).__name__)
        model = source
        name = model.name
    if not model.built or not getattr(model, "inputs", None):
        raise config_error(
            "The Keras model has no defined inputs (build it on a keras.Input first).", model=name
        )
    if input_shapes is not None:
        model = _rebuilt(model, input_shapes)
    shapes = [_concrete(_shape(t), batch, "input") for t in model.inputs]
    alias: dict[int, int] = {}
    seen: set[int] = set()  # weights already counted (a layer called twice shares them)
    layers, names = [], set()
    for lname, layer, ins, outs in _nodes(model, alias):
        base, k = lname, 1
        while lname in names:  # a layer called twice: one row per call
            k += 1
            lname = f"{base}#{k}"
        names.add(lname)
        layers.append(_layer(lname, layer, ins, outs, batch, alias, seen))
    return ModelRecord(
        name=name,
        format="keras",
        layers=layers,
        input_shapes=[to_nchw(s) or s for s in shapes],
        input_names=[_tensor_id(t, alias) for t in model.inputs],
        batch=batch,
        dtype=str(model.inputs[0].dtype) if "float" in str(model.inputs[0].dtype) else "float32",
        source=f"Keras {keras.__version__}, {keras.backend.backend()} backend; shapes and weights from the "
        "built model",
        keras_view=True,
    )


def _tensor_id(t: Any, alias: dict[int, int]) -> str:
    """A graph tensor's identity (names repeat in a loaded model; the KerasTensor objects are shared)."""
    return f"keras-tensor-{alias.get(id(t), id(t))}"


def _layer(
    name: str, layer: Any, ins: list[Any], outs: list[Any], batch: int, alias: dict[int, int], seen: set[int]
) -> LayerRecord:
    """One call of a Keras layer: its weights (once per layer), shapes and cost."""
    in_shapes = [[batch, *_shape(t)[1:]] for t in ins]
    out_shapes = [[batch, *_shape(t)[1:]] for t in outs]
    known = all(d is not None for s in in_shapes + out_shapes for d in s)
    record = LayerRecord(
        name,
        type(layer).__name__,
        input_shape=to_nchw(in_shapes[0]) if in_shapes and known else None,  # type: ignore[arg-type]
        output_shape=to_nchw(out_shapes[0]) if out_shapes and known else None,  # type: ignore[arg-type]
        inputs=[_tensor_id(t, alias) for t in ins],
        outputs=[_tensor_id(t, alias) for t in outs],
    )
    _weights(layer, record, seen)
    if not known:
        record.add(f"{record.type} (shape unknown)", None)
        return record
    record.input_bytes = sum(math.prod(s) * _itemsize(t) for s, t in zip(in_shapes, ins, strict=True))  # type: ignore[arg-type]
    record.output_bytes = sum(math.prod(s) * _itemsize(t) for s, t in zip(out_shapes, outs, strict=True))  # type: ignore[arg-type]
    keras_layers.cost(record, layer, in_shapes, out_shapes)  # type: ignore[arg-type]
    return record


def _itemsize(t: Any) -> int:
    import numpy as np

    try:
        return int(np.dtype(str(t.dtype)).itemsize)
    except TypeError:
        return 4


def _weights(layer: Any, record: LayerRecord, seen: set[int]) -> None:
    """Keras' own weights: trainable / non-trainable as Keras says; BN moving statistics as statistics."""
    import numpy as np

    stats = {
        id(w)
        for w in (getattr(layer, "moving_mean", None), getattr(layer, "moving_variance", None))
        if w is not None
    }
    for w in layer.weights:
        n = numel([int(d) for d in w.shape])
        try:
            width = int(np.dtype(str(w.dtype)).itemsize)
        except TypeError:
            width = 4
        if id(w) in seen:
            record.shared_params += n
            continue
        seen.add(id(w))
        if id(w) in stats:
            record.buffers += n
            record.bn_statistics += n
        else:
            record.add_weights(n, n * width, trainable=bool(w.trainable and layer.trainable))


def keras_summary(model: Any, input_shapes: list[tuple[int, ...]] | None = None, *, batch: int = 1) -> Any:
    """The `convwise.profile.Report` of a Keras model object (Keras view: totals = `count_params()`).

    >>> keras = _keras()
    >>> conv = keras.layers.DepthwiseConv2D(3, padding="same")
    >>> model = keras.Sequential([keras.Input((224, 224, 10)), conv])
    >>> report = keras_summary(model)
    >>> report.totals["params"] == model.count_params() == 100, report.rows()[0]["kind"]
    (True, 'depthwise')
    """
    from convwise.formats.report import to_report

    return to_report(read_keras(model, input_shapes=input_shapes, batch=batch))
