#!/usr/bin/python3
"""End-to-end conformance: a zoo spec compiled by Spire and run on Vulkan
(lavapipe in CI, validation layer on) against the same model in PyTorch.

For each model: a PyTorch reference written here with the spec's layer
names, seeded random weights, batch-norm running statistics randomized (not
the defaults), exported to .safetensors with compiler/tools/torch; then
`spire compile --weights` and `spire run --validate` on seeded random inputs at
each batch size, and every output compared by relative L2 error.

    conformance.py --spire build/bin/spire --model small_cnn --batches 1 8 [--target nvidia]

`--target` compiles for another built-in profile; lavapipe runs them all
(their kernels use subgroups of at most 8 lanes), so each profile's tiles are
checked for correctness even where no such GPU is at hand.

`--sizes L=5 L=4096` (issue #23) compiles the spec once for its declared
`sizes` range, without --set, and runs that one bundle at each size on inputs
of that size; each run must report the sizes it inferred and match PyTorch.

    conformance.py --spire build/bin/spire --model resnet18_any_size --batches 1 \
        --sizes H=160,W=160 H=200,W=136
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "compiler", "tools", "torch"))
from spire_torch import save_safetensors  # noqa: E402

# f32 kernels against PyTorch's f32 CPU kernels: summation order differs, so
# results agree to rounding, far inside this bound.
REL_L2_TOLERANCE = 1e-4


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 8 * 8, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, image):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(image)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return {"fc2": self.fc2(x)}


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        x = self.drop(torch.relu(self.fc1(x)))
        x = nn.functional.gelu(self.fc2(x))
        return {"fc3": self.fc3(x)}


class BasicBlock(nn.Module):
    """torchvision's BasicBlock."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + skip)


class ResBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
        self.fc = nn.Linear(32, 10)

    def forward(self, image):
        x = torch.relu(self.bn1(self.conv1(image)))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return {"fc": self.fc(x)}


class MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.classes = nn.Linear(32, 10)
        self.box = nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 4))
        self.attrs = nn.Sequential(nn.Linear(32, 5))

    def forward(self, image):
        features = torch.flatten(nn.functional.adaptive_avg_pool2d(self.trunk(image), 1), 1)
        return {"classes": self.classes(features), "box.2": self.box(features),
                "attrs": torch.sigmoid(self.attrs(features))}


class Conv1dSequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 16, 3)
        self.bn1 = nn.BatchNorm1d(16)
        self.conv2 = nn.Conv1d(16, 32, 3, stride=2)
        self.fc = nn.Linear(32, 6)

    def forward(self, signal):
        x = torch.relu(self.conv2(torch.relu(self.bn1(self.conv1(signal)))))
        return {"fc": self.fc(torch.flatten(nn.functional.adaptive_avg_pool1d(x, 1), 1))}


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        y = self.ln1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TransformerBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(EncoderBlock(64, 4, 128), EncoderBlock(64, 4, 128))
        self.norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, 10)

    def forward(self, tokens):
        x = self.norm(self.blocks(tokens))
        return {"head": self.head(x.mean(dim=1))}


