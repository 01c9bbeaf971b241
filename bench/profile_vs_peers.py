"""Benchmark: `convwise.profile` vs torchinfo, fvcore, thop, ptflops and FlopCounterMode on MobileNet v1.

Each tool runs in its own fresh process (one per tool, resolution and batch), on the same model
(`convwise.models.build("mobilenet_v1")`, eval mode). Reported per run:

- call s: wall time of the tool's counting call, including importing the tool and making the input
  tensor it needs (convwise needs none: it runs on the meta device); process s: the whole process,
  interpreter start and `import torch` included;
- peak RSS of the process (ru_maxrss), and its ratio to a bare `python -c "import torch"`;
- the MAC-like number each tool prints, its difference from convwise, and the convention behind it
  (derived from convwise's own per-layer columns: BatchNorm/ReLU/pool elements, biases).

The peers live in their own venv (default /tmp/peers-venv: torch==2.13.0 + torchinfo, fvcore, thop,
ptflops installed with --no-deps, so no torchvision) and import convwise from this checkout's `src/`.
A configuration whose real-tensor activations would not fit in the free memory is skipped for the
peers (and says so).

Run:  python bench/profile_vs_peers.py [--peers-python /tmp/peers-venv/bin/python] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("convwise", "FlopCounterMode", "torchinfo", "fvcore", "thop", "ptflops")
PEERS = ("torchinfo", "fvcore", "thop", "ptflops")

CONVENTIONS = {
    "convwise": "multiplications of conv + linear (the paper's Mult-Adds); BN/ReLU/pool in other ops",
    "FlopCounterMode": "FLOPs = 2 × MACs of conv/linear/matmul; halved here",
    "torchinfo": "params × output positions: biases and BN parameters count as MACs",
    "fvcore": "'flops' = MACs + BatchNorm 2/element + adaptive pool 1/input element",
    "thop": "MACs + BatchNorm 4/element + adaptive pool (input + output elements); ReLU 0",
    "ptflops": "MACs + biases + BatchNorm 2/element + ReLU and pool counted twice",
}
#: Each tool's number = convwise MACs + these multiples of components of convwise's own report
#: (bn: BatchNorm output elements, relu: ReLU elements, pool: pool input elements, pool_out: pool
#: output elements, bias: bias additions, bn_params: BatchNorm parameters × batch).
DECOMPOSITION = {
    "convwise": {},
    "FlopCounterMode": {},
    "torchinfo": {"bias": 1, "bn_params": 1},
    "fvcore": {"bn": 2, "pool": 1},
    "thop": {"bn": 4, "pool": 1, "pool_out": 1},
    "ptflops": {"bias": 1, "bn": 2, "relu": 2, "pool": 2},
}
LABELS = {
    "bias": "biases",
    "bn_params": "BN params",
    "bn": "BN elements",
    "relu": "ReLU elements",
    "pool": "pool inputs",
    "pool_out": "pool outputs",
}


# --- worker (runs inside the subprocess) ------------------------------------------------------------------


def worker(tool: str, resolution: int, batch: int) -> dict:
    import resource

    t_import = time.perf_counter()
    import torch

    if tool == "import-torch":  # the baseline: a bare `import torch`
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"tool": tool, "macs": 0, "call_s": 0.0, "setup_s": 0.0, "peak_rss_mb": peak / 1024}
    from convwise.models import build

    model = build("mobilenet_v1").eval()
    shape = (batch, 3, resolution, resolution)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_setup = time.perf_counter() - t_import
    start = time.perf_counter()
    if tool == "convwise":
        from convwise.profile import profile

        report = profile(model, (3, resolution, resolution), batch=batch)
        macs = report.totals["macs"]
        extra = {"status": report.status, "ran_on": report.ran_on}
    elif tool == "FlopCounterMode":
        from torch.utils.flop_counter import FlopCounterMode

        x = torch.randn(shape)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(x)
        macs = counter.get_total_flops() // 2
        extra = {"flops": counter.get_total_flops()}
    elif tool == "torchinfo":
        from torchinfo import summary

        stats = summary(model, input_size=shape, verbose=0, device="cpu")
        macs = int(stats.total_mult_adds)
        extra = {}
    elif tool == "fvcore":
        import logging

        logging.disable(logging.WARNING)
        from fvcore.nn import FlopCountAnalysis

        x = torch.randn(shape)
        analysis = FlopCountAnalysis(model, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = int(analysis.total())
        extra = {}
    elif tool == "thop":
        from thop import profile as thop_profile

        x = torch.randn(shape)
        with torch.no_grad():
            ops, _params = thop_profile(model, inputs=(x,), verbose=False)
        macs = int(ops)
        extra = {}
    elif tool == "ptflops":
        from ptflops import get_model_complexity_info

        def make_input(_res: tuple) -> dict:
            return {"input": torch.randn(shape)}  # nn.Sequential.forward(input)

        ops, _params = get_model_complexity_info(
            model,
            (3, resolution, resolution),
            as_strings=False,
            print_per_layer_stat=False,
            verbose=False,
            backend="pytorch",
            input_constructor=make_input if batch != 1 else None,
        )
        macs = int(ops)
        extra = {}  # with an input_constructor, ptflops reports the whole batch
    else:
        raise SystemExit(f"unknown tool {tool}")
    call = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "tool": tool,
        "resolution": resolution,
        "batch": batch,
        "macs": macs,
        "call_s": call,
        "setup_s": t_setup,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": peak / 1024,
        **extra,
    }


# --- driver ---------------------------------------------------------------------------------------------


def run_one(python: str, tool: str, resolution: int, batch: int, timeout: float) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [python, str(Path(__file__).resolve()), "--worker", tool, str(resolution), str(batch)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {
            "tool": tool,
            "resolution": resolution,
            "batch": batch,
            "error": f"timeout after {timeout:.0f} s",
        }
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"tool": tool, "resolution": resolution, "batch": batch, "error": tail[:120]}
    result = json.loads(lines[-1])
    result["process_s"] = wall
    return result


def peer_activation_gb(resolution: int, batch: int) -> float:
    """Rough real-tensor peak of a MobileNet v1 forward: input + the two largest activations (float32)."""
    half = (resolution // 2) ** 2
    return batch * 4 * (3 * resolution**2 + (32 + 64) * half) / 1e9


def free_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return 8.0


def best(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[-1]
    out = dict(min(ok, key=lambda r: r["call_s"]))
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in ok)
    out["runs"] = len(ok)
    return out


def explain(tool: str, macs: int, parts: dict[str, int]) -> str:
    """The tool's number as convwise MACs + named components of convwise's report, checked exactly."""
    terms = DECOMPOSITION[tool]
    expected = parts["macs"] + sum(k * parts[name] for name, k in terms.items())
    text = "= cw" + "".join(f" + {k}×{LABELS[n]}" if k != 1 else f" + {LABELS[n]}" for n, k in terms.items())
    diff = macs - expected
    return text + (" (exact)" if diff == 0 else f" ({diff:+,} left unexplained)")


def convwise_parts(resolution: int, batch: int) -> dict[str, int]:
    """MACs and the other-op components of convwise's own report (same process as the driver)."""
    import torch  # noqa: F401

    from convwise.models import build
    from convwise.profile import profile

    model = build("mobilenet_v1").eval()
    report = profile(model, (3, resolution, resolution), batch=batch)
    rows = report.rows()
    bn = sum(r["other_ops"] // 2 for r in rows if r["type"] == "BatchNorm2d")
    relu = sum(r["other_ops"] for r in rows if r["type"] == "ReLU")
    pool = sum(r["other_ops"] for r in rows if "Pool" in r["type"])
    pool_out = sum(math.prod(r["output_shape"]) for r in rows if "Pool" in r["type"])
    bias = report.totals["bias_adds"]
    bn_params = sum(r["params"] for r in rows if r["type"] == "BatchNorm2d") * batch
    return {
        "macs": report.totals["macs"],
        "bn": bn,
        "relu": relu,
        "pool": pool,
        "bias": bias,
        "bn_params": bn_params,
        "pool_out": pool_out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "RES", "BATCH"), help=argparse.SUPPRESS)
    parser.add_argument("--peers-python", default="/tmp/peers-venv/bin/python")
    parser.add_argument("--configs", default="224x1,224x32,2048x1,2048x32", help="RESxBATCH,…")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool at 224² (min time is kept)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    parser.add_argument("--replay", metavar="PATH", help="print the tables of a run saved with --json")
    args = parser.parse_args()
    if args.replay:
        replay(args.replay)
        return
    if args.worker:
        tool, res, batch = args.worker
        print(json.dumps(worker(tool, int(res), int(batch))))
        return
    here = sys.executable
    peers_python = args.peers_python if Path(args.peers_python).exists() else None
    tools = [t for t in args.tools.split(",") if t]
    configs = [tuple(int(v) for v in c.split("x")) for c in args.configs.split(",")]
    baseline = best([run_one(here, "import-torch", 224, 1, 120) for _ in range(3)])
    peer_base = (
        best([run_one(peers_python, "import-torch", 224, 1, 120) for _ in range(3)]) if peers_python else None
    )
    print(f"bare `import torch`: peak RSS {baseline['peak_rss_mb']:.0f} MB (main venv)", end="")
    if peer_base:
        print(f", {peer_base['peak_rss_mb']:.0f} MB (peers venv)")
    else:
        print()
    results = []
    for resolution, batch in configs:
        parts = convwise_parts(resolution, batch)
        rows = []
        need = peer_activation_gb(resolution, batch)
        for tool in tools:
            python = here if tool in ("convwise", "FlopCounterMode") else peers_python
            if python is None:
                rows.append({"tool": tool, "error": "peers venv not found"})
                continue
            if tool != "convwise" and need > 0.6 * free_gb():
                rows.append(
                    {
                        "tool": tool,
                        "error": f"skipped: real tensors need ≈{need:.0f} GB, {free_gb():.0f} GB free",
                    }
                )
                continue
            reps = args.repeat if resolution <= 512 else 1
            rows.append(best([run_one(python, tool, resolution, batch, args.timeout) for _ in range(reps)]))
        results.append({"resolution": resolution, "batch": batch, "parts": parts, "rows": rows})
        print_table(resolution, batch, parts, rows, baseline, peer_base)
    if args.json:
        payload = {"baseline": baseline, "peer_baseline": peer_base, "results": results}
        Path(args.json).write_text(json.dumps(payload, indent=2))


