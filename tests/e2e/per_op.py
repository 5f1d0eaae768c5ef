#!/usr/bin/python3
"""Each op alone against PyTorch, in the style of ncnn's per-layer tests:
odd channel counts (1, 3, 13, 127), odd and non-square sizes, batch 1 and 3,
so a failing op is found without a whole model. Every case is a one- or
two-layer nn.Module through the converter (fx_test.check_module): convert,
`spire check`, compile with the module's seeded random weights, run on
lavapipe with the validation layer, compare (rel L2 <= 1e-4).

    per_op.py --spire build/bin/spire [--family conv] [--cases conv2d_strided ...]
"""
import argparse
import sys

import torch
from torch import nn
from torchvision.models import swin_transformer as swin

from fx_test import Failure, check_module
from fx_to_spec import UnsupportedError

F = nn.functional


class Apply(nn.Module):
    """`fn(x)`, with the layers (and parameters) it uses as attributes (named
    as the converter names spec layers)."""

    def __init__(self, fn, **layers):
        super().__init__()
        self.fn = fn
        for name, layer in layers.items():
            setattr(self, name, layer)

    def forward(self, x):
        return self.fn(self, x)


def layer(module):
    """The module alone."""
    return lambda: Apply(lambda m, x: m.op(x), op=module)


def fn(f, **layers):
    """`f(x)` of a function of tensors (and of `layers`, passed as m)."""
    return lambda: Apply(lambda m, x: f(m, x), **layers)


def _sum_of_halves(x):
    a, b = x.chunk(2, 1)
    return a + b


def _gated_plus_projection(m, x):
    """A gated conv and a projection shortcut, both in one kernel."""
    h = torch.relu(x)
    return m.op(h * torch.sigmoid(h.mean([2, 3], keepdim=True))) + m.proj(x)


def image(c, h, w):
    return {"x": ["N", c, h, w]}


def tokens(t, c):
    return {"x": ["N", t, c]}