class OpsMix(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4)
        self.pw = nn.Conv2d(4, 6, 1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.bn1d = nn.BatchNorm1d(6)
        self.c1d_b = nn.Conv1d(15, 4, 1, stride=2)
        self.c1d = nn.Conv1d(15, 8, 3, stride=2, padding=1)
        self.c1d_dw = nn.Conv1d(8, 8, 3, padding=1, groups=8)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(12 * 8, 5)

    def forward(self, image):
        F = nn.functional
        x = F.silu(self.bn(self.pw(F.relu6(self.dw(image)))))
        x = F.hardswish(F.leaky_relu(F.avg_pool2d(x, 3, 2, 1), 0.1))
        aap = F.adaptive_avg_pool2d(x, (3, 5))
        rs = (aap * aap).reshape(-1, 6, 15)
        th = torch.tanh(self.bn1d(rs))
        sm = F.softmax(rs.permute(0, 2, 1) @ th, dim=1)
        cat = torch.cat([self.c1d_dw(self.c1d(sm)), self.c1d_b(sm)], 1)
        out = torch.sigmoid(self.fc(torch.flatten(self.ln(cat), 1)))
        return {"sm": sm, "out": out}


class Separable(nn.Module):
    """Depthwise-separable pairs (tests/e2e/specs/separable.yaml)."""
    def __init__(self):
        super().__init__()
        self.dw1 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pw1 = nn.Conv2d(8, 12, 1)
        self.dw2 = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.pw2 = nn.Conv2d(12, 12, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(12)
        self.dw3 = nn.Conv2d(12, 12, 5, padding=1, groups=12)
        self.pw3 = nn.Conv2d(12, 8, 1)

    def forward(self, image):
        F = nn.functional
        x = self.pw1(F.relu6(self.bn1(self.dw1(image))))
        y = F.relu(self.bn2(self.pw2(self.dw2(x))) + x)
        return {"pw3": self.pw3(F.silu(self.dw3(y)))}


class ElementwiseChains(nn.Module):
    """Fused elementwise chains, arithmetic with numbers among them
    (tests/e2e/specs/elementwise_chains.yaml)."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(800, 10)

    def forward(self, image):
        F = nn.functional
        x = torch.sigmoid(F.relu(self.conv1(image))) + image
        x = torch.tanh(1 - 0.5 * x) * image
        x = F.hardswish(F.gelu(x) + image) + image
        si = F.silu(F.relu6(x) + image)
        t2 = torch.tanh(torch.sigmoid(F.leaky_relu(si, 0.2)) + si)
        r2 = F.relu(self.conv2(t2))
        x = F.gelu(r2 + t2) * r2
        s3 = torch.sigmoid(torch.tanh(self.fc(torch.flatten(x, 1))))
        return {"s3": s3, "t2": t2}


class Broadcast(nn.Module):
    """Broadcasting binary layers and hardsigmoid (tests/e2e/specs/broadcast.yaml)."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(12, 16, 3, padding=1)
        self.fc1 = nn.Conv2d(16, 8, 1)
        self.fc2 = nn.Conv2d(8, 16, 1)
        self.scale = nn.Parameter(torch.randn(1, 16, 1, 1))
        self.gate = nn.Conv2d(12, 1, 1)
        self.c2 = nn.Conv2d(16, 16, 1)
        self.oddp = nn.Parameter(torch.randn(1, 1, 5, 7))
        self.dwc = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.gamma = nn.Parameter(torch.randn(1, 1, 12))
        self.layer_scale = nn.Parameter(torch.randn(16, 1, 1))
        self.fc = nn.Linear(12, 12)

    def forward(self, image, aux, odd, tokens):
        F = nn.functional
        h1 = F.hardswish(self.c1(image))
        se = F.hardsigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(h1, 1))))) * h1
        gate = self.gate(image)
        den = torch.sigmoid(F.avg_pool2d(h1, (9, 1), 1))
        q1 = (self.c2(se) * self.scale - gate) / den
        out1 = (self.scale + gate) + F.relu(gate - q1)
        m3 = aux * F.avg_pool2d(aux, (1, 6), 1)
        colg = torch.sigmoid(F.avg_pool2d(aux, (7, 1), 1))
        s4 = odd * F.avg_pool2d(odd, (5, 1), 1) - self.oddp
        return {"out1": out1, "dws": self.dwc(h1) * self.layer_scale,
                "lscale": self.fc(tokens) * self.gamma, "q3": m3 / colg, "qa": aux / colg,
                "s4": s4}