def print_table(
    resolution: int, batch: int, parts: dict, rows: list[dict], baseline: dict, peer_base: dict | None
) -> None:
    """One configuration: time, RSS and MACs of every tool, with ratios to convwise."""
    cw = next((r for r in rows if r.get("tool") == "convwise" and "error" not in r), None)
    print(f"\nMobileNet v1, {resolution}×{resolution}, batch {batch}")
    head = (
        f"{'tool':<16}{'call s':>9}{'×cw':>9}{'process s':>11}{'peak RSS MB':>13}{'×torch':>8}"
        f"{'MACs reported':>20}  vs convwise / convention"
    )
    print(head)
    print("-" * len(head) + "-" * 40)
    for r in rows:
        if "error" in r:
            print(f"{r['tool']:<16}{r['error']}")
            continue
        base = baseline if r["tool"] in ("convwise", "FlopCounterMode") else (peer_base or baseline)
        ratio = r["call_s"] / cw["call_s"] if cw else float("nan")
        note = explain(r["tool"], r["macs"], parts)
        print(
            f"{r['tool']:<16}{r['call_s']:>9.3f}{ratio:>9.1f}{r['process_s']:>11.2f}"
            f"{r['peak_rss_mb']:>13.0f}{r['peak_rss_mb'] / base['peak_rss_mb']:>8.2f}"
            f"{r['macs']:>20,}  {note}; {CONVENTIONS[r['tool']]}"
        )


def replay(path: str) -> None:
    """Print the tables of a run saved with --json."""
    data = json.loads(Path(path).read_text())
    baseline, peer_base = data["baseline"], data.get("peer_baseline")
    print(f"bare `import torch`: peak RSS {baseline['peak_rss_mb']:.0f} MB")
    for res in data["results"]:
        print_table(res["resolution"], res["batch"], res["parts"], res["rows"], baseline, peer_base)


if __name__ == "__main__":
    main()
