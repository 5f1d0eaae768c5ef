#!/usr/bin/python3
"""Spire against PyTorch on the same machine, in the same run.

Default: for each small model and batch, `spire bench` (median host wall time
and device time from Vulkan timestamps) and the same model in PyTorch (eval,
no_grad, median wall time), printed as a Markdown table with the ratio.

--zoo: the ImageNet-sized zoo at batch 1, read against the device's measured
peak (`spire peak`): compile time, bundle load time (and the driver's share
of it), device time, PyTorch time, share of peak, and the activation arena
against the liveness bound of `spire summary`; then batch 8 against batch 1
per image, and ResNet-18 layer by layer (achieved GFLOP/s from
`spire bench --profile`), also drawn as a PNG with --plot.

--torchvision NAME...: torchvision builders through the converter (random
weights), at batch 1 and 8, against the same module in PyTorch.

The models are the conformance references in tests/e2e/conformance.py.

    /usr/bin/python3 bench/bench.py [--spire build/bin/spire] [--iters 20]
    /usr/bin/python3 bench/bench.py --zoo --iters 5 --plot docs/resnet18_layers.png
    /usr/bin/python3 bench/bench.py --torchvision mobilenet_v3_large efficientnet_b0
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from conformance import MODELS, randomize  # noqa: E402
from fx_test import case  # noqa: E402
from fx_to_spec import module_to_spec  # noqa: E402

DEFAULT_RUNS = [("small_cnn", 1), ("small_cnn", 8), ("resblocks", 1), ("resblocks", 8),
                ("mlp", 1), ("mlp", 8), ("transformer_block", 1), ("transformer_block", 8)]
ZOO = ["resnet18", "resnet50", "mobilenet_v2", "vgg11_bn", "vit_tiny"]
BATCH_SCALING = ["resnet18", "mobilenet_v2"]
MIB = 2 ** 20


def torch_median_ms(module, feeds, iters):
    with torch.no_grad():
        for _ in range(3):  # warm-up
            module(**feeds)
        times = []
        for _ in range(iters):
            t0 = time.perf_counter()
            module(**feeds)
            times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def torch_ms(name, batch, iters):
    _, factory, inputs, _ = MODELS[name]
    module = randomize(factory(), seed=0)
    feeds = {k: torch.randn(batch, *shape) for k, shape in inputs.items()}
    return torch_median_ms(module, feeds, iters)


def run(*args):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True,
                          text=True).stdout


def number(pattern, text):
    return float(re.search(pattern, text).group(1))


class Spire:
    def __init__(self, binary, tmp):
        self.binary, self.tmp = binary, tmp

    def compile(self, name):
        """Compiles a model once; returns (bundle, seconds, arena bytes per sample)."""
        spec, _, _, compile_args = MODELS[name]
        bundle = os.path.join(self.tmp, f"{name}.spire")
        t0 = time.perf_counter()
        out = subprocess.run([self.binary, "compile", os.path.join(ROOT, spec), "-o", bundle]
                             + compile_args, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        arena = number(r"activation arena (\d+) bytes per sample", out.stdout + out.stderr)
        return bundle, seconds, arena

    def bench(self, bundle, batch, iters, profile=False):
        # Loads stay cold, comparable with earlier sittings: no pipeline cache
        # (on drivers that fill one, a warm load would not compare).
        out = subprocess.run([str(a) for a in (self.binary, "bench", bundle, "--batch", batch,
                                               "--iters", iters, *(["--profile"] if profile else []))],
                             check=True, capture_output=True, text=True,
                             env=dict(os.environ, SPIRE_PIPELINE_CACHE="off")).stdout
        result = {
            "load": number(r"load\s+([\d.]+) ms", out),
            "pipelines": number(r"load\s+[\d.]+ ms \(([\d.]+) ms", out),
            "first": number(r"first\s+([\d.]+) ms", out),
            "host": number(r"host\s+min [\d.]+ ms\s+median ([\d.]+) ms", out),
            "device": number(r"device min [\d.]+ ms\s+median ([\d.]+) ms", out),
            "device_min": number(r"device min ([\d.]+) ms", out),
        }
        result["layers"] = [(m.group(2), float(m.group(1)))
                            for m in re.finditer(r"^\s+([\d.]+) ms\s+(\S+)$", out, re.M)]
        return result

    def summary(self, name):
        spec, _, _, compile_args = MODELS[name]
        return json.loads(run(self.binary, "summary", "--json", os.path.join(ROOT, spec),
                              *compile_args))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def torch_blas():
    """The BLAS library PyTorch's matmuls and 1x1 convolutions fall back to.
    Debian's torch links libblas.so.3, which Debian's alternatives resolve to
    the reference BLAS (about 6x slower on MobileNetV2) unless OpenBLAS is
    installed (scripts/setup.sh --bench): the library mapped in this process
    says which."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted({os.path.realpath(p) for p in paths})) or "none mapped"