# family -> case -> (module factory, inputs). Odd sizes everywhere: a tile
# or vector width that does not divide a size is where kernels go wrong.
CASES = {
    "conv": {
        "conv2d_strided": (layer(nn.Conv2d(3, 13, 3, stride=2, padding=1)), image(3, 13, 11)),
        "conv2d_one_channel": (layer(nn.Conv2d(1, 3, 3)), image(1, 9, 9)),
        "conv2d_pointwise_127": (layer(nn.Conv2d(127, 13, 1)), image(127, 7, 5)),
        "conv2d_grouped": (layer(nn.Conv2d(12, 6, 3, groups=3, bias=False)), image(12, 9, 7)),
        "conv2d_depthwise": (layer(nn.Conv2d(13, 13, 5, padding=2, groups=13)),
                             image(13, 11, 9)),
        "conv2d_dilated": (layer(nn.Conv2d(3, 5, 3, padding=2, dilation=2)), image(3, 13, 13)),
        "conv2d_dilated_3": (layer(nn.Conv2d(3, 5, 3, padding=3, dilation=3)), image(3, 11, 7)),
        # A squeeze-and-excitation gate read in the conv's input loads.
        "conv2d_gated_input": (fn(lambda m, x: m.op(x * torch.sigmoid(x.mean([2, 3], keepdim=True))),
                                  op=nn.Conv2d(13, 7, 1)), image(13, 9, 7)),
        "conv2d_gated_grouped": (
            fn(lambda m, x: m.op(x * torch.sigmoid(x.mean([2, 3], keepdim=True))),
               op=nn.Conv2d(12, 6, 3, padding=1, groups=3)), image(12, 9, 7)),
        "conv2d_gated_parameter": (fn(lambda m, x: m.op(x * m.gate), op=nn.Conv2d(3, 5, 3),
                                      gate=nn.Parameter(torch.rand(1, 3, 1, 1))),
                                   image(3, 9, 7)),
        "conv2d_gated_shortcut": (fn(_gated_plus_projection, op=nn.Conv2d(8, 16, 3, padding=1),
                                     proj=nn.Conv2d(8, 16, 1)), image(8, 9, 7)),
        "conv1d": (layer(nn.Conv1d(3, 13, 5, stride=2, padding=1)), {"x": ["N", 3, 31]}),
        "linear": (layer(nn.Linear(13, 7)), {"x": ["N", 13]}),
        "linear_tokens": (layer(nn.Linear(13, 127)), tokens(5, 13)),
        "linear_channels_last": (layer(nn.Linear(13, 7)), {"x": ["N", 5, 3, 13]}),
        "matmul": (fn(lambda m, x: x @ x.transpose(1, 2)), tokens(5, 13)),
    },
    "norm": {
        "batchnorm2d": (layer(nn.BatchNorm2d(13)), image(13, 7, 5)),
        "batchnorm1d": (layer(nn.BatchNorm1d(13)), {"x": ["N", 13, 17]}),
        "layernorm": (layer(nn.LayerNorm(13)), tokens(5, 13)),
        "softmax": (layer(nn.Softmax(dim=-1)), tokens(5, 13)),
        "normalize": (fn(lambda m, x: F.normalize(x, dim=-1)), tokens(5, 13)),
        "normalize_channels": (fn(lambda m, x: F.normalize(x)), image(13, 7, 5)),
        "attention": (fn(lambda m, x: m.op(x, x, x, need_weights=False)[0],
                         op=nn.MultiheadAttention(12, 3, batch_first=True)), tokens(5, 12)),
        # Swin's: 2 x 3 shifted windows of 3 x 3; a map one window high,
        # shifted along W only; one padded to whole windows; V2's cosine attention.
        "shifted_window_attention": (layer(swin.ShiftedWindowAttention(12, [3, 3], [1, 1], 3)),
                                     {"x": ["N", 6, 9, 12]}),
        "shifted_window_attention_one_row": (
            layer(swin.ShiftedWindowAttention(12, [3, 3], [1, 1], 3)), {"x": ["N", 3, 9, 12]}),
        "shifted_window_attention_padded": (
            layer(swin.ShiftedWindowAttention(12, [3, 3], [1, 1], 3)), {"x": ["N", 5, 7, 12]}),
        "shifted_window_attention_v2": (
            layer(swin.ShiftedWindowAttentionV2(12, [3, 3], [1, 1], 3)), {"x": ["N", 6, 9, 12]}),
    },
    "pool": {
        "maxpool2d_ceil": (layer(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True)),
                           image(3, 13, 11)),
        "maxpool2d_dilated": (layer(nn.MaxPool2d(2, 1, dilation=2)), image(3, 9, 7)),
        "avgpool2d_exclude_pad": (layer(nn.AvgPool2d(3, 2, padding=1, count_include_pad=False)),
                                  image(13, 11, 9)),
        "avgpool2d_ceil": (layer(nn.AvgPool2d(2, ceil_mode=True)), image(3, 7, 5)),
        "adaptive_avgpool2d": (layer(nn.AdaptiveAvgPool2d((3, 2))), image(3, 13, 11)),
        "adaptive_avgpool2d_keep_width": (layer(nn.AdaptiveAvgPool2d((3, None))), image(3, 13, 5)),
        "adaptive_avgpool2d_size_of": (
            fn(lambda m, x: F.adaptive_avg_pool2d(x, (x.shape[2] // 2, x.shape[-1]))),
            image(13, 7, 5)),
        "global_avgpool": (fn(lambda m, x: x.mean([2, 3])), image(13, 7, 5)),
        "mean_channels_keepdim": (fn(lambda m, x: x.mean(1, keepdim=True)), image(13, 7, 5)),
    },
    "unary": {
        name: (layer(module), image(13, 7, 5)) for name, module in [
            ("relu", nn.ReLU()), ("relu6", nn.ReLU6()), ("hardswish", nn.Hardswish()),
            ("hardsigmoid", nn.Hardsigmoid()), ("leaky_relu", nn.LeakyReLU(0.1)),
            ("gelu", nn.GELU()), ("gelu_tanh", nn.GELU(approximate="tanh")), ("silu", nn.SiLU()),
            ("sigmoid", nn.Sigmoid()), ("tanh", nn.Tanh()), ("dropout", nn.Dropout(0.3))]
    },
    "binary": {
        "add": (fn(lambda m, x: x + torch.sigmoid(x)), image(13, 7, 5)),
        "sub_broadcast_channels": (fn(lambda m, x: x - x.mean([2, 3], keepdim=True)),
                                   image(13, 7, 5)),
        "mul_broadcast_gate": (fn(lambda m, x: x * torch.sigmoid(x.mean([2, 3], keepdim=True))),
                               image(3, 9, 7)),
        "div_broadcast_plane": (fn(lambda m, x: x / torch.sigmoid(x.mean(1, keepdim=True))),
                                image(13, 7, 5)),
        "affine_number_minus": (fn(lambda m, x: 1 - x * 0.125), image(13, 7, 5)),
        "affine_divide": (fn(lambda m, x: x / 3 + 2), image(3, 9, 7)),
    },
    "resample": {
        "upsample_nearest_2x": (layer(nn.Upsample(scale_factor=2)), image(3, 7, 5)),
        "upsample_nearest_size": (fn(lambda m, x: F.interpolate(x, size=(13, 11))),
                                  image(1, 7, 5)),
        "upsample_bilinear": (layer(nn.Upsample(scale_factor=2, mode="bilinear")),
                              image(13, 7, 5)),
        "upsample_bilinear_corners": (layer(nn.Upsample(size=(13, 11), mode="bilinear",
                                                        align_corners=True)), image(3, 7, 5)),
        "upsample_bilinear_fraction": (
            fn(lambda m, x: F.interpolate(x, scale_factor=1.5, mode="bilinear")),
            image(13, 7, 5)),
        "conv_transpose2d_2x": (layer(nn.ConvTranspose2d(13, 3, 2, stride=2)), image(13, 7, 5)),
        "conv_transpose2d_padded": (layer(nn.ConvTranspose2d(3, 13, 3, stride=2, padding=1,
                                                             output_padding=1)), image(3, 7, 5)),
        "conv_transpose2d_dilated_grouped": (
            layer(nn.ConvTranspose2d(6, 4, 3, stride=2, dilation=2, groups=2, bias=False)),
            image(6, 5, 7)),
        "conv_transpose2d_one_channel": (layer(nn.ConvTranspose2d(1, 1, 4, stride=3, padding=1)),
                                         image(1, 9, 7)),
    },
    "data": {
        "concat": (fn(lambda m, x: torch.cat([x, torch.relu(x), torch.sigmoid(x)], 1)),
                   image(13, 7, 5)),
        "flatten": (fn(lambda m, x: torch.flatten(x, 1)), image(3, 7, 5)),
        "reshape": (fn(lambda m, x: x.reshape(x.shape[0], 7, 3, 5)), image(3, 7, 5)),
        "permute": (fn(lambda m, x: x.permute(0, 2, 3, 1)), image(13, 7, 5)),
        "transpose": (fn(lambda m, x: x.transpose(1, 2)), tokens(5, 13)),
        "select": (fn(lambda m, x: x[:, 2]), tokens(5, 13)),
        "slice": (fn(lambda m, x: x[:, 1:4]), image(13, 7, 5)),
        "chunk": (fn(lambda m, x: _sum_of_halves(x)), image(14, 7, 5)),
        "concat_last_dim": (fn(lambda m, x: torch.cat([x, torch.tanh(x)], -1)), tokens(5, 13)),
        "roll": (fn(lambda m, x: torch.roll(x, (2, -3), (1, 2))), image(3, 7, 5)),
        "roll_past_size": (fn(lambda m, x: torch.roll(x, 22, -1)), tokens(5, 13)),
        "patch_merging": (layer(swin.PatchMerging(13)), {"x": ["N", 6, 4, 13]}),
        "patch_merging_odd": (layer(swin.PatchMerging(13)), {"x": ["N", 5, 3, 13]}),
    },
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spire", required=True)
    parser.add_argument("--family", choices=sorted(CASES), help="only this family's cases")
    parser.add_argument("--cases", nargs="+", help="only these cases")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()
    cases = {name: c for family, members in CASES.items() for name, c in members.items()
             if args.family in (None, family)}
    if args.cases:
        unknown = sorted(set(args.cases) - set(cases))
        if unknown:
            sys.exit(f"error: no case {', '.join(unknown)} (cases: {', '.join(sorted(cases))})")
        cases = {name: cases[name] for name in args.cases}
    failed = []
    for name, (factory, inputs) in cases.items():
        torch.manual_seed(0)
        try:
            for line in check_module(args.spire, name, factory, inputs, args.batches):
                print(f"ok {line}")
        except (UnsupportedError, Failure) as e:
            print(f"FAIL {name}: {e}")
            failed.append(name)
    if failed:
        sys.exit(f"{len(failed)} of {len(cases)} cases failed: {', '.join(failed)}")
    print(f"all {len(cases)} cases match PyTorch")


if __name__ == "__main__":
    main()
