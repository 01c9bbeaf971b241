"""`convwise export` as a library call: export, quantise, verify against PyTorch, accuracy before/after."""

from __future__ import annotations

import copy
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from convwise.core.errors import ConfigError, config_error
from convwise.machine import int8_saturates
from convwise.models.source import Source, require_input_shape

FORMATS: tuple[str, ...] = ("onnx", "tflite")
SUFFIXES: dict[str, str] = {".onnx": "onnx", ".tflite": "tflite"}
#: fp32 exports must agree with PyTorch to this bound, relative to the largest |logit| (+1).
FP32_TOLERANCE = 1e-4


@dataclass
class EvalData:
    """Real inputs for verification, calibration and accuracy (already normalised, N, C, H, W)."""

    dataset: str
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_calib: torch.Tensor


@dataclass
class ExportReport:
    """What `export_model` wrote and measured."""

    source: str
    model: str
    format: str
    quantize: str | None
    path: str
    bytes: int
    fp32_bytes: int
    input_shape: list[int]
    verify_inputs: str
    max_abs_diff: float
    max_abs_logit: float
    fp32_max_abs_diff: float | None = None
    #: largest spread of PyTorch's outputs across the verification inputs (max - min per output)
    output_spread: float = 0.0
    accuracy: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def informative(self) -> bool:
        """True when the check could fail: PyTorch's outputs vary across the inputs by more than 10x
        the tolerance (else an export that ignored its input would agree as well)."""
        return self.output_spread > 10 * FP32_TOLERANCE * (1.0 + self.max_abs_logit)

    @property
    def ok(self) -> bool:
        """True when the fp32 export agrees with PyTorch within `FP32_TOLERANCE`."""
        diff = self.fp32_max_abs_diff if self.fp32_max_abs_diff is not None else self.max_abs_diff
        return diff <= FP32_TOLERANCE * (1.0 + self.max_abs_logit)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        out = asdict(self)
        out["ok"] = self.ok
        out["informative"] = self.informative
        out["fp32_tolerance"] = FP32_TOLERANCE * (1.0 + self.max_abs_logit)
        return out


def format_for(path: str | Path, fmt: str | None) -> str:
    """The export format: `fmt` if given, else from the suffix of `path`.

    Raises:
        ConfigError: unknown format, or a suffix that contradicts `fmt`.
    """
    suffix = Path(path).suffix.lower()
    if fmt is None:
        if suffix not in SUFFIXES:
            raise config_error(
                "Cannot tell the export format from the suffix of `output`; use .onnx or .tflite.",
                output=str(path),
            )
        return SUFFIXES[suffix]
    if fmt not in FORMATS:
        raise config_error(f"`format` must be one of {', '.join(FORMATS)}.", format=fmt)
    if suffix in SUFFIXES and SUFFIXES[suffix] != fmt:
        raise config_error("The output suffix does not match `format`.", format=fmt, output=str(path))
    return fmt


def load_eval_data(
    src: Source, data_dir: str | Path | None, *, test_subset: int | None, calibration: int
) -> EvalData | None:
    """The checkpoint's data set, normalised with the checkpoint's statistics; None for fresh weights.

    Raises:
        ConfigError: `data_dir` was given but holds no data set (without it, a missing data set gives None).
    """
    dataset = src.info.get("dataset")
    norm = src.info.get("normalization") or {}
    if not dataset or "mean" not in norm or "std" not in norm:
        return None
    from convwise.data import Normalization, load_raw

    try:
        raw = load_raw(str(dataset), data_dir, download=False)
    except ConfigError:
        if data_dir is not None:
            raise
        return None
    normalization = Normalization(float(norm["mean"]), float(norm["std"]))
    test_x, test_y = raw.test_images, raw.test_labels
    if test_subset is not None:
        test_x, test_y = test_x[:test_subset], test_y[:test_subset]
    # calibrate on training images after the validation split (never on test images)
    calib = raw.train_images[-calibration:] if calibration > 0 else raw.train_images[:0]
    return EvalData(str(dataset), normalization.apply(test_x), test_y.clone(), normalization.apply(calib))