def header(spire, iters):
    torch.set_num_threads(os.cpu_count())  # both sides get every core
    devices = run(spire, "devices").strip()
    print(f"date: {time.strftime('%Y-%m-%d')}, machine: {platform.machine()}, "
          f"{cpu_name()}, {os.cpu_count()} cores; PyTorch {torch.__version__} "
          f"with {torch.get_num_threads()} threads "
          f"({torch.__config__.parallel_info().splitlines()[-1].strip()}), "
          f"BLAS {torch_blas()}; Vulkan device: {devices}; medians of {iters} runs")


def small_models(spire, iters):
    print()
    print("| model | batch | Spire host ms | Spire device ms | PyTorch ms | Spire / PyTorch |")
    print("|---|---|---|---|---|---|")
    for name, batch in DEFAULT_RUNS:
        bundle = spire.compile(name)[0]
        b = spire.bench(bundle, batch, iters)
        reference = torch_ms(name, batch, iters)
        print(f"| {name} | {batch} | {b['host']:.2f} | {b['device']:.2f} | {reference:.2f} | "
              f"{b['host'] / reference:.1f}x |", flush=True)


def torchvision_models(spire, names, iters):
    """Each builder converted (spec only: `spire compile` seeds the weights,
    which the timing does not depend on), at batch 1 and 8."""
    print()
    print("| model | batch | Spire host ms | Spire device ms | PyTorch ms | Spire / PyTorch |")
    print("|---|---|---|---|---|---|")
    for name in names:
        factory, inputs = case(name)
        module = randomize(factory(), seed=0)
        spec = os.path.join(spire.tmp, f"{name}.yaml")
        with open(spec, "w") as f:
            f.write(module_to_spec(module, inputs, name)[0])
        bundle = os.path.join(spire.tmp, f"{name}.spire")
        run(spire.binary, "compile", spec, "-o", bundle)
        for batch in (1, 8):
            b = spire.bench(bundle, batch, iters)
            feeds = {k: torch.randn(batch, *shape[1:]) for k, shape in inputs.items()}
            # forward's argument is positional, whatever the spec calls it.
            reference = torch_median_ms(lambda **f: module(*f.values()), feeds, iters)
            print(f"| {name} | {batch} | {b['host']:.2f} | {b['device']:.2f} | {reference:.2f} | "
                  f"{b['host'] / reference:.1f}x |", flush=True)


def layer_rows(summary, layers, peak):
    """(label, MFLOPs, ms, GFLOP/s, % of peak) per profiled label: the FLOPs of
    every spec layer fused into the dispatches that carry it."""
    flops = {layer["name"]: layer["flops"] or 0 for layer in summary["layers"]}
    totals = {}
    for label, ms in layers:
        totals[label] = totals.get(label, 0.0) + ms  # attention: several dispatches
    rows = []
    for label, ms in totals.items():
        work = sum(flops.get(part, 0) for part in label.split("+"))
        rate = work / (ms * 1e6)
        rows.append((label, work / 1e6, ms, rate, 100 * rate / peak))
    return rows


