#!/usr/bin/python3
"""What it costs to get from a spec to its first result, per model: the
compiled code's size, `spire compile`'s time and a cold first `spire run`.

Per model (default: the zoo), one Markdown row:
- dispatches, and pipelines: the bundle's kernel entries, each one pipeline
  the runtime creates;
- distinct kernels: distinct SPIR-V modules among them;
- gpu IR lines: `spire compile --emit=gpu` (the emitted kernels, before the
  SPIR-V lowering), and SPIR-V bytes: the bundle's kernels, all of them and
  the distinct ones;
- compile s: wall time of `spire compile`, the minimum of --runs, and the
  CPU time (user + system, all threads) of that run;
- cold first run: `spire bench --iters 1` (the load and first run of `spire
  run`) with an empty driver cache
  (MESA_SHADER_CACHE_DISABLE=true) and Spire's pipeline cache off, split into
  load (pipeline creation included), pipeline creation, and the first run.

With --timings it also prints `spire compile --timings` (MLIR's timing
manager, per pass) of the last compile of each model.

    /usr/bin/python3 bench/first_result.py [--spire build/bin/spire] [--runs 3]
        [--timings] [MODEL ...]
"""
import argparse
import hashlib
import os
import re
import resource
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = ["resnet18", "resnet50", "mobilenet_v2", "vgg11_bn", "vit_tiny"]
LOAD = re.compile(r"load +([0-9.]+) ms \(([0-9.]+) ms of it creating pipelines")
FIRST = re.compile(r"first +([0-9.]+) ms")
WROTE = re.compile(r"(\d+) kernels, (\d+) dispatches")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True,
                          **kw)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", default=os.path.join(ROOT, "build", "bin", "spire"))
    parser.add_argument("--runs", type=int, default=3, help="compiles per model (the minimum counts)")
    parser.add_argument("--timings", action="store_true", help="also print per-pass timings")
    parser.add_argument("--no-run", action="store_true", help="compile only: no cold first run")
    parser.add_argument("models", nargs="*", default=ZOO, help="specs/<MODEL>.yaml")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="spire-first-")
    print("uptime:", run(["uptime"]).stdout.strip())
    print("| model | dispatches | pipelines | distinct kernels | gpu IR lines | SPIR-V bytes "
          "(distinct) | compile s (CPU s) | cold load ms | pipeline creation ms | first run ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    timings = {}
    for model in args.models:
        spec = os.path.join(ROOT, "specs", model + ".yaml")
        bundle = os.path.join(tmp, model + ".spire")
        spirv_dir = os.path.join(tmp, model + "-spirv")
        compile_s = []
        for _ in range(args.runs):
            t0, cpu0 = time.perf_counter(), children_cpu()
            wrote = run([args.spire, "compile", spec, "-o", bundle]).stdout
            compile_s.append((time.perf_counter() - t0, children_cpu() - cpu0))
        pipelines, dispatches = map(int, WROTE.search(wrote).groups())
        if args.timings:
            timings[model] = run([args.spire, "compile", spec, "-o", bundle, "--timings"]).stderr
        run([args.spire, "compile", spec, "-o", os.path.join(tmp, "x.spire"), "--spirv-dir",
             spirv_dir])
        sizes = {}
        for f in os.listdir(spirv_dir):
            with open(os.path.join(spirv_dir, f), "rb") as fh:
                data = fh.read()
            sizes[f] = (len(data), hashlib.sha256(data).hexdigest())
        distinct = {digest: size for size, digest in sizes.values()}
        ir_lines = run([args.spire, "compile", spec, "--emit=gpu"]).stdout.count("\n")
        cold = ["-"] * 3
        if not args.no_run:
            env = dict(os.environ, MESA_SHADER_CACHE_DISABLE="true", SPIRE_PIPELINE_CACHE="off")
            # `spire bench` prints the same load line as `spire run`, in builds
            # before `spire run` had it too.
            out = run([args.spire, "bench", bundle, "--iters", "1"], env=env).stdout
            cold = [*LOAD.search(out).groups(), FIRST.search(out).group(1)]
            cold = [f"{float(ms):.0f}" for ms in cold]
        print(f"| {model} | {dispatches} | {pipelines} | {len(distinct)} | {ir_lines} | "
              f"{sum(s for s, _ in sizes.values())} ({sum(distinct.values())}) | "
              f"{min(compile_s)[0]:.2f} ({min(compile_s)[1]:.2f}) | {' | '.join(cold)} |", flush=True)
    print("uptime:", run(["uptime"]).stdout.strip())
    for model, text in timings.items():
        print(f"\n### {model}: spire compile --timings\n\n{text}")


if __name__ == "__main__":
    main()
