# ruff: noqa: E501  (the pinned one-line error messages are longer than a source line)
"""`convwise layer` and `convwise compare`: tables, --explain, --json (SPEC §3), bad input, no torch.

Numbers are checked against SPEC §4's published worked examples, not against convwise's own output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from convwise.cli.main import main

COUNT_KEYS = (
    "params",
    "trainable_params",
    "non_trainable_params",
    "mults",
    "adds",
    "bias_adds",
    "macs",
    "flops",
)
SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 4, "maxItems": 4}
LAYER_SCHEMA = {
    "type": "object",
    "required": ["kind", "input_shape", "output_shape", *COUNT_KEYS],
    "properties": {
        "kind": {"enum": ["standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable"]},
        "input_shape": SHAPE,
        "output_shape": SHAPE,
        **{k: {"type": "integer", "minimum": 0} for k in COUNT_KEYS},
    },
}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def layer_json(capsys, *argv: str) -> dict:
    code, out, err = run_cli(capsys, "layer", *argv, "--json")
    assert code == 0, err
    report = json.loads(out)
    jsonschema.validate(report, LAYER_SCHEMA)
    assert report["flops"] == report["mults"] + report["adds"]
    assert report["macs"] == report["mults"]
    return report


# ------------------------------------------------------------------ layer


@pytest.mark.parametrize(
    ("argv", "shape", "params", "mults", "adds", "bias_adds"),
    [
        (
            ["standard", "--input", "4x5x5", "--out", "10", "--kernel", "3"],
            [1, 10, 3, 3],
            370,
            3240,
            3240,
            90,
        ),
        (
            ["standard", "--input", "1x34x13", "--out", "128", "--kernel", "10x4", "--stride", "3x2"],
            [1, 128, 9, 5],
            5248,
            230_400,
            224_640 + 5_760,
            5_760,
        ),
        (
            ["depthwise", "--input", "128x9x5", "--kernel", "3"],
            [1, 128, 7, 3],
            1280,
            24_192,
            21_504 + 2_688,
            2_688,
        ),
        (
            ["pointwise", "--input", "128x7x3", "--out", "128"],
            [1, 128, 7, 3],
            16_512,
            344_064,
            344_064,
            2_688,
        ),
        (
            ["grouped", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2"],
            [1, 10, 3, 3],
            190,
            1620,
            1620,
            90,
        ),
        (
            ["separable", "--input", "4x5x5", "--out", "10", "--kernel", "3"],
            [1, 10, 3, 3],
            90,
            684,
            None,
            None,
        ),
        (
            ["grouped-separable", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2"],
            [1, 10, 3, 3],
            70,
            504,
            None,
            None,
        ),
        (
            ["standard", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--dilation", "2"],
            [1, 10, 1, 1],
            370,
            360,
            360,
            10,
        ),
        (
            [
                "separable",
                "--input",
                "10x224x224",
                "--out",
                "32",
                "--kernel",
                "3",
                "--padding",
                "same",
                "--bias-policy",
                "keras",
            ],
            [1, 32, 224, 224],
            442,
            None,
            None,
            None,
        ),
    ],
)
def test_layer_json_matches_spec_examples(capsys, argv, shape, params, mults, adds, bias_adds):
    report = layer_json(capsys, *argv)
    assert report["output_shape"] == shape
    assert report["params"] == report["trainable_params"] == params
    assert report["non_trainable_params"] == 0
    for key, value in (("mults", mults), ("adds", adds), ("bias_adds", bias_adds)):
        if value is not None:
            assert report[key] == value, key


def test_layer_no_bias_and_batch_and_dtype(capsys):
    one = layer_json(
        capsys,
        "standard",
        "--input",
        "1x34x13",
        "--out",
        "128",
        "--kernel",
        "10x4",
        "--stride",
        "3x2",
        "--no-bias",
    )
    assert one["params"] == 5_120 and one["bias_adds"] == 0
    batch = layer_json(
        capsys,
        "standard",
        "--input",
        "1x34x13",
        "--out",
        "128",
        "--kernel",
        "10x4",
        "--stride",
        "3x2",
        "--batch",
        "3",
    )
    assert batch["input_shape"] == [3, 1, 34, 13] and batch["output_shape"] == [3, 128, 9, 5]
    assert batch["mults"] == 3 * 230_400 and batch["params"] == 5_248
    half = layer_json(
        capsys, "standard", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--dtype", "float16"
    )
    assert (
        half["weight_bytes"] == 370 * 2 and half["input_bytes"] == 100 * 2 and half["output_bytes"] == 90 * 2
    )


def test_channels_last_reads_hwc_and_names_axes(capsys):
    nchw = layer_json(
        capsys, "separable", "--input", "4x7x5", "--out", "10", "--kernel", "3", "--padding", "same"
    )
    nhwc = layer_json(
        capsys,
        "separable",
        "--input",
        "7x5x4",
        "--channels-last",
        "--out",
        "10",
        "--kernel",
        "3",
        "--padding",
        "same",
    )
    assert nchw == nhwc
    assert nchw["input_shape"] == [1, 4, 7, 5]  # JSON shapes are always N, C, H, W
    code, out, _ = run_cli(
        capsys, "layer", "standard", "--input", "7x5x4", "--channels-last", "--out", "10", "--kernel", "3"
    )
    assert code == 0
    assert "N×H×W×C 1×7×5×4" in out and "N×H×W×C 1×5×3×10" in out


def test_layer_table_names_axes_and_shows_counts(capsys):
    code, out, _ = run_cli(capsys, "layer", "separable", "--input", "4x5x5", "--out", "10", "--kernel", "3")
    assert code == 0
    assert "input N×C×H×W 1×4×5×5" in out and "output N×C×H×W 1×10×3×3" in out
    for text in ("depthwise", "pointwise", "324", "360", "684", "90", "1,368"):
        assert text in out


def test_layer_explain_derives_every_number(capsys):
    code, out, _ = run_cli(
        capsys, "layer", "standard", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--explain"
    )
    assert code == 0
    for line in (
        "output height = floor((H + pad − d·(k−1) − 1)/s) + 1 = floor((5 + 0 − 1·(3−1) − 1)/1) + 1 = 3",
        "weight params = Cout·Cin·kh·kw = 10·4·3·3 = 360",
        "multiplications = Cout·Ho·Wo·Cin·kh·kw = 10·3·3·4·3·3 = 3,240",
        "accumulation additions = Cout·Ho·Wo·(Cin·kh·kw − 1) = 10·3·3·(4·3·3 − 1) = 3,150",
        "bias additions = Cout·Ho·Wo = 10·3·3 = 90",
        "FLOPs = multiplications + accumulation additions + bias additions = 3,240 + 3,150 + 90 = 6,480",
    ):
        assert line in out, line
    report = layer_json(capsys, "standard", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--explain")
    mults = [e for e in report["explanation"] if e["quantity"] == "multiplications"]
    assert mults[0]["value"] == 3240 and mults[0]["substituted"] == "10·3·3·4·3·3"


def test_same_padding_at_stride_2_explained(capsys):
    code, out, _ = run_cli(
        capsys,
        "layer",
        "standard",
        "--input",
        "1x5x6",
        "--out",
        "1",
        "--kernel",
        "3",
        "--stride",
        "2",
        "--padding",
        "same",
        "--explain",
    )
    assert code == 0
    assert "output N×C×H×W 1×1×3×3" in out
    assert "same padding (height, 1 before + 1 after) = max((ceil(H/s) − 1)·s + d·(k−1) + 1 − H, 0)" in out
    assert "same padding (width, 0 before + 1 after)" in out  # the odd pixel goes right, as in TensorFlow


# ------------------------------------------------------------------ compare


def test_compare_json(capsys):
    code, out, err = run_cli(
        capsys, "compare", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["input_shape"] == [1, 4, 5, 5]
    rows = {r["variant"].split(" (")[0]: r for r in data["variants"]}
    assert set(rows) == {"standard", "grouped", "depthwise", "pointwise", "separable", "grouped-separable"}
    for row in rows.values():
        jsonschema.validate(row, LAYER_SCHEMA)
    expected = {
        "standard": (370, 3240),
        "grouped": (190, 1620),
        "separable": (90, 684),
        "grouped-separable": (70, 504),
    }
    for name, (params, mults) in expected.items():
        assert (rows[name]["params"], rows[name]["mults"]) == (params, mults), name
        assert rows[name]["output_shape"] == [1, 10, 3, 3]
        assert rows[name]["ratio_to_standard"]["mults"] == pytest.approx(mults / 3240)
    assert rows["depthwise"]["mults"] == 324  # the separable's first stage (SPEC §4 erratum: not 320)
    assert data["theory_separable_ratio"] == pytest.approx(1 / 10 + 1 / 9)
    assert data["separable_mults_ratio"] == pytest.approx(684 / 3240)
    assert data["theory_holds"] is True


def test_compare_table_and_explain_read_well(capsys):
    code, out, _ = run_cli(
        capsys, "compare", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "2", "--explain"
    )
    assert code == 0
    for text in (
        "input N×C×H×W 1×4×5×5",
        "output N×C×H×W",
        "grouped (g=2)",
        "grouped-separable (g=2)",
        "1/Cout + 1/(kh·kw) = 1/10 + 1/(3·3) = 0.2111",
        "measured 0.2111 (exactly equal)",
        "multiplications = mults(depthwise) + mults(pointwise) = 324 + 360 = 684",
        "params = params(depthwise) + params(pointwise) = 40 + 50 = 90",
        "multiplications ratio = multiplications / multiplications(standard) = 684 / 3,240 = 0.2111",
        "depthwise share = mults(depthwise) / mults(standard)",
        "324 / 3,240 = 1/10 = 0.1",
    ):
        assert text in out, text
    assert "Traceback" not in out


def test_compare_channels_last_and_batch(capsys):
    code, out, _ = run_cli(
        capsys,
        "compare",
        "--input",
        "5x5x4",
        "--channels-last",
        "--out",
        "10",
        "--kernel",
        "3",
        "--batch",
        "2",
    )
    assert code == 0
    assert "N×H×W×C 2×5×5×4" in out and "2×3×3×10" in out and "batch of 2" in out


# ------------------------------------------------------------------ bad input

BAD = [
    (["layer", "foo", "--input", "4x5x5"], "KIND must be one of standard, grouped, depthwise, pointwise, separable, grouped-separable. Received: kind='foo'."),
    (["layer", "standard", "--out", "3", "--kernel", "3"], "`--input` is required: the input shape as CxHxW, e.g. 3x224x224. Received: input=None."),
    (["layer", "standard", "--input", "4x5", "--out", "3", "--kernel", "3"], "`--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. Received: input='4x5'."),
    (["layer", "standard", "--input", "4x5x-5", "--out", "3", "--kernel", "3"], "`--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. Received: input='4x5x-5'."),
    (["layer", "standard", "--input", "4x0x5", "--out", "3", "--kernel", "3"], "`--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. Received: input='4x0x5'."),
    (["layer", "standard", "--input", "4x5.5x5", "--out", "3", "--kernel", "3"], "`--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. Received: input='4x5.5x5'."),
    (["layer", "standard", "--input", "5x5", "--channels-last", "--out", "3", "--kernel", "3"], "`--input` must be HxWxC: three positive integers separated by 'x', e.g. 224x224x3. Received: input='5x5'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "0", "--kernel", "3"], "`--out` must be a positive integer. Received: out='0'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "2.5", "--kernel", "3"], "`--out` must be a positive integer. Received: out='2.5'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "0"], "`--kernel` must be a positive integer or HxW of positive integers (e.g. 3 or 10x4). Received: kernel='0'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "3", "--stride", "true"], "`--stride` must be a positive integer or HxW of positive integers (e.g. 3 or 10x4). Received: stride='true'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "3", "--dilation", "0"], "`--dilation` must be a positive integer or HxW of positive integers (e.g. 3 or 10x4). Received: dilation='0'."),
    (["layer", "grouped", "--input", "30x5x5", "--out", "8", "--kernel", "3", "--groups", "4"], "`groups` must divide `in_channels`. Received: in_channels=30, groups=4."),
    (["layer", "grouped", "--input", "8x5x5", "--out", "30", "--kernel", "3", "--groups", "4"], "`groups` must divide `out_channels`. Received: out_channels=30, groups=4."),
    (["layer", "depthwise", "--input", "4x5x5", "--kernel", "3", "--multiplier", "0"], "`--multiplier` must be a positive integer. Received: multiplier='0'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "3", "--padding", "-1"], "`--padding` must be 'valid', 'same', a non-negative integer, HxW, or top,bottom,left,right. Received: padding='-1'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "3", "--padding", "full"], "`--padding` must be 'valid', 'same', a non-negative integer, HxW, or top,bottom,left,right. Received: padding='full'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3", "--kernel", "3", "--padding", "1,2"], "`--padding` must be 'valid', 'same', a non-negative integer, HxW, or top,bottom,left,right. Received: padding='1,2'."),
    (["layer", "standard", "--input", "1x5x5", "--out", "1", "--kernel", "7"], "The kernel (effective size d·(k−1)+1 = 7) is larger than the padded input along the height (5 + padding 0 = 5). Received: kernel_size=(7, 7), dilation=(1, 1), input_size=(5, 5), padding='valid'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "3"], "`--kernel` is required for a standard convolution. Received: kernel=None."),
    (["layer", "separable", "--input", "4x5x5", "--kernel", "3"], "`--out` is required for a separable convolution. Received: out=None."),
    (["layer", "grouped", "--input", "4x5x5", "--out", "4", "--kernel", "3"], "`--groups` is required for a grouped convolution. Received: groups=None."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--groups", "2"], "`--groups` does not apply to a standard convolution. Received: groups='2'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--multiplier", "2"], "`--multiplier` does not apply to a standard convolution. Received: multiplier='2'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--bias-policy", "keras"], "`--bias-policy` applies to separable kinds only, not standard (use --no-bias). Received: bias_policy='keras'."),
    (["layer", "separable", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--bias-policy", "tf"], "`bias_policy` must be one of pytorch, keras, none. Received: bias_policy='tf'."),
    (["layer", "separable", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--no-bias", "--bias-policy", "keras"], "`--no-bias` contradicts `--bias-policy`. Received: bias_policy='keras'."),
    (["layer", "depthwise", "--input", "4x5x5", "--out", "10", "--kernel", "3"], "A depthwise convolution's `out_channels` must be a multiple of `in_channels` (out_channels = in_channels·depth_multiplier). Received: in_channels=4, out_channels=10."),
    (["layer", "pointwise", "--input", "4x5x5", "--out", "4", "--kernel", "3"], "A pointwise convolution has a 1x1 kernel. Received: kernel_size=3."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--dtype", "float8"], "`--dtype` must be one of float64, float32, float16, bfloat16, int32, int8, uint8. Received: dtype='float8'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--batch", "0"], "`--batch` must be a positive integer. Received: batch='0'."),
    (["layer", "standard", "--input", "4x5x5", "--out", "4", "--kernel", "3", "--padding", "1", "--padding-mode", "mirror"], "`padding_mode` must be one of zeros, reflect, replicate, circular. Received: padding_mode='mirror'."),
    (["compare", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--groups", "1"], "`groups` for the grouped variants must be at least 2. Received: groups=1."),
    (["compare", "--input", "4x5x5", "--kernel", "3"], "`--out` is required: the output channels to compare the variants for. Received: out=None."),
    (["compare", "--input", "4x5x5", "--out", "10"], "`--kernel` is required: the kernel size of the spatial convolutions. Received: kernel=None."),
    (["compare", "--input", "4x5x5x1", "--out", "10", "--kernel", "3"], "`--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. Received: input='4x5x5x1'."),
    (["compare", "--input", "4x5x5", "--out", "10", "--kernel", "7"], "The kernel (effective size d·(k−1)+1 = 7) is larger than the padded input along the height (5 + padding 0 = 5). Received: kernel_size=(7, 7), dilation=(1, 1), input_size=(5, 5), padding='valid'."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message"), BAD, ids=[" ".join(a[:2]) + f" #{i}" for i, (a, _) in enumerate(BAD)]
)
def test_bad_input_one_line_exit_2(capsys, argv, message):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err == f"convwise: error: {message}\n"


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["layer", "standard", "--input", "4x5x5", "--bogus"])
    assert info.value.code == 2


# ------------------------------------------------------------------ subprocesses: no torch, real exit codes

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def test_layer_and_compare_never_import_torch():
    code = (
        "import sys\n"
        "from convwise.cli.main import main\n"
        "assert main(['layer', 'separable', '--input', '4x5x5', '--out', '10', '--kernel', '3', '--explain']) == 0\n"
        "assert main(['compare', '--input', '4x5x5', '--out', '10', '--kernel', '3', '--json']) == 0\n"
        "heavy = sorted(m for m in ('torch', 'numpy') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stderr


def test_console_script_bad_kind_prints_one_line():
    exe = shutil.which("convwise") or str(Path(sys.executable).with_name("convwise"))
    proc = subprocess.run(
        [exe, "layer", "foo", "--input", "4x5x5"], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("convwise: error: KIND must be one of")
    assert "Traceback" not in proc.stderr


def test_module_entry_bad_input_exit_2():
    proc = subprocess.run(
        [sys.executable, "-m", "convwise", "compare", "--input", "4x5", "--out", "10", "--kernel", "3"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "convwise: error: `--input` must be CxHxW: three positive integers separated by 'x', e.g. 3x224x224. "
        "Received: input='4x5'.\n"
    )


def test_compare_json_batch_scales_operations_not_params(capsys):
    code, out, _ = run_cli(
        capsys, "compare", "--input", "4x5x5", "--out", "10", "--kernel", "3", "--batch", "3", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["input_shape"] == [3, 4, 5, 5] and data["output_shape"] == [3, 10, 3, 3]
    rows = {r["variant"].split(" (")[0]: r for r in data["variants"]}
    assert (rows["separable"]["params"], rows["separable"]["mults"]) == (90, 3 * 684)
    assert rows["separable"]["ratio_to_standard"]["mults"] == pytest.approx(684 / 3240)