class Pools(nn.Module):
    """Pools with ceil_mode, dilation, count_include_pad (tests/e2e/specs/pools.yaml)."""
    def forward(self, image, wide):
        F = nn.functional
        return {
            "mp1": F.max_pool2d(image, 3, 2, ceil_mode=True),
            "mp2": F.max_pool2d(image, 3, 1, 1, dilation=2),
            "mp3": F.max_pool2d(image, (2, 3), 2, 1, dilation=(2, 1), ceil_mode=True),
            "ap1": F.avg_pool2d(image, 3, 2, 1, ceil_mode=True),
            "ap2": F.avg_pool2d(image, 3, 2, 1, ceil_mode=True, count_include_pad=False),
            "ap3": F.avg_pool2d(image, 3, 1, 1, count_include_pad=False),
            "ap4": F.avg_pool2d(image, 3, 3, 1, ceil_mode=True),
            "ap5": F.avg_pool2d(image, 2, ceil_mode=True),
            "mp4": F.max_pool2d(wide, 3, 2, ceil_mode=True),
            "ap6": F.avg_pool2d(wide, 3, 2, 1, ceil_mode=True, count_include_pad=False),
        }


class Reductions(nn.Module):
    """mean, sum, max over dims, L2 normalization (tests/e2e/specs/reductions.yaml)."""
    def forward(self, image, tokens):
        return {
            "spatial": image.mean([2, 3]),
            "chans": image.sum(1, keepdim=True),
            "nonadj": torch.amax(image, (1, 3)),
            "last_relu": torch.relu(image.mean(-1, keepdim=True)),
            "rows": image.sum([1, 2]),
            "centered": image - image.mean(1, keepdim=True),
            "tokmax": torch.amax(tokens, 2, keepdim=True),
            "tokmean": tokens.mean(1),
            "unit_chans": nn.functional.normalize(image, dim=1),
            "unit_tokens": nn.functional.normalize(tokens, dim=-1),
        }


class ChannelShuffle(nn.Module):
    """ShuffleNetV2's unit (tests/e2e/specs/channel_shuffle.yaml), written as
    torchvision writes it."""
    def __init__(self):
        super().__init__()
        self.pw1 = nn.Conv2d(4, 4, 1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.pw2 = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(8 * 4 * 10, 5)

    def forward(self, image):
        F = nn.functional
        keep, half = image.chunk(2, dim=1)
        branch = F.relu(self.pw2(self.dw(F.relu(self.pw1(half)))))
        x = torch.cat([keep, branch], 1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        return {"shuffled": x, "fc": self.fc(torch.flatten(x[:, :, 3:7], 1))}


class Upsample(nn.Module):
    """Nearest and bilinear interpolation (tests/e2e/specs/upsample.yaml)."""
    def forward(self, image, one, wide):
        F = nn.functional
        bilinear = dict(mode="bilinear", align_corners=False)
        corners = dict(mode="bilinear", align_corners=True)
        return {
            "near2": F.interpolate(image, scale_factor=2),
            "near_size": F.interpolate(image, size=(13, 11)),
            "near_frac": F.interpolate(image, scale_factor=(3, 1.5), mode="nearest"),
            "near_one": F.interpolate(one, size=(9, 6)),
            "near_down": F.interpolate(wide, size=(4, 3)),
            "bil2": F.interpolate(image, scale_factor=2, **bilinear),
            "bil2_corners": F.interpolate(image, scale_factor=2, **corners),
            "bil_size": F.interpolate(image, size=(13, 11), **bilinear),
            "bil_size_corners": F.interpolate(image, size=(13, 11), **corners),
            "bil_frac": F.interpolate(wide, scale_factor=(2.5, 1.5), **bilinear),
            "bil_down": F.interpolate(wide, size=(4, 5), **bilinear),
            "bil_one": F.interpolate(one, size=(1, 6), **corners),
            "bil_relu": F.relu(F.interpolate(one, size=(9, 13), **bilinear)),
        }


class ConvTranspose(nn.Module):
    """Transposed convolutions (tests/e2e/specs/conv_transpose2d.yaml)."""
    def __init__(self):
        super().__init__()
        self.up2 = nn.ConvTranspose2d(3, 13, 2, stride=2)
        self.pad = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.odd = nn.ConvTranspose2d(3, 6, (3, 4), stride=(1, 2), padding=(1, 0), dilation=(2, 1),
                                      bias=False)
        self.grouped = nn.ConvTranspose2d(8, 4, 3, stride=3, padding=1, output_padding=2, groups=2)
        self.depthwise = nn.ConvTranspose2d(8, 8, 4, stride=2, padding=1, groups=8)

    def forward(self, image, wide):
        return {"up2": self.up2(image), "pad": self.pad(image), "odd": self.odd(image),
                "grouped": self.grouped(wide), "depthwise_relu": torch.relu(self.depthwise(wide))}


class DilatedConv(nn.Module):
    """Dilated convolutions (tests/e2e/specs/dilated_conv.yaml)."""
    def __init__(self):
        super().__init__()
        self.d2 = nn.Conv2d(3, 13, 3, padding=2, dilation=2)
        self.d3 = nn.Conv2d(3, 1, 3, padding=3, dilation=3)
        self.d23 = nn.Conv2d(13, 5, 3, padding=(2, 3), dilation=(2, 3))
        self.d3s2 = nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=3, bias=False)

    def forward(self, image):
        d2 = self.d2(image)
        return {"d2": d2, "d3": self.d3(image), "d23": self.d23(d2), "d3s2": self.d3s2(image)}


class ConvBnRelu(nn.Module):
    def __init__(self, cin, ch, kernel=3, stride=1, padding=1, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, ch, kernel, stride, padding, dilation, bias=False)
        self.bn = nn.BatchNorm2d(ch)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class DoubleConv(nn.Module):
    def __init__(self, cin, ch):
        super().__init__()
        self.conv = nn.Sequential(ConvBnRelu(cin, ch), ConvBnRelu(ch, ch))

    def forward(self, x):
        return self.conv(x)


class Down(nn.Module):
    def __init__(self, cin, ch):
        super().__init__()
        self.block = DoubleConv(cin, ch)

    def forward(self, x):
        return self.block(nn.functional.max_pool2d(x, 2))


class Up(nn.Module):
    """Upsample by 2 (transposed conv or bilinear), concat the skip, two convs."""
    def __init__(self, cin, skip, ch, transposed):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, ch, 2, stride=2) if transposed else None
        self.block = DoubleConv((ch if transposed else cin) + skip, ch)

    def forward(self, x, skip):
        x = (self.up(x) if self.up is not None else
             nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))
        return self.block(torch.cat([x, skip], 1))


