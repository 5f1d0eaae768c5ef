#!/usr/bin/python3
"""PyTorch module -> spec (torch.fx) -> Spire -> the same numbers as PyTorch.

For each module: compiler/tools/torch's converter writes the spec, its
state_dict is exported to .safetensors, `spire check` and `spire compile`
accept both, and `spire run --validate` matches PyTorch (relative L2 <= 1e-4)
at each batch size asked for.

--model is one of CASES or any builder of torchvision.models (resnet18,
vit_b_16, ...), which runs at its natural input size.
"""
import argparse
import functools
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchvision
from torch import nn
from torchvision.models.convnext import LayerNorm2d

F = nn.functional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conformance import (REL_L2_TOLERANCE, ChannelShuffle, ResBlocks, SmallCnn,  # noqa: E402
                         randomize)
from fx_to_spec import UnsupportedError, module_to_spec  # noqa: E402  (path set up by conformance)
from spire_torch import save_safetensors  # noqa: E402

class TracedForms(nn.Module):
    """What torchvision's forwards write that the converter must follow:
    shape unpacking and arithmetic, a learned tensor expanded over the
    batch, one-tensor torch.cat, functional permute, stochastic depth,
    attention called with keywords and its weights discarded, x[:, 0] and
    .mean over the spatial dims; ConvNeXt's LayerNorm2d (a functional
    layer_norm over channels-last), a linear over [N, H, W, C] and a layer
    scale [C, 1, 1]; MaxViT's einsum products, swapaxes and a bias gathered
    from a learned table by a fixed index (computed at conversion)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.norm = LayerNorm2d(16, eps=1e-6)
        self.pointwise = nn.Linear(16, 16)
        self.layer_scale = nn.Parameter(torch.zeros(16, 1, 1))
        self.token = nn.Parameter(torch.zeros(1, 1, 16))
        self.table = nn.Parameter(torch.zeros(9, 1))
        self.register_buffer("index", torch.arange(65 * 65) % 9)
        self.attention = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, image):
        x = self.norm(torch.cat([self.conv(image)], 1))
        x = self.layer_scale * self.pointwise(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2) + x
        pooled = x.mean([2, 3])
        n, c, h, w = x.shape
        torch._assert(c == 16, "channels")
        tokens = torch.permute(x.reshape(n, c, h * w), (0, 2, 1))
        tokens = torch.cat([self.token.expand(n, -1, -1), tokens], dim=1)
        y, _ = self.attention(query=tokens, key=tokens, value=tokens, need_weights=False)
        y = torchvision.ops.stochastic_depth(y, 0.5, "row", training=False) + tokens
        bias = self.table[self.index].view(65, 65).unsqueeze(0)
        scores = F.softmax(torch.einsum("b i d, b j d -> b i j", y, y) * 0.25 + bias, dim=-1)
        z = torch.swapaxes(torch.einsum("bij,bjd->bid", scores, y), 1, 2)
        return self.head(torch.cat([y[:, 0] + z[:, :, 0], pooled], 1))


class TracedOps(nn.Module):
    """MobileNetV3's squeeze-and-excitation (a hardsigmoid gate broadcast over
    the map), sub and div of tensors and with numbers, a mean over the channels,
    ceil-mode pooling (GoogLeNet's, SqueezeNet's), and a head forward never
    calls (GoogLeNet's auxiliary classifiers): its weights are left out."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Conv2d(8, 4, 1)
        self.fc2 = nn.Conv2d(4, 8, 1)
        self.head = nn.Linear(8 * 4 * 4 + 8 * 5 * 5, 10)
        self.aux = nn.Sequential(nn.Conv2d(8, 4, 1), nn.BatchNorm2d(4))

    def forward(self, image):
        x = F.relu(self.conv(image))
        gate = F.hardsigmoid(self.fc2(F.relu(self.fc1(x.mean([2, 3], keepdim=True)))))
        x = x * gate
        y = (1 - (x - x.mean(1, keepdim=True)) * 0.125) / (torch.sigmoid(x) / 2 + 1 + gate)
        z = F.max_pool2d(y, 3, 2, ceil_mode=True)
        w = F.avg_pool2d(y, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        return self.head(torch.cat([torch.flatten(z, 1), torch.flatten(w, 1)], 1))


class TracedUNet(nn.Module):
    """Encoder-decoder forms: nn.ConvTranspose2d, nn.Upsample (bilinear,
    align_corners), F.interpolate to another tensor's size (nearest) and by
    a fractional scale_factor (bilinear), concat skips across resolutions,
    and a dict output."""

    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.enc2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=2, dilation=2),
                                  nn.ReLU())
        self.enc3 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.up3 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2 = nn.Conv2d(32, 16, 3, padding=1)
        self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        self.dec1 = nn.Conv2d(24, 8, 3, padding=1)
        self.head = nn.Conv2d(8, 3, 1)

    def forward(self, image):
        F = nn.functional
        e1 = self.enc1(image)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        d2 = F.relu(self.dec2(torch.cat([self.up3(e3), e2], 1)))
        d1 = F.relu(self.dec1(torch.cat([self.up2(d2), e1], 1)))
        logits = self.head(d1)
        coarse = F.interpolate(e3, size=image.shape[-2:])
        return {"out": logits,
                "aux": F.interpolate(coarse, scale_factor=0.75, mode="bilinear")}


