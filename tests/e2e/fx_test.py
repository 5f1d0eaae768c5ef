#!/usr/bin/python3
"""PyTorch module -> spec (torch.fx) -> Spire -> the same numbers as PyTorch.

For each module: compiler/tools/torch's converter writes the spec, its
state_dict is exported to .safetensors, `spire check` and `spire compile`
accept both, and `spire run --validate` matches PyTorch (relative L2 <= 1e-4).
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance import (REL_L2_TOLERANCE, ResBlocks, SmallCnn, randomize,  # noqa: E402
                         run)
from fx_to_spec import module_to_spec  # noqa: E402  (path set up by conformance)
from spire_torch import save_safetensors  # noqa: E402

CASES = {
    "small_cnn": (SmallCnn, {"image": ["N", 3, 32, 32]}),
    "resblocks": (ResBlocks, {"image": ["N", 3, 32, 32]}),
    "resnet18": (torchvision.models.resnet18, {"image": ["N", 3, 224, 224]}),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, {"image": ["N", 3, 224, 224]}),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--model", required=True, choices=sorted(CASES))
    args = parser.parse_args()
    factory, inputs = CASES[args.model]
    module = randomize(factory(), seed=7)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        text, outputs = module_to_spec(module, inputs, args.model)
        spec = os.path.join(tmp, "model.yaml")
        open(spec, "w").write(text)
        weights = os.path.join(tmp, "weights.safetensors")
        save_safetensors(module.state_dict(), weights)
        run([args.spire, "check", spec])
        bundle = os.path.join(tmp, "model.spire")
        run([args.spire, "compile", spec, "--weights", weights, "-o", bundle])
        torch.manual_seed(3)
        feeds = [torch.randn(2, *shape[1:]) for shape in inputs.values()]
        cmd = [args.spire, "run", bundle, "--validate", "--output-dir", os.path.join(tmp, "out")]
        for (name, _), tensor in zip(inputs.items(), feeds):
            np.save(os.path.join(tmp, f"{name}.npy"), tensor.numpy())
            cmd += ["--input", f"{name}={os.path.join(tmp, name)}.npy"]
        run(cmd)
        with torch.no_grad():
            expected = module(*feeds)
        expected = list(expected.values()) if isinstance(expected, dict) else \
            list(expected) if isinstance(expected, (tuple, list)) else [expected]
        for name, want in zip(outputs, expected):
            got, want = np.load(os.path.join(tmp, "out", f"{name}.npy")), want.numpy()
            rel = np.linalg.norm(got - want) / np.linalg.norm(want)
            ok = got.shape == want.shape and np.ptp(want) > 0 and rel <= REL_L2_TOLERANCE
            failures += not ok
            print(f"{'ok' if ok else 'FAIL'} {args.model} via torch.fx ({text.count('  - ')} "
                  f"layers) output {name} {list(got.shape)}: rel L2 {rel:.2e}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
