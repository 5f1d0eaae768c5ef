#!/usr/bin/python3
"""Spire against PyTorch on the same machine, in the same run.

For each model and batch: `spire bench` (median host wall time and device
time from Vulkan timestamps) and the same model in PyTorch (eval, no_grad,
median wall time), printed as a Markdown table with the ratio. The models are
the conformance references in tests/e2e/conformance.py.

    /usr/bin/python3 bench/bench.py --spire build/bin/spire [--iters 20]
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

DEFAULT_RUNS = [("small_cnn", 1), ("small_cnn", 8), ("resblocks", 1), ("resblocks", 8),
                ("mlp", 1), ("mlp", 8), ("transformer_block", 1), ("transformer_block", 8)]
ZOO_RUNS = [("resnet18", 1), ("resnet50", 1), ("mobilenet_v2", 1), ("vgg11_bn", 1),
            ("vit_tiny", 1)]


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


def spire_median_ms(spire, bundle, batch, iters):
    out = subprocess.run([spire, "bench", bundle, "--batch", str(batch), "--iters", str(iters)],
                         check=True, capture_output=True, text=True).stdout
    host = float(re.search(r"host\s+min [\d.]+ ms\s+median ([\d.]+) ms", out).group(1))
    device = float(re.search(r"device min [\d.]+ ms\s+median ([\d.]+) ms", out).group(1))
    return host, device


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", default=os.path.join(ROOT, "build", "bin", "spire"))
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--zoo", action="store_true",
                        help="the ImageNet-sized zoo at batch 1, with summary columns")
    args = parser.parse_args()
    # Both sides get every core: lavapipe uses one thread per core.
    torch.set_num_threads(os.cpu_count())

    devices = subprocess.run([args.spire, "devices"], capture_output=True, text=True).stdout
    peak_line = subprocess.run([args.spire, "peak", "--iters", "5"], check=True,
                               capture_output=True, text=True).stdout.strip()
    peak = float(re.search(r"([\d.]+) GFLOP/s", peak_line).group(1))
    print(f"date: {time.strftime('%Y-%m-%d')}, machine: {platform.machine()}, "
          f"{os.cpu_count()} cores; PyTorch {torch.__version__} with {torch.get_num_threads()} "
          f"threads; Vulkan device: {devices.strip()}")
    print(f"device peak (`spire peak`): {peak_line}")
    print()
    extra = " params | GFLOPs | peak activations MiB |" if args.zoo else ""
    eff = " % of device peak |" if args.zoo else ""
    print(f"| model | batch |{extra} Spire host ms | Spire device ms | PyTorch ms | Spire / PyTorch |{eff}")
    print("|---|---|" + ("---|---|---|" if args.zoo else "") + "---|---|---|---|"
          + ("---|" if args.zoo else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for name, batch in ZOO_RUNS if args.zoo else DEFAULT_RUNS:
            spec, factory, inputs, compile_args = MODELS[name]
            bundle = os.path.join(tmp, f"{name}.spire")
            if not os.path.exists(bundle):
                subprocess.run([args.spire, "compile", os.path.join(ROOT, spec), "-o", bundle]
                               + compile_args, check=True, capture_output=True)
            host, device = spire_median_ms(args.spire, bundle, batch, args.iters)
            module = randomize(factory(), seed=0)
            feeds = {k: torch.randn(batch, *shape) for k, shape in inputs.items()}
            reference = torch_median_ms(module, feeds, args.iters)
            columns = ""
            if args.zoo:
                summary = json.loads(subprocess.run(
                    [args.spire, "summary", "--json", os.path.join(ROOT, spec)] + compile_args,
                    check=True, capture_output=True, text=True).stdout)
                columns = (f" {summary['params'] / 1e6:.2f}M | {summary['flops'] / 1e9:.2f} | "
                           f"{summary['peak_activation_bytes'] / 2**20:.2f} |")
                achieved = summary['flops'] * batch / (device * 1e6)  # GFLOP/s
                efficiency = f" {100 * achieved / peak:.1f}% |"
            else:
                efficiency = ""
            print(f"| {name} | {batch} |{columns} {host:.2f} | {device:.2f} | {reference:.2f} | "
                  f"{host / reference:.1f}x |{efficiency}", flush=True)


if __name__ == "__main__":
    main()