class UNet(nn.Module):
    """specs/unet.yaml."""
    def __init__(self):
        super().__init__()
        self.inc = DoubleConv(3, 16)
        self.down1, self.down2, self.down3 = Down(16, 32), Down(32, 64), Down(64, 128)
        self.up1 = Up(128, 64, 64, transposed=True)
        self.up2 = Up(64, 32, 32, transposed=True)
        self.up3 = Up(32, 16, 16, transposed=False)
        self.outc = nn.Conv2d(16, 2, 1)

    def forward(self, image):
        x1 = self.inc(image)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.down3(x3)
        x = self.up3(self.up2(self.up1(x, x3), x2), x1)
        return {"outc": self.outc(x)}


class SegmentationHead(nn.Module):
    """specs/segmentation_head.yaml: a dilated backbone, ASPP, bilinear logits."""
    def __init__(self):
        super().__init__()
        self.stem = ConvBnRelu(3, 16, stride=2)
        self.layer1 = ConvBnRelu(16, 32, stride=2)
        self.layer2 = ConvBnRelu(32, 32, padding=2, dilation=2)
        self.aspp = nn.Module()
        self.aspp.b0 = ConvBnRelu(32, 24, kernel=1, padding=0)
        self.aspp.b1 = ConvBnRelu(32, 24, padding=2, dilation=2)
        self.aspp.b2 = ConvBnRelu(32, 24, padding=3, dilation=3)
        self.aspp.pool_conv = nn.Conv2d(32, 24, 1)
        self.aspp.project = ConvBnRelu(96, 24, kernel=1, padding=0)
        self.classifier = nn.Conv2d(24, 5, 1)

    def forward(self, image):
        F = nn.functional
        x = self.layer2(self.layer1(self.stem(image)))
        a = self.aspp
        pooled = torch.relu(a.pool_conv(F.adaptive_avg_pool2d(x, 1)))
        pooled = F.interpolate(pooled, size=x.shape[-2:], mode="bilinear", align_corners=False)
        x = a.project(torch.cat([a.b0(x), a.b1(x), a.b2(x), pooled], 1))
        return {"out": F.interpolate(self.classifier(x), size=image.shape[-2:], mode="bilinear",
                                     align_corners=False)}