CASES = {
    "small_cnn": (SmallCnn, {"image": ["N", 3, 32, 32]}),
    "resblocks": (ResBlocks, {"image": ["N", 3, 32, 32]}),
    "traced_forms": (TracedForms, {"image": ["N", 3, 8, 8]}),
    "traced_ops": (TracedOps, {"image": ["N", 3, 8, 8]}),
    "channel_shuffle": (ChannelShuffle, {"image": ["N", 8, 10, 10]}),
    "traced_unet": (TracedUNet, {"image": ["N", 3, 16, 12]}),
}


def case(model):
    """(factory, inputs) of a CASES entry or a torchvision builder."""
    if model in CASES:
        return CASES[model]
    segmentation = getattr(torchvision.models.segmentation, model, None)
    if callable(segmentation) and not model[0].isupper():
        # Random weights throughout: the default backbone weights would be downloaded.
        return functools.partial(segmentation, weights_backbone=None), \
            {"image": ["N", 3, 224, 224]}
    if not callable(getattr(torchvision.models, model, None)) or model[0].isupper():
        sys.exit(f"error: '{model}' is neither a test case ({', '.join(CASES)}) nor a "
                 "torchvision.models or torchvision.models.segmentation builder")
    # The natural input size: the crop of the builder's pretrained weights'
    # transforms (224 for most, 299 Inception v3, 256 Swin V2, 240-600 the
    # EfficientNets); metadata only, nothing is downloaded.
    weights = next(iter(torchvision.models.get_model_weights(model)))
    size = weights.transforms().crop_size[0]
    return getattr(torchvision.models, model), {"image": ["N", 3, size, size]}


class Failure(Exception):
    """A stage of the check failed; the message says which and why."""


def _run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"{os.path.basename(cmd[0])} {cmd[1]} failed:\n"
                      f"{result.stdout}{result.stderr}".rstrip())


def check(spire, model, batches, seed=7):
    """Converts, compiles and runs `model` (a CASES entry or a torchvision
    builder); returns one line per batch and output. Raises UnsupportedError
    (the converter refused) or Failure."""
    factory, inputs = case(model)
    return check_module(spire, model, factory, inputs, batches, seed)


def check_module(spire, model, factory, inputs, batches, seed=7):
    """check() of the module `factory()` makes, with `inputs` (name: shape,
    "N" the batch), reported as `model`."""
    module = randomize(factory(), seed=seed)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        text, outputs, state, _ = module_to_spec(module, inputs, model)
        spec = os.path.join(tmp, "model.yaml")
        open(spec, "w").write(text)
        weights = os.path.join(tmp, "weights.safetensors")
        save_safetensors(state, weights)
        _run([spire, "check", spec])
        bundle = os.path.join(tmp, "model.spire")
        _run([spire, "compile", spec, "--weights", weights, "-o", bundle])
        for batch in batches:
            torch.manual_seed(3 + batch)
            feeds = [torch.randn(batch, *shape[1:]) for shape in inputs.values()]
            out = os.path.join(tmp, f"out{batch}")
            cmd = [spire, "run", bundle, "--validate", "--output-dir", out]
            for (name, _), tensor in zip(inputs.items(), feeds):
                np.save(os.path.join(tmp, f"{name}.npy"), tensor.numpy())
                cmd += ["--input", f"{name}={os.path.join(tmp, name)}.npy"]
            _run(cmd)
            with torch.no_grad():
                expected = module(*feeds)
            expected = list(expected.values()) if isinstance(expected, dict) else \
                list(expected) if isinstance(expected, (tuple, list)) else [expected]
            for name, want in zip(outputs, expected):
                got, want = np.load(os.path.join(out, f"{name}.npy")), want.numpy()
                rel = np.linalg.norm(got - want) / np.linalg.norm(want)
                line = (f"{model} via torch.fx ({text.count(chr(10))} spec lines) batch {batch} "
                        f"output {name} {list(got.shape)}: rel L2 {rel:.2e}")
                if got.shape != want.shape or np.ptp(want) == 0 or not rel <= REL_L2_TOLERANCE:
                    raise Failure(f"{line} (limit {REL_L2_TOLERANCE:.0e}, shape PyTorch "
                                  f"{list(want.shape)})")
                lines.append(line)
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batches", type=int, nargs="+", default=[2])
    args = parser.parse_args()
    try:
        for line in check(args.spire, args.model, args.batches):
            print(f"ok {line}")
    except (UnsupportedError, Failure) as e:
        sys.exit(f"FAIL {args.model}: {e}")


if __name__ == "__main__":
    main()
