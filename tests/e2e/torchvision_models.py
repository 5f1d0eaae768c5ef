#!/usr/bin/python3
"""Every torchvision.models classification and segmentation builder under
100M parameters, through fx_test.check: convert, compile, run, compare with
PyTorch. Prints one Markdown table row per model (docs/MODELS.md keeps the
latest table).

Too slow for CI (an hour or more on 2 cores); CI runs fx_test.py on a few
of these. `--models a b` checks only those; `--convert-only` stops after the
converter, in seconds.

    /usr/bin/python3 tests/e2e/torchvision_models.py --spire build/bin/spire
"""
import argparse
import os
import sys
import time

import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fx_test import Failure, case, check  # noqa: E402
from fx_to_spec import UnsupportedError, module_to_spec  # noqa: E402

MAX_PARAMETERS = 100e6


def builders():
    """(name, parameters) of the classification and segmentation builders
    under 100M, as their pretrained weights' metadata counts them (no model
    is built)."""
    for module in (torchvision.models, torchvision.models.segmentation):
        for name in torchvision.models.list_models(module=module):
            weights = torchvision.models.get_model_weights(name)
            count = next(iter(weights)).meta["num_params"]
            if count < MAX_PARAMETERS:
                yield name, count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--models", nargs="+")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--convert-only", action="store_true")
    args = parser.parse_args()
    print("| model | params (M) | result | s |\n|---|---|---|---|")
    passed = total = 0
    for name, count in builders():
        if args.models and name not in args.models:
            continue
        total += 1
        start = time.monotonic()
        try:
            if args.convert_only:
                factory, inputs = case(name)
                text = module_to_spec(factory(), inputs, name)[0]
                result = f"converts ({text.count(chr(10))} spec lines)"
            else:
                lines = check(args.spire, name, args.batches)
                worst = max(float(line.rsplit(" ", 1)[1]) for line in lines)
                result = f"ok, worst rel L2 {worst:.1e}"
            passed += 1
        except UnsupportedError as e:
            result = f"converter: {e}"
        except Failure as e:
            result = str(e).splitlines()[0] + ": " + " ".join(str(e).splitlines()[1:3])
        print(f"| {name} | {count / 1e6:.1f} | {result.replace('|', '/')} | "
              f"{time.monotonic() - start:.0f} |", flush=True)
    print(f"\n{passed} of {total} passed")


if __name__ == "__main__":
    main()