class CnnAnySize(nn.Module):
    """tests/e2e/specs/cnn_any_size.yaml: any image size, global pooling."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.block = nn.Module()
        self.block.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.conv3 = nn.Conv2d(32, 64, 1)
        self.fc = nn.Linear(64, 10)

    def forward(self, image):
        F = nn.functional
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(image))), 2)
        x = torch.relu(self.conv2(x))
        x = F.hardswish(self.block.dw(x)) + x
        x = F.silu(self.conv3(x))
        return {"fc": self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))}


def torchvision_model(name, output, **kwargs):
    """A torchvision model whose single output gets the spec's output name."""
    import torchvision
    from torchvision.models.vision_transformer import VisionTransformer

    class Named(nn.Module):
        def __init__(self):
            super().__init__()
            if name == "VisionTransformer":
                self.model = VisionTransformer(**kwargs)
            else:
                self.model = getattr(torchvision.models, name)(**kwargs)

        def state_dict(self, *args, **kw):
            return self.model.state_dict(*args, **kw)

        def forward(self, image):
            return {output: self.model(image)}

    return Named


# name -> (spec relative to the repository, reference module, {input: per-sample
# shape}, extra `spire compile` arguments)
MODELS = {
    "small_cnn": ("specs/small_cnn.yaml", SmallCnn, {"image": (3, 32, 32)}, []),
    "mlp": ("specs/mlp.yaml", Mlp, {"x": (784,)}, []),
    "resblocks": ("specs/resblocks.yaml", ResBlocks, {"image": (3, 32, 32)}, []),
    "multitask": ("specs/multitask.yaml", MultiTask, {"image": (3, 32, 32)}, []),
    "conv1d_sequence": ("specs/conv1d_sequence.yaml", Conv1dSequence, {"signal": (4, "L")},
                        ["--set", "L=50"]),
    "transformer_block": ("specs/transformer_block.yaml", TransformerBlock, {"tokens": (16, 64)}, []),
    "ops_mix": ("tests/e2e/specs/ops_mix.yaml", OpsMix, {"image": (4, 15, 15)}, []),
    "separable": ("tests/e2e/specs/separable.yaml", Separable, {"image": (8, 32, 32)}, []),
    "elementwise_chains": ("tests/e2e/specs/elementwise_chains.yaml", ElementwiseChains,
                           {"image": (8, 10, 10)}, []),
    "broadcast": ("tests/e2e/specs/broadcast.yaml", Broadcast,
                  {"image": (12, 9, 8), "aux": (4, 7, 6), "odd": (3, 5, 7), "tokens": (7, 12)},
                  []),
    "pools": ("tests/e2e/specs/pools.yaml", Pools, {"image": (6, 12, 11), "wide": (4, 8, 16)}, []),
    "reductions": ("tests/e2e/specs/reductions.yaml", Reductions,
                   {"image": (5, 6, 7), "tokens": (9, 12)}, []),
    "channel_shuffle": ("tests/e2e/specs/channel_shuffle.yaml", ChannelShuffle,
                        {"image": (8, 10, 10)}, []),
    "upsample": ("tests/e2e/specs/upsample.yaml", Upsample,
                 {"image": (3, 7, 5), "one": (1, 4, 6), "wide": (13, 6, 8)}, []),
    "conv_transpose2d": ("tests/e2e/specs/conv_transpose2d.yaml", ConvTranspose,
                         {"image": (3, 7, 5), "wide": (8, 6, 6)}, []),
    "dilated_conv": ("tests/e2e/specs/dilated_conv.yaml", DilatedConv, {"image": (3, 13, 11)}, []),
    "unet": ("specs/unet.yaml", UNet, {"image": (3, 64, 64)}, []),
    "segmentation_head": ("specs/segmentation_head.yaml", SegmentationHead,
                          {"image": (3, 63, 63)}, []),
    "resnet18": ("specs/resnet18.yaml", torchvision_model("resnet18", "fc"),
                 {"image": (3, 224, 224)}, []),
    "resnet50": ("specs/resnet50.yaml", torchvision_model("resnet50", "fc"),
                 {"image": (3, 224, 224)}, []),
    "mobilenet_v2": ("specs/mobilenet_v2.yaml", torchvision_model("mobilenet_v2", "classifier.1"),
                     {"image": (3, 224, 224)}, []),
    "vit_tiny": ("specs/vit_tiny.yaml",
                 torchvision_model("VisionTransformer", "heads.head", image_size=224,
                                   patch_size=16, num_layers=12, num_heads=3, hidden_dim=192,
                                   mlp_dim=768),
                 {"image": (3, 224, 224)}, []),
    "vgg11_bn": ("specs/vgg11_bn.yaml", torchvision_model("vgg11_bn", "classifier.6"),
                 {"image": (3, 224, 224)}, []),
    # Range specs (issue #23): run with --sizes, one bundle at each size.
    "cnn_any_size": ("tests/e2e/specs/cnn_any_size.yaml", CnnAnySize, {"image": (3, "H", "W")}, []),
    "resnet18_any_size": ("tests/e2e/specs/resnet18_any_size.yaml",
                          torchvision_model("resnet18", "fc"), {"image": (3, "H", "W")}, []),
    "resnet50_any_size": ("tests/e2e/specs/resnet50_any_size.yaml",
                          torchvision_model("resnet50", "fc"), {"image": (3, "H", "W")}, []),
    "mobilenet_v2_any_size": ("tests/e2e/specs/mobilenet_v2_any_size.yaml",
                              torchvision_model("mobilenet_v2", "classifier.1"),
                              {"image": (3, "H", "W")}, []),
}


