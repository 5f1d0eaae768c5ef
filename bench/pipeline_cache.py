#!/usr/bin/python3
"""Cold against warm bundle loads with the on-disk pipeline cache, in
alternation (this VM's speed drifts, so each warm load is compared with the
cold one just before it). A cold load runs in an emptied cache directory, a
warm one in the directory the cold load just filled. Prints one row per
model: medians over the rounds of `spire bench`'s load, pipeline-creation
and first-run times, and the cache directory's size.

With --mesa-cache the cache compared is Mesa's own shader cache instead
(MESA_SHADER_CACHE_DIR, where llvmpipe keeps the code of its deferred
compiles), with Spire's off.

Usage: bench/pipeline_cache.py [--spire build/bin/spire] [--rounds 3] [--mesa-cache] [MODEL ...]
(models from specs/, default: the zoo's image models)."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD = re.compile(r"load +([0-9.]+) ms \(([0-9.]+) ms of it creating pipelines in the driver; "
                  r"pipeline cache (\w+)\)")
FIRST = re.compile(r"first +([0-9.]+) ms")

parser = argparse.ArgumentParser()
parser.add_argument("--spire", default=os.path.join(ROOT, "build", "bin", "spire"))
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--mesa-cache", action="store_true")
parser.add_argument("models", nargs="*",
                    default=["small_cnn", "resnet18", "resnet50", "mobilenet_v2", "vgg11_bn",
                             "vit_tiny"])
args = parser.parse_args()
work = tempfile.mkdtemp(prefix="spire-pc-")
print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
print("| model | cold load ms (driver) | warm load ms (driver) | cold / warm | cold first run ms | "
      "warm first run ms | cache bytes |")
print("|---|---|---|---|---|---|---|")
for model in args.models:
    bundle = os.path.join(work, model + ".spire")
    subprocess.run([args.spire, "compile", os.path.join(ROOT, "specs", model + ".yaml"), "-o",
                    bundle], check=True, capture_output=True)
    cache = os.path.join(work, "cache-" + model)
    runs = {"cold": [], "warm": []}
    for _ in range(args.rounds):
        shutil.rmtree(cache, ignore_errors=True)
        for expect in ("cold", "warm"):
            env = dict(os.environ, SPIRE_PIPELINE_CACHE=cache)
            if args.mesa_cache:
                env.update(SPIRE_PIPELINE_CACHE="off", MESA_SHADER_CACHE_DIR=cache)
            out = subprocess.run([args.spire, "bench", bundle, "--iters", "1"], check=True,
                                 capture_output=True, text=True, env=env).stdout
            load, driver, state = LOAD.search(out).groups()
            if not args.mesa_cache:
                assert state == expect, f"{model}: expected a {expect} load, got {state}"
            runs[expect].append((float(load), float(driver), float(FIRST.search(out).group(1))))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(cache) for f in files)
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in runs.items()}
    print(f"| {model} | {med['cold'][0]:.1f} ({med['cold'][1]:.1f}) | {med['warm'][0]:.1f} "
          f"({med['warm'][1]:.1f}) | {med['cold'][0] / med['warm'][0]:.2f}x | "
          f"{med['cold'][2]:.1f} | {med['warm'][2]:.1f} | {size} |", flush=True)
print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
shutil.rmtree(work)