def plot(rows, peak, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in rows if r[1] >= 10]  # the layers that carry the work
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.bar(range(len(rows)), [r[4] for r in rows], color="#3b6ea8")
    ax.axhline(40, color="#c0392b", linestyle="--", linewidth=1, label="target: 40% of peak")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r[0].split("+")[0] for r in rows], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(f"% of measured device peak ({peak:.1f} GFLOP/s)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def zoo(spire, iters, plot_path):
    peak_line = run(spire.binary, "peak", "--iters", 5).strip()
    peak = number(r"([\d.]+) GFLOP/s", peak_line)
    print(f"device peak (`spire peak`): {peak_line}")
    print()
    print("| model | params | GFLOPs | compile s | load ms (driver pipelines) | Spire device ms (min) | "
          "PyTorch ms | Spire / PyTorch | % of device peak | arena MiB / liveness bound MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    profiles = {}
    bundles = {}
    for name in ZOO:
        bundle, seconds, arena = spire.compile(name)
        bundles[name] = bundle
        summary = spire.summary(name)
        b = spire.bench(bundle, 1, iters, profile=name == "resnet18")
        profiles[name] = (summary, b["layers"])
        reference = torch_ms(name, 1, iters)
        achieved = summary["flops"] / (b["device"] * 1e6)
        bound = summary["peak_activation_bytes"]
        print(f"| {name} | {summary['params'] / 1e6:.2f}M | {summary['flops'] / 1e9:.2f} | "
              f"{seconds:.2f} | {b['load']:.0f} ({b['pipelines']:.0f}) | "
              f"{b['device']:.1f} ({b['device_min']:.1f}) | "
              f"{reference:.1f} | {b['device'] / reference:.1f}x | {100 * achieved / peak:.1f}% | "
              f"{arena / MIB:.2f} / {bound / MIB:.2f} = {arena / bound:.2f} |", flush=True)

    print()
    print("| model | batch 1 ms | batch 8 ms per image | per-image speed-up | "
          "PyTorch batch 8 ms per image |")
    print("|---|---|---|---|---|")
    for name in BATCH_SCALING:
        one = spire.bench(bundles[name], 1, iters)["device"]
        eight = spire.bench(bundles[name], 8, max(2, iters // 2))["device"] / 8
        reference = torch_ms(name, 8, max(2, iters // 2)) / 8
        print(f"| {name} | {one:.1f} | {eight:.1f} | {one / eight:.2f}x | {reference:.1f} |",
              flush=True)

    summary, layers = profiles["resnet18"]
    rows = layer_rows(summary, layers, peak)
    print()
    print("ResNet-18 by dispatch (median device time of each over the runs):")
    print()
    print("| layer | MFLOPs | ms | GFLOP/s | % of peak |")
    print("|---|---|---|---|---|")
    for label, mflops, ms, rate, share in rows:
        print(f"| {label} | {mflops:.1f} | {ms:.2f} | {rate:.1f} | {share:.1f}% |")
    if plot_path:
        plot(rows, peak, plot_path, f"ResNet-18 (batch 1) per layer on {peak_line.split(':')[0]}, "
                                    f"{time.strftime('%Y-%m-%d')}")
        print(f"\nplot: {plot_path}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", default=os.path.join(ROOT, "build", "bin", "spire"))
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--zoo", action="store_true",
                        help="the ImageNet-sized zoo, batch scaling and ResNet-18 per layer")
    parser.add_argument("--plot", help="with --zoo: write ResNet-18's per-layer efficiency here (PNG)")
    parser.add_argument("--torchvision", nargs="+", metavar="NAME",
                        help="these torchvision builders, through the converter")
    args = parser.parse_args()
    header(args.spire, args.iters)
    with tempfile.TemporaryDirectory() as tmp:
        spire = Spire(args.spire, tmp)
        if args.zoo:
            zoo(spire, args.iters, args.plot)
        elif args.torchvision:
            torchvision_models(spire, args.torchvision, args.iters)
        else:
            small_models(spire, args.iters)


if __name__ == "__main__":
    main()