def randomize(module, seed):
    """Seeded weights, and batch-norm statistics away from their defaults so
    that folding them into convolutions is really exercised."""
    torch.manual_seed(seed)
    for p in module.parameters():
        # Constant initializations (ViT's zero head, class token and position
        # embedding) would make outputs trivially equal: make them random.
        if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
            p.data.uniform_(-0.5, 0.5) if p.dim() > 1 else p.data.uniform_(-0.1, 0.1)
    for m in module.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return module.eval()


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def parse_sizes(text):
    """"H=160,W=136" -> {"H": 160, "W": 136}"""
    sizes = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        if not name or not value.isdigit():
            sys.exit(f"--sizes {text}: expected NAME=VALUE[,NAME=VALUE...]")
        sizes[name] = int(value)
    return sizes


def set_args(sizes):
    return [arg for name, value in sizes.items() for arg in ("--set", f"{name}={value}")]


def check_stages(args, bundle, tmp, run_id, label, spec, sizes):
    """Runs the model stage by stage, each stage reading the interface the
    previous one saved as .npy files; the result must equal the whole run
    bit for bit (same kernels, same device). Returns the number of failures."""
    summary = json.loads(run([args.spire, "summary", "--json", os.path.join(ROOT, spec)]
                             + set_args(sizes)))
    stages = summary["stages"]
    if len(stages) < 2:
        return 0
    previous = None
    for k, stage in enumerate(stages):
        out_dir = os.path.join(tmp, f"stage{k}_{run_id}")
        cmd = [args.spire, "run", bundle, "--validate", "--stages", str(k), "--output-dir", out_dir]
        for tensor in stage["inputs"]:
            name = tensor["name"]
            path = (os.path.join(tmp, f"{name}_{run_id}.npy") if previous is None
                    else os.path.join(previous, f"{name}.npy"))
            cmd += ["--input", f"{name}={path}"]
        run(cmd)
        previous = out_dir
    failures = 0
    whole = os.path.join(tmp, f"out_{run_id}")
    for name in os.listdir(whole):
        same = np.array_equal(np.load(os.path.join(whole, name)), np.load(os.path.join(previous, name)))
        print(f"{'ok' if same else 'FAIL'} {label} output {name[:-4]}: "
              f"{len(stages)} stages run one by one through saved interfaces "
              f"{'equal' if same else 'differ from'} the whole run bit for bit")
        failures += not same
    return failures


