#!/usr/bin/python3
"""The converter's blocks against its flat layers: for each model, the
spec with blocks (the default) and the one with `flat=True` must check to
the same MLIR (`spire check --emit=mlir`), op for op, layer names aside where
no weights load by them (the weights' layers keep their state_dict names,
the outputs theirs).
The blocked spec must also be shorter, and a converted ResNet-18 about as
short as the hand-written specs/resnet18.yaml (44 lines).

    /usr/bin/python3 tests/e2e/fx_blocks.py --spire build/bin/spire --model resnet18
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_test import CASES  # noqa: E402  (sets up the converter's path)
from fx_to_spec import module_to_spec  # noqa: E402

# Lines a converted spec with blocks may take, where the model has a
# hand-written counterpart to compare with.
MAX_LINES = {"resnet18": 60}

# An op's name (not a result's `spire.name`, which the outputs keep).
NAME = re.compile(r'(?<![.\w])name = "([^"]*)"')


def checked_mlir(spire, text, directory, stem):
    path = os.path.join(directory, f"{stem}.yaml")
    with open(path, "w") as f:
        f.write(text)
    result = subprocess.run([spire, "check", path, "--emit=mlir"], capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"FAIL: spire check {stem}.yaml:\n{result.stdout}{result.stderr}\n{text}")
    return result.stdout


def without_names(mlir, weights):
    """The MLIR with each op's name blanked unless weights load by it."""
    def blank(match):
        name = match.group(1)
        keep = name in weights or any(w.startswith(name + ".") for w in weights)
        return match.group(0) if keep else 'name = ""'
    return NAME.sub(blank, mlir)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    if args.model in CASES:
        factory, inputs = CASES[args.model]
    else:
        factory, inputs = getattr(torchvision.models, args.model), {"image": ["N", 3, 224, 224]}
    module = factory()
    flat, _, state, _ = module_to_spec(module, inputs, args.model, flat=True)
    blocked = module_to_spec(module, inputs, args.model)[0]
    lines, flat_lines = blocked.count("\n"), flat.count("\n")
    with tempfile.TemporaryDirectory() as tmp:
        flat_mlir = checked_mlir(args.spire, flat, tmp, "flat")
        blocked_mlir = checked_mlir(args.spire, blocked, tmp, "blocked")
    if "blocks:" not in blocked or lines >= flat_lines:
        sys.exit(f"FAIL {args.model}: no blocks, {lines} lines against {flat_lines} flat:\n"
                 f"{blocked}")
    if lines > MAX_LINES.get(args.model, lines):
        sys.exit(f"FAIL {args.model}: {lines} lines, over {MAX_LINES[args.model]}:\n{blocked}")
    ops = [line for line in without_names(blocked_mlir, state).splitlines() if " = spire." in line]
    flat_ops = [line for line in without_names(flat_mlir, state).splitlines()
                if " = spire." in line]
    if without_names(blocked_mlir, state) != without_names(flat_mlir, state):
        diff = next((f"op {i}:\n  blocked {a}\n  flat    {b}"
                     for i, (a, b) in enumerate(zip(ops, flat_ops)) if a != b),
                    f"{len(ops)} ops against {len(flat_ops)} flat, or another line")
        sys.exit(f"FAIL {args.model}: the blocked spec checks to other MLIR than the flat "
                 f"one; first difference at {diff}")
    weighted = sum(1 for n in NAME.findall(blocked_mlir)
                   if any(w.startswith(n + ".") or w == n for w in state))
    print(f"ok {args.model}: {lines} lines with blocks, {flat_lines} flat; the same "
          f"{len(ops)} ops, {weighted} of them named for their weights")


if __name__ == "__main__":
    main()
