"""Writes .safetensors files for mlp.yaml: a matching one and broken ones."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..",
                                "compiler", "tools", "torch"))
from spire_torch import save_safetensors  # noqa: E402

out = sys.argv[1]
torch.manual_seed(0)
good = {"fc1.weight": torch.randn(256, 784), "fc1.bias": torch.randn(256),
        "fc2.weight": torch.randn(128, 256), "fc2.bias": torch.randn(128),
        "fc3.weight": torch.randn(10, 128), "fc3.bias": torch.randn(10)}
save_safetensors(good, os.path.join(out, "good.safetensors"))

bad = dict(good)
del bad["fc1.bias"]                        # missing
bad["fc2.weight"] = torch.randn(128, 255)  # mis-shaped
bad["fc4.weight"] = torch.randn(10, 10)    # unexpected
save_safetensors(bad, os.path.join(out, "bad.safetensors"))

data = open(os.path.join(out, "good.safetensors"), "rb").read()
open(os.path.join(out, "truncated.safetensors"), "wb").write(data[:100])
