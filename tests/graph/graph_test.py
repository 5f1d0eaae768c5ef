#!/usr/bin/python3
"""`spire graph` over the zoo: for every spec, and for the bundles compiled
from a few, the DOT marks exactly the cut edges that `spire summary --json`
reports (each live tensor of each split on one edge, labelled with its name,
shape and bytes per sample), at every --depth; svg and png render through
Graphviz; bad inputs are clear errors. Usage: graph_test.py SPIRE WORKDIR"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPIRE, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
failures = 0


def fail(message):
    global failures
    failures += 1
    print(f"FAIL {message}")


def run(*args, env=None):
    return subprocess.run([SPIRE, *args], capture_output=True, text=True, env=env)


def summary_cuts(spec):
    """{(cut, tensor): label lines} from `spire summary --json`."""
    out = run("summary", "--json", spec)
    assert out.returncode == 0, out.stderr
    stages = json.loads(out.stdout)["stages"]
    cuts = {}
    for c, stage in enumerate(stages[:-1]):
        for t in stage["outputs"]:
            cuts[(c, t["name"])] = (t["shape"], t["bytes"])
    return cuts


EDGE = re.compile(r'^\s*"[^"]*" -> "[^"]*" \[(.*)\];$')


def attr(attrs, name):
    m = re.search(r'(?<![\w])' + name + r'="((?:[^"\\]|\\.)*)"', attrs)
    return m.group(1) if m else None


def dot_cuts(dot, where):
    """{(cut, tensor): label} of the edges marked class="cut"; a pair drawn
    twice is a failure."""
    cuts = {}
    for line in dot.splitlines():
        m = EDGE.match(line)
        if not m or 'class="cut"' not in m.group(1):
            continue
        attrs = m.group(1)
        tensor, label = attr(attrs, "spire_tensor"), attr(attrs, "label")
        for c in attr(attrs, "spire_cuts").split():
            key = (int(c), tensor)
            if key in cuts:
                fail(f"{where}: cut {c} tensor {tensor} drawn twice")
            cuts[key] = label
    return cuts


def bytes_text(n):
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.2f} MiB"


def check(where, dot, expected, shapes=True):
    got = dot_cuts(dot, where)
    if set(got) != set(expected):
        fail(f"{where}: cut edges {sorted(set(got) - set(expected))} not in the summary, "
             f"{sorted(set(expected) - set(got))} missing")
        return
    for key, label in got.items():
        shape, size = expected[key]
        want = f"{key[1]}\\n{shape}\\n{bytes_text(size)} per sample"
        if shapes and label != want:
            fail(f"{where}: cut {key} labelled '{label}', expected '{want}'")


def graph(*args):
    out = run("graph", *args)
    if out.returncode != 0:
        fail(f"spire graph {' '.join(args)}: exit {out.returncode}: {out.stderr.strip()[:300]}")
    return out.stdout


specs = sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml")))
for spec in specs:
    name = os.path.basename(spec)
    expected = summary_cuts(spec)
    for depth in ([], ["--depth", "0"], ["--depth", "1"]):
        check(f"{name} {' '.join(depth)}", graph(spec, *depth), expected)
    svg = os.path.join(WORK, name.replace(".yaml", ".svg"))
    graph(spec, "-o", svg)
    if not os.path.isfile(svg) or "<svg" not in open(svg).read():
        fail(f"{name}: no svg written")
    print(f"ok {name}: {len(expected)} cut tensor(s)")

# The issue's case: ResNet-18's second split lies inside layer3.1, and
# layer3.0's output (the skip tensor of layer3.1's residual add) crosses it.
dot = graph(os.path.join(ROOT, "specs", "resnet18.yaml"))
cuts = dot_cuts(dot, "resnet18")
if (1, "layer3.0.6") not in cuts or (1, "layer3.1.conv1") not in cuts:
    fail(f"resnet18: cut 1 should carry layer3.0.6 and layer3.1.conv1, has {sorted(cuts)}")
if "split 'inside_layer3_1'" not in dot or 'xlabel="residual"' not in dot:
    fail("resnet18: no cut line for inside_layer3_1, or no residual edge")
svg = open(os.path.join(WORK, "resnet18.svg")).read()
for text in ("inside_layer3_1", "layer3.0.6", "cluster_1_layer3.1", "cluster_2_layer3.1"):
    if text not in svg:
        fail(f"resnet18.svg lacks '{text}'")

# Bundles: the dispatches, and the same interfaces at the same cuts.
for model in ("small_cnn", "multitask", "resnet18"):
    spec = os.path.join(ROOT, "specs", model + ".yaml")
    bundle = os.path.join(WORK, model + ".spire")
    out = run("compile", spec, "-o", bundle)
    if out.returncode != 0:
        fail(f"compile {model}: {out.stderr.strip()[:300]}")
        continue
    expected = summary_cuts(spec)
    check(f"{model}.spire", graph(bundle), expected)
    check(f"{model}.spire --depth 0", graph(bundle, "--depth", "0"), expected)
    png = os.path.join(WORK, model + ".png")
    graph(bundle, "-o", png)
    if not open(png, "rb").read(8).startswith(b"\x89PNG"):
        fail(f"{model}.spire: no png written")
    print(f"ok {model}.spire: {len(expected)} cut tensor(s)")

# Bad input: clear errors, never a crash.
bad = {
    ("graph", os.path.join(WORK, "missing.yaml")): "cannot read spec",
    ("graph", os.path.join(WORK, "missing.spire")): "missing.spire",
    ("graph", specs[0], "-o", os.path.join(WORK, "x.pdf")): ".svg, .png or .dot",
    ("graph", specs[0], "--depth", "-1"): "--depth",
}
truncated = os.path.join(WORK, "truncated.spire")
with open(truncated, "wb") as f:
    f.write(open(os.path.join(WORK, "small_cnn.spire"), "rb").read()[:1000])
bad[("graph", truncated)] = "truncated"
for args, text in bad.items():
    out = run(*args)
    if out.returncode == 0 or out.returncode < 0 or text not in out.stderr:
        fail(f"spire {' '.join(args)}: exit {out.returncode}, stderr {out.stderr.strip()[:200]!r}")
# Without Graphviz on PATH, svg is refused by name, DOT still works.
env = dict(os.environ, PATH=os.path.join(WORK, "empty-path"))
out = run("graph", specs[0], "-o", os.path.join(WORK, "x.svg"), env=env)
if out.returncode == 0 or "needs Graphviz's `dot`" not in out.stderr:
    fail(f"svg without dot: exit {out.returncode}, {out.stderr.strip()[:200]!r}")
if run("graph", specs[0], "-o", os.path.join(WORK, "x.dot"), env=env).returncode != 0:
    fail("DOT without Graphviz failed")

print("graph_test:", "FAILED" if failures else "all ok")
sys.exit(1 if failures else 0)