def _torch_accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), 500):
            correct += int((model(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum())
    return correct / max(len(x), 1)


def calibrate_batchnorm(model: torch.nn.Module, inputs: torch.Tensor) -> int:
    """Set every BatchNorm's running statistics to those of `model` on `inputs`; returns how many.

    For fresh weights: PyTorch's initial statistics (mean 0, variance 1) let activations shrink layer
    after layer, so a deep net's output hardly depends on its input and a verification proves nothing.
    The model is left in eval mode.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    >>> calibrate_batchnorm(net, torch.randn(8, 1, 4, 4) * 5 + 3), net.training
    (1, False)
    >>> bool(net[1].running_var.ne(1.0).all() and net[1].running_mean.ne(0.0).all())  # not the initial 1, 0
    True
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    model.train()
    with torch.no_grad():
        for i in range(0, len(inputs), 32):
            model(inputs[i : i + 32])
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()
    return len(norms)


def export_model(
    src: Source,
    output: str | Path,
    *,
    fmt: str | None = None,
    quantize: str | None = None,
    data: EvalData | None = None,
    verify_samples: int = 64,
    keep_fp32: bool = False,
) -> ExportReport:
    """Export `src.model` to ONNX or TFLite (optionally int8), verify it and measure accuracy.

    Args:
        src: the model (from `load_source`).
        output: the file to write (.onnx or .tflite).
        fmt: `onnx` or `tflite` (default: from the suffix of `output`).
        quantize: None, `dynamic` or `static` (ONNX only; TFLite offers `dynamic`).
        data: real inputs (test images and labels, calibration images); random inputs otherwise.
        verify_samples: how many inputs the max-abs-difference check uses.
        keep_fp32: when quantising, also keep the fp32 file next to `output` (`NAME.fp32.SUFFIX`).

    Returns:
        The `ExportReport`.

    Raises:
        ConfigError: bad format/mode, an input shape that cannot be found, a model the exporter cannot handle.
        MissingDependencyError: the `export` or `tflite` extra is missing.
    """
    fmt = format_for(output, fmt)
    if quantize is not None and quantize not in (("dynamic", "static") if fmt == "onnx" else ("dynamic",)):
        allowed = "dynamic, static" if fmt == "onnx" else "dynamic"
        raise config_error(f"`quantize` for {fmt} must be one of {allowed}.", quantize=quantize)
    shape = require_input_shape(src)
    output = Path(output)
    model = src.model.eval()
    notes: list[str] = []
    if data is not None:
        x_verify = data.x_test[:verify_samples]
        verify_inputs = f"{len(x_verify)} real {data.dataset} test images"
    else:
        generator = torch.Generator().manual_seed(0)
        x_verify = torch.randn(verify_samples, *shape, generator=generator)
        verify_inputs = f"{verify_samples} random N(0,1) inputs (fresh weights: no data set)"
        if src.checkpoint is None:  # fresh weights: make the output depend on the input (exported so)
            model = copy.deepcopy(model)
            if calibrate_batchnorm(model, x_verify):
                notes.append(
                    "fresh weights: BatchNorm statistics set from the random inputs (exported so), "
                    "so that the output depends on the input and the check can fail"
                )
    with torch.inference_mode():
        reference = model(x_verify)
    max_logit = float(reference.abs().max())
    spread = float((reference.amax(0) - reference.amin(0)).max())

    with tempfile.TemporaryDirectory(prefix="convwise-export-") as tmp:
        fp32_path = (
            output
            if quantize is None
            else (
                output.with_name(f"{output.stem}.fp32{output.suffix}")
                if keep_fp32
                else Path(tmp) / f"fp32{output.suffix}"
            )
        )
        if fmt == "onnx":
            from convwise.export import onnx_io as backend

            backend.export_onnx(model, fp32_path, shape)
            reduced = bool(quantize) and int8_saturates()  # one decision: what quantize uses, what we say
            if quantize == "static":
                if data is None:
                    calib = torch.randn(64, *shape, generator=torch.Generator().manual_seed(1))
                    notes.append("static int8 calibrated on random inputs (no data set): for latency only")
                else:
                    calib = data.x_calib
                backend.quantize(fp32_path, output, "static", calibration=calib, reduce_range=reduced)
            elif quantize == "dynamic":
                backend.quantize(fp32_path, output, "dynamic", reduce_range=reduced)
            if reduced:
                notes.append(
                    "int8 weights use 7 bits (reduce_range): this x86 CPU has no VNNI, where onnxruntime's"
                    " int8 kernels saturate with 8-bit weights (docs/deploy.md)"
                )
        else:
            from convwise.export import tflite as backend  # type: ignore[no-redef]

            backend.export_tflite(model, fp32_path, shape)
            if quantize == "dynamic":
                backend.export_tflite(model, output, shape, quantize="dynamic")
            notes.append("TFLite graph has a fixed batch size of 1")
        fp32_diff = backend.max_abs_diff(fp32_path, model, x_verify)
        diff = fp32_diff if quantize is None else backend.max_abs_diff(output, model, x_verify)
        fp32_bytes = fp32_path.stat().st_size
        accuracy: dict[str, float] = {}
        if data is not None:
            accuracy["pytorch"] = _torch_accuracy(model, data.x_test, data.y_test)
            if fmt == "onnx":
                accuracy[f"{fmt}-fp32"] = backend.accuracy(
                    backend.session(fp32_path), data.x_test, data.y_test
                )
                if quantize:
                    accuracy[f"{fmt}-int8-{quantize}"] = backend.accuracy(
                        backend.session(output), data.x_test, data.y_test
                    )
            else:
                accuracy[f"{fmt}-fp32"] = backend.accuracy(
                    backend.interpreter(fp32_path), data.x_test, data.y_test
                )
                if quantize:
                    accuracy[f"{fmt}-int8-{quantize}"] = backend.accuracy(
                        backend.interpreter(output), data.x_test, data.y_test
                    )
            notes.append(f"accuracy on {len(data.y_test)} {data.dataset} test images")
    report = ExportReport(
        source=str(src.checkpoint) if src.checkpoint else src.name,
        model=src.name,
        format=fmt,
        quantize=quantize,
        path=str(output),
        bytes=output.stat().st_size,
        fp32_bytes=fp32_bytes,
        input_shape=list(shape),
        verify_inputs=verify_inputs,
        max_abs_diff=diff,
        max_abs_logit=max_logit,
        fp32_max_abs_diff=fp32_diff if quantize else None,
        output_spread=spread,
        accuracy=accuracy,
        notes=notes,
    )
    if not report.informative:
        report.notes.append(
            f"the check proves nothing: PyTorch's outputs vary by at most {spread:.3g} across the "
            f"{len(x_verify)} inputs (the output hardly depends on the input), so an export that ignored "
            "its input would agree as well"
        )
    return report