def check_sizes_line(label, stdout, sizes):
    """A range bundle infers the sizes from its inputs and reports them."""
    line = next((l for l in stdout.splitlines() if l.startswith("sizes: ")), None)
    got = {}
    if line:
        for item in line[len("sizes: "):].split(" (")[0].split(", "):
            name, _, value = item.partition(" = ")
            got[name] = int(value)
    if got != sizes:
        print(f"FAIL {label}: the run reports sizes {line!r}, expected {sizes}")
        return 1
    return 0


def compare_outputs(label, expected, out_dir):
    """Each output the run saved in out_dir against PyTorch's; returns the
    number of failures."""
    failures = 0
    for name, want in expected.items():
        got = np.load(os.path.join(out_dir, f"{name}.npy"))
        want = want.numpy()
        if got.shape != want.shape:
            print(f"FAIL {label} output {name}: shape {got.shape}, PyTorch {want.shape}")
            failures += 1
            continue
        if np.ptp(want) == 0:
            print(f"FAIL {label} output {name}: the reference output is constant, so comparing "
                  f"it would prove nothing")
            failures += 1
            continue
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        max_abs = np.abs(got - want).max()
        verdict = "ok" if rel <= REL_L2_TOLERANCE else "FAIL"
        failures += verdict != "ok"
        print(f"{verdict} {label} output {name} {list(got.shape)}: "
              f"rel L2 {rel:.2e} (limit {REL_L2_TOLERANCE:.0e}), max abs {max_abs:.2e}")
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--target", default="lavapipe", help="spire compile --target")
    parser.add_argument("--sizes", nargs="+", metavar="H=160,W=160",
                        help="compile the spec once for its declared range (no --set) and run "
                             "that one bundle at each of these sizes")
    args = parser.parse_args()

    spec, factory, inputs, model_args = MODELS[args.model]
    # The model's own --set pairs bind a fixed bundle; --sizes replaces them.
    compile_args, fixed = [], {}
    words = iter(model_args)
    for word in words:
        if word == "--set":
            fixed.update(parse_sizes(next(words)))
        else:
            compile_args.append(word)
    if not args.sizes:
        compile_args += set_args(fixed)
    all_sizes = [parse_sizes(text) for text in args.sizes] if args.sizes else [fixed]
    torch.manual_seed(1234)  # the layers' own initialization too: the same weights every run
    module = randomize(factory(), seed=1234)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "weights.safetensors")
        save_safetensors(module.state_dict(), weights)
        bundle = os.path.join(tmp, "model.spire")
        run([args.spire, "compile", os.path.join(ROOT, spec), "--weights", weights,
             "-o", bundle, "--target", args.target] + compile_args)
        for sizes in all_sizes:
            for batch in args.batches:
                size_text = ",".join(f"{k}={v}" for k, v in sizes.items())
                run_id = f"{size_text}_batch{batch}" if args.sizes else f"batch{batch}"
                label = f"{args.model} {size_text + ' ' if args.sizes else ''}batch {batch}"
                torch.manual_seed(100 + batch)
                try:
                    feeds = {name: torch.randn(batch, *(sizes[d] if isinstance(d, str) else d
                                                        for d in shape))
                             for name, shape in inputs.items()}
                except KeyError as e:
                    sys.exit(f"{args.model}: its inputs need the size {e}: give it with --sizes")
                cmd = [args.spire, "run", bundle, "--validate", "--output-dir",
                       os.path.join(tmp, f"out_{run_id}")]
                for name, tensor in feeds.items():
                    path = os.path.join(tmp, f"{name}_{run_id}.npy")
                    np.save(path, tensor.numpy())
                    cmd += ["--input", f"{name}={path}"]
                stdout = run(cmd)
                if args.sizes:
                    failures += check_sizes_line(label, stdout, sizes)
                failures += check_stages(args, bundle, tmp, run_id, label, spec, sizes)
                with torch.no_grad():
                    expected = module(**feeds)
                failures += compare_outputs(label, expected, os.path.join(tmp, f"out_{run_id}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
