#!/usr/bin/env python3
"""Every layer op of the `spire` dialect is covered: it appears in a model
that conformance.py checks against PyTorch, and `spire compile` generates
kernels for that model (an op with no emitter fails there with 'has no
kernel emitter'). FLOP counts need no check here: LayerOpInterface's
getFlops has no default, so an op without one does not compile.

Fails naming each op that no conformance model uses."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from conformance import MODELS, ROOT  # noqa: E402


def dialect_ops():
    """The layer ops declared in ODS: `def Spire_XOp : Spire_<layer class><"mnemonic"`
    (the kernel, yield and split ops are not layers and derive from Op)."""
    td = open(os.path.join(ROOT, "compiler/include/spire/Dialect/SpireOps.td")).read()
    return set(re.findall(r'^def Spire_\w+Op : Spire_\w+<"(\w+)"', td, re.M))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spire", required=True)
    args = parser.parse_args()
    spire = os.path.abspath(args.spire)
    ops = dialect_ops()
    if len(ops) < 30:
        sys.exit(f"op_coverage: found only {len(ops)} ops in SpireOps.td; the pattern is stale")
    covered = set()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (spec, _, _, extra) in MODELS.items():
            path = os.path.join(ROOT, spec)
            module = subprocess.run([spire, "check", path, "--emit=mlir"], check=True,
                                    capture_output=True, text=True).stdout
            new = set(re.findall(r"= spire\.(\w+) ", module)) - covered
            if not new:
                continue
            # Kernels for every op of the model, or an error naming the op.
            gpu = subprocess.run([spire, "compile", path, "--emit=gpu", *extra],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 cwd=tmp)
            if gpu.returncode != 0:
                sys.exit(f"op_coverage: {name}: spire compile failed:\n{gpu.stderr}")
            covered |= new
            print(f"{name}: {', '.join(sorted(new))}")
    missing = sorted(ops - covered)
    for op in missing:
        print(f"op_coverage: spire.{op} is in no conformance model (tests/e2e/conformance.py)")
    print(f"{len(ops) - len(missing)} passed, {len(missing)} failed")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
