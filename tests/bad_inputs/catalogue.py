#!/usr/bin/env python3
"""The catalogue of bad inputs: every kind of input a careless or hostile user
can hand Spire (specs, --set values, weights, .npy and .safetensors inputs,
bundles, flags, paths), each with the exit code and the first line of the
message it must get. A crash, a hang or a changed message fails the case.

    catalogue.py --spire build/bin/spire [--filter WORD] [--list]

Exit codes (README): 1 spec, weights or input error; 2 usage error; 3 device.
The expected first line is a regular expression matched at the start of the
first line of stderr.
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

SPEC = 1
USAGE = 2
DEVICE = 3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = os.path.join(ROOT, "specs")


@dataclass
class Case:
    name: str
    args: list          # spire's arguments; {d} is the fixture directory
    code: int
    first: str          # regex for the first line of stderr
    files: dict = field(default_factory=dict)  # name -> str | bytes, written under {d}
    pre: list = field(default_factory=list)    # spire commands that must succeed first


CASES = []


def case(name, args, code, first, pre=(), **files):
    CASES.append(Case(name, args, code, first, files, list(pre)))


# A spec around one layer list, for the checker cases.
def spec(layers, inputs="x: [N, 3, 8, 8]", extra=""):
    return f"spire: 1\nname: t\ninputs:\n  {inputs}\nlayers:\n{layers}{extra}"


def npy(header_dict, data=b"", magic=b"\x93NUMPY", version=b"\x01\x00", pad_to=None):
    header = header_dict.encode()
    total = len(header) + 10 + 1
    header += b" " * ((-total) % 64 if pad_to is None else pad_to - total) + b"\n"
    return magic + version + struct.pack("<H", len(header)) + header + data


def safetensors(entries, data, header_text=None):
    text = header_text if header_text is not None else json.dumps(entries)
    header = text.encode()
    return struct.pack("<Q", len(header)) + header + data


# ---------------------------------------------------------------- YAML syntax
case("yaml_empty", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:1: error: the spec is empty", **{"s.yaml": ""})
case("yaml_comments_only", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:1: error: the spec is empty",
     **{"s.yaml": "# nothing\n# here\n"})
case("yaml_tab_indent", ["check", "{d}/s.yaml"], SPEC,
     r".*s\.yaml:5:1: error: malformed YAML: a tab in the indentation",
     **{"s.yaml": "spire: 1\nname: t\ninputs:\n  x: [N, 4]\n\t- relu\nlayers:\n  - relu\n"})
case("yaml_unclosed_brace", ["check", "{d}/s.yaml"], SPEC,
     r".*s\.yaml:7:13: error: malformed YAML: this '\{' is never closed \(expected '\}'; the parser stopped at line 9",
     **{"s.yaml": spec("  - relu\n  - linear: {name: fc, out: 4\n  - relu\n", "x: [N, 4]")})
case("yaml_unclosed_bracket", ["check", "{d}/s.yaml"], SPEC,
     r".*s\.yaml:4:6: error: malformed YAML: this '\[' is never closed",
     **{"s.yaml": "spire: 1\nname: t\ninputs:\n  x: [N, 4\nlayers:\n  - relu\n"})
case("yaml_two_documents", ["check", "{d}/s.yaml"], SPEC,
     r".*s\.yaml:8:1: error: the file holds several YAML documents",
     **{"s.yaml": spec("  - relu\n", "x: [N, 4]") + "\n---\nspire: 1\n"})
case("yaml_leading_comma", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:1: error: malformed YAML",
     **{"s.yaml": ",spire: 1\n"})
case("yaml_recursive_alias", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:\d+:\d+: error: the YAML nests deeper than 64",
     **{"s.yaml": "a: &x [*x]\n"})
case("yaml_alias_bomb", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:\d+:\d+: error: the YAML expands to over",
     **{"s.yaml": "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
         f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
         f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
         for i in range(8))})
case("yaml_deep_nesting", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:\d+:\d+: error: the YAML nests deeper than 64",
     **{"s.yaml": "a: " + "[" * 200 + "]" * 200 + "\n"})
case("yaml_duplicate_key", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:3:1: error: duplicate key 'name'",
     **{"s.yaml": "spire: 1\nname: t\nname: u\ninputs:\n  x: [N, 4]\nlayers:\n  - relu\n"})
case("yaml_top_level_list", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:1: error: ",
     **{"s.yaml": "- relu\n- relu\n"})
case("yaml_top_level_scalar", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:1: error: ",
     **{"s.yaml": "hello\n"})
case("yaml_binary_garbage", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:\d+:\d+: error: ",
     **{"s.yaml": bytes(range(256)) * 4})
case("yaml_map_key_list", ["check", "{d}/s.yaml"], SPEC, r".*s\.yaml:1:3: error: map keys must be plain names, not a list",
     **{"s.yaml": "? [a, b]\n: 1\n"})
case("yaml_spec_missing_file", ["check", "{d}/nothing.yaml"], SPEC, r"error: cannot read spec '.*nothing\.yaml': No such file or directory")
case("yaml_spec_directory", ["check", "{d}"], SPEC, r"error: .*: ")

# ------------------------------------------------------------ spec semantics
def bad_spec(name, layers, first, inputs="x: [N, 3, 8, 8]", extra="", args=("check",), code=SPEC):
    case("spec_" + name, [*args, "{d}/s.yaml"], code, first, **{"s.yaml": spec(layers, inputs, extra)})


bad_spec("unknown_layer", "  - convolution: {out: 4}\n", r".*s\.yaml:6:5: error: unknown layer 'convolution'")
bad_spec("unknown_layer_typo", "  - rellu\n", r".*s\.yaml:6:5: error: unknown layer 'rellu' \(did you mean 'relu'\?\)")
bad_spec("unknown_key", "  - conv2d: {out: 4, kernal: 3}\n", r".*s\.yaml:6:\d+: error: unknown key 'kernal'")
bad_spec("missing_key", "  - conv2d: {kernel: 3}\n", r".*s\.yaml:6:\d+: error: conv2d '.*': missing required key 'out'")
bad_spec("wrong_type", "  - conv2d: {out: four, kernel: 3}\n", r".*s\.yaml:6:\d+: error: conv2d '.*': 'out' must be an integer, got 'four'")
bad_spec("int_too_large", "  - conv2d: {out: 9223372036854775807, kernel: 3}\n",
         r".*s\.yaml:6:\d+: error: conv2d '.*': 'out' is 9223372036854775807; integers must be in \(-2\^31, 2\^31\)")
bad_spec("int_beyond_int64", "  - conv2d: {out: 99999999999999999999, kernel: 3}\n",
         r".*s\.yaml:6:\d+: error: conv2d '.*': 'out' must be an integer, got '99999999999999999999'")
bad_spec("kernel_too_large", "  - conv2d: {out: 4, kernel: 9}\n", r".*s\.yaml:6:5: error: conv2d '.*' ")
bad_spec("stride_zero", "  - conv2d: {out: 4, kernel: 3, stride: 0}\n", r".*s\.yaml:6:\d+: error: conv2d '.*'")
bad_spec("out_zero", "  - conv2d: {out: 0, kernel: 3}\n", r".*s\.yaml:6:\d+: error: conv2d '.*'")
bad_spec("groups_not_dividing", "  - conv2d: {out: 4, kernel: 3, groups: 2}\n", r".*s\.yaml:6:\d+: error: conv2d '.*'")
bad_spec("linear_pooled_map", "  - global_avgpool\n  - linear: {out: 4}\n",
         r".*s\.yaml:7:5: error: linear '.*' expects \[N, \.\.\., features\] \(not a pooled map\)")
bad_spec("reshape_mismatch", "  - reshape: {shape: [5, 7]}\n", r".*s\.yaml:6:5: error: reshape '0' cannot reshape \[N, 3, 8, 8\] from input 'x' \(192 elements per sample\) to \[N, 5, 7\]")
bad_spec("reshape_overflow", "  - reshape: {shape: [2147483647, 2147483647, 2147483647]}\n",
         r".*s\.yaml:6:5: error: reshape '0' cannot reshape \[N, 3, 8, 8\] .* to \[N, 2147483647, 2147483647, 2147483647\]")
bad_spec("flatten_overflow", "  - flatten\n", r".*s\.yaml:6:5: error: flatten '.*' produces \[N, 2\^90\], a dim over 2\^31",
         inputs="x: [N, 1073741824, 1073741824, 1073741824]")
bad_spec("linear_huge_weight", "  - linear: {name: fc, out: 2147483647}\n",
         r".*s\.yaml:6:5: error: linear 'fc' has a weight of \[2147483647, 2147483647\] \(1\.8e\+19 \(~2\^64\) bytes\); a Vulkan buffer binding addresses at most 4 GiB",
         inputs="x: [N, 2147483647]")
bad_spec("parameter_huge", "  - parameter: {name: p, shape: [65536, 65536]}\n",
         r".*s\.yaml:6:5: error: parameter 'p' produces \[N, 65536, 65536\] \(4294967296 elements per sample\), over 2\^31")
bad_spec("padding_huge", "  - conv2d: {name: c, out: 1, kernel: 1, padding: 2000000000}\n",
         r".*s\.yaml:6:5: error: conv2d 'c' produces \[N, 1, 4000000008, 4000000008\], a dim over 2\^31")
bad_spec("input_size_zero", "  - relu\n", r".*s\.yaml:4:\d+: error: input 'x' has size 0 in dim 1", inputs="x: [N, 0, 8, 8]")
bad_spec("input_size_2_31", "  - relu\n", r".*s\.yaml:4:\d+: error: input 'x' has size 2147483648 in dim 1; sizes must be in \[1, 2\^31\)",
         inputs="x: [N, 2147483648]")
bad_spec("input_rank_9", "  - relu\n", r".*s\.yaml:4:\d+: error: input 'x' has rank 9; bundles hold tensors of rank at most 8",
         inputs="x: [N, 1, 1, 1, 1, 1, 1, 1, 1]")
bad_spec("input_dtype", "  - relu\n", r".*s\.yaml:4:\d+: error: input 'x' has dtype 'f16'",
         inputs="x: {shape: [N, 4], dtype: f16}")
bad_spec("input_bad_dim", "  - relu\n", r".*s\.yaml:4:\d+: error: input 'x' dim 1 must be a size or a size symbol",
         inputs="x: [N, 1.5]")
bad_spec("undefined_tensor", "  - add: {with: nowhere}\n", r".*s\.yaml:6:\d+: error: unknown tensor 'nowhere'")
bad_spec("duplicate_name", "  - relu: {name: a}\n  - relu: {name: a}\n", r".*s\.yaml:7:\d+: error: duplicate name 'a'")
bad_spec("add_shape_mismatch", "  - conv2d: {name: c, out: 4, kernel: 3}\n  - add: {with: x}\n", r".*s\.yaml:7:5: error: add '.*'")
bad_spec("concat_without_with", "  - concat\n", r".*s\.yaml:6:5: error: concat '.*' needs 'with'")
bad_spec("repeat_zero", "  - b: {repeat: 0}\n", r".*s\.yaml:\d+:\d+: error: 'repeat' must be in \[1, 4096\], got 0",
         extra="blocks:\n  b:\n    layers:\n      - relu\n")
bad_spec("repeat_huge", "  - b: {repeat: 100000}\n", r".*s\.yaml:\d+:\d+: error: 'repeat' must be in \[1, 4096\], got 100000",
         extra="blocks:\n  b:\n    layers:\n      - relu\n")
bad_spec("block_unknown_param", "  - b\n", r".*s\.yaml:\d+:\d+: error: .*'\$width' is not a parameter of the enclosing block",
         extra="blocks:\n  b:\n    layers:\n      - conv2d: {out: $width, kernel: 1}\n")
bad_spec("split_unknown_layer", "  - relu: {name: a}\n", r".*s\.yaml:\d+:\d+: error: ", extra="stages:\n  - after: nowhere\n")
bad_spec("unknown_top_level_key", "  - relu\n", r".*s\.yaml:\d+:1: error: unknown key 'layerz'", extra="layerz: []\n")
bad_spec("batch_mismatch", "  - relu\n", r".*s\.yaml:5:\d+: error: input 'y' has batch dim M but the first input's is N",
         inputs="x: [N, 4]\n  y: [M, 4]")
bad_spec("upsample_scale_huge", "  - upsample: {name: u, scale: 1000000000}\n",
         r".*s\.yaml:6:5: error: upsample 'u' produces \[N, 3, 8000000000, 8000000000\], a dim over 2\^31")
bad_spec("upsample_scale_nan", "  - upsample: {name: u, scale: nan}\n",
         r".*s\.yaml:6:5: error: upsample 'u' has scale \[nan, nan\]; expected two finite factors > 0")
bad_spec("upsample_scale_and_size", "  - upsample: {name: u, scale: 2, size: 16}\n",
         r".*s\.yaml:6:5: error: upsample 'u' has both scale and size")
bad_spec("conv_transpose_stride_huge", "  - conv_transpose2d: {name: t, out: 1, kernel: 1, stride: 2000000000}\n",
         r".*s\.yaml:6:5: error: conv_transpose2d 't' produces \[N, 1, 14000000001, 14000000001\], a dim over 2\^31")
bad_spec("pool_larger_than_input", "  - maxpool2d: {kernel: 16}\n", r".*s\.yaml:6:5: error: maxpool2d '.*'")
bad_spec("symbolic_linear", "  - linear: {out: 4}\n", r".*s\.yaml:6:5: error: linear '.*'", inputs="x: [N, L]")
bad_spec("unbound_symbol_compile", "  - relu\n", r".*s\.yaml:\d+:\d+: error: .*--set", inputs="x: [N, L]",
         args=("compile", "-o", "{d}/out.spire"))
case("spec_set_unknown_symbol", ["check", "{d}/s.yaml", "--set", "Q=4"], SPEC, r".*s\.yaml:\d+:\d+: error: --set Q=4: no input has a size symbol 'Q'",
     **{"s.yaml": spec("  - relu\n", "x: [N, L]")})
case("spec_set_huge", ["compile", "{d}/s.yaml", "--set", "L=9223372036854775807", "-o", "{d}/o.spire"], SPEC,
     r".*s\.yaml:4:\d+: error: input 'x' dim 2 is L, bound to 9223372036854775807 by --set; sizes must be in \[1, 2\^31\)",
     **{"s.yaml": spec("  - conv1d: {out: 4, kernel: 3}\n", "x: [N, 4, L]")})
case("spec_set_2_31", ["check", "{d}/s.yaml", "--set", "L=2147483648"], SPEC,
     r".*s\.yaml:4:\d+: error: input 'x' dim 2 is L, bound to 2147483648 by --set",
     **{"s.yaml": spec("  - relu\n", "x: [N, 4, L]")})
case("spec_set_zero", ["check", "{d}/s.yaml", "--set", "L=0"], USAGE, r"error: --set expects SYMBOL=SIZE with SIZE >= 1, got 'L=0'",
     **{"s.yaml": spec("  - relu\n", "x: [N, L]")})
case("spec_set_no_equals", ["check", "{d}/s.yaml", "--set", "L"], USAGE, r"error: --set expects SYMBOL=SIZE",
     **{"s.yaml": spec("  - relu\n", "x: [N, L]")})
case("spec_set_not_number", ["check", "{d}/s.yaml", "--set", "L=12abc"], USAGE, r"error: --set expects SYMBOL=SIZE",
     **{"s.yaml": spec("  - relu\n", "x: [N, L]")})
case("spec_summary_huge", ["summary", "{d}/s.yaml"], SPEC, r".*s\.yaml:6:5: error: linear 'fc' has a weight",
     **{"s.yaml": spec("  - linear: {name: fc, out: 2147483647}\n", "x: [N, 2147483647]")})

# -------------------------------------------------------------------- weights
def weights_case(name, blob, first, code=SPEC, spec_file="mlp"):
    case("weights_" + name, ["compile", os.path.join(SPECS, spec_file + ".yaml"), "--weights", "{d}/w.safetensors",
                             "-o", "{d}/o.spire"], code, first, **{"w.safetensors": blob})


weights_case("empty", b"", r".*w\.safetensors: error: not a \.safetensors file: 0 bytes")
weights_case("garbage", b"not a safetensors file at all",
             r".*w\.safetensors: error: truncated \.safetensors file: the header says 7021991845529153390 bytes")
weights_case("header_len_huge", struct.pack("<Q", 2 ** 63) + b"{}",
             r".*w\.safetensors: error: truncated \.safetensors file: the header says 9223372036854775808 bytes")
weights_case("header_truncated", struct.pack("<Q", 100) + b"{\"a\":",
             r".*w\.safetensors: error: truncated \.safetensors file: the header says 100 bytes of JSON but the file has 5")
weights_case("header_not_json", safetensors(None, b"", "{not json"),
             r".*w\.safetensors: error: the \.safetensors header is not a JSON object")
weights_case("header_not_object", safetensors(None, b"", "[1, 2]"),
             r".*w\.safetensors: error: the \.safetensors header is not a JSON object")
weights_case("missing_tensor", safetensors({}, b""),
             r".*mlp\.yaml:8:5: error: linear 'fc1' needs 'fc1\.weight' \[256, 784\], which .*w\.safetensors does not have")
weights_case("offsets_beyond_file",
             safetensors({"fc1.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1 << 40]}}, b"\0" * 8),
             r".*w\.safetensors: error: tensor 'fc1\.weight': data_offsets \[0, 1099511627776\) outside the data \(8 bytes\)")
weights_case("shape_overflow",
             safetensors({"fc1.weight": {"dtype": "F32", "shape": [2 ** 31, 2 ** 31, 2 ** 31], "data_offsets": [0, 8]}},
                         b"\0" * 8),
             r".*w\.safetensors: error: tensor 'fc1\.weight': F32 \[2147483648, 2147483648, 2147483648\] has more bytes than fit in 64 bits")
weights_case("overlapping",
             safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
             r".*w\.safetensors: error: tensor 'b': data_offsets \[4, 12\) overlap tensor 'a'")
weights_case("duplicate_key",
             safetensors(None, b"\0" * 16, '{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                                           '"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}'),
             r".*w\.safetensors: error: tensor 'a': named twice in the header")
weights_case("size_disagrees",
             safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
             r".*w\.safetensors: error: tensor 'a': holds 8 bytes but F32 \[3\] needs 12")
weights_case("negative_dim",
             safetensors({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
             r".*w\.safetensors: error: tensor 'a': malformed shape")
weights_case("bad_dtype_field",
             safetensors({"a": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
             r".*w\.safetensors: error: tensor 'a': malformed entry \(needs dtype, shape, data_offsets\)")
case("weights_missing_file", ["compile", os.path.join(SPECS, "mlp.yaml"), "--weights", "{d}/none.safetensors",
                              "-o", "{d}/o.spire"], SPEC, r".*none\.safetensors: error: cannot read: No such file or directory")
case("weights_directory", ["compile", os.path.join(SPECS, "mlp.yaml"), "--weights", "{d}", "-o", "{d}/o.spire"],
     SPEC, r".*: error: cannot read: Is a directory")
weights_case("wrong_shape",
             safetensors({"fc1.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, b"\0" * 16),
             r".*mlp\.yaml:8:5: error: linear 'fc1' needs 'fc1\.weight' \[256, 784\] but .*w\.safetensors has \[2, 2\]")
weights_case("wrong_dtype",
             safetensors({"fc1.weight": {"dtype": "F16", "shape": [256, 784], "data_offsets": [0, 401408]}},
                         b"\0" * 401408),
             r".*w\.safetensors: error: tensor 'fc1\.weight': dtype F16 is not supported \(F32 or F64\)")

# ---------------------------------------------------------------- .npy inputs
def npy_case(name, blob, first, code=SPEC, input_name="x"):
    case("npy_" + name, ["run", "{d}/mlp.spire", "--input", input_name + "={d}/i.npy"], code, first,
         **{"i.npy": blob})


GOOD_HEADER = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 784), }"
npy_case("empty", b"", r"error: .*i\.npy: ")
npy_case("garbage", b"hello world, not numpy" * 4, r"error: .*i\.npy: ")
npy_case("bad_magic", npy(GOOD_HEADER, b"\0" * 3136, magic=b"\x93NUMPX"), r"error: .*i\.npy: ")
npy_case("bad_version", npy(GOOD_HEADER, b"\0" * 3136, version=b"\x09\x00"), r"error: .*i\.npy: ")
npy_case("header_1mb", b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 20) + b"{" + b"(" * ((1 << 20) - 2) + b"\n",
         r"error: .*i\.npy: ")
npy_case("header_not_dict", npy("[1, 2, 3]", b"\0" * 3136), r"error: .*i\.npy: ")
npy_case("shape_negative", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 784), }", b"\0" * 3136),
         r"error: .*i\.npy: ")
npy_case("shape_huge", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", b"\0" * 16),
         r"error: .*i\.npy: ")
npy_case("shape_not_tuple", npy("{'descr': '<f4', 'fortran_order': False, 'shape': 'big', }", b"\0" * 3136),
         r"error: .*i\.npy: ")
npy_case("fortran_order", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 784), }", b"\0" * 3136),
         r"error: .*i\.npy: ")
npy_case("dtype_f64", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 784), }", b"\0" * 6272),
         r"error: .*i\.npy: dtype '<f8' is not supported")
npy_case("dtype_big_endian", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 784), }", b"\0" * 3136),
         r"error: .*i\.npy: dtype '>f4' is not supported")
npy_case("data_truncated", npy(GOOD_HEADER, b"\0" * 100), r"error: .*i\.npy: ")
npy_case("missing_keys", npy("{'descr': '<f4', }", b"\0" * 3136), r"error: .*i\.npy: ")
npy_case("wrong_shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 783), }", b"\0" * 3132),
         r"error: input 'x': expected \[N, 784\] \(any N\) but got \[1, 783\]")
npy_case("wrong_rank", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (784,), }", b"\0" * 3136),
         r"error: input 'x': expected \[N, 784\] \(any N\) but got \[784\]")
npy_case("zero_batch", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 784), }", b""),
         r"error: ")
npy_case("unknown_name", npy(GOOD_HEADER, b"\0" * 3136), r"error: unknown input 'picture'", input_name="picture")
case("npy_missing_file", ["run", "{d}/mlp.spire", "--input", "x={d}/none.npy"], SPEC, r"error: .*none\.npy: ")
case("npy_directory", ["run", "{d}/mlp.spire", "--input", "x={d}"], SPEC, r"error: .*: .*directory")
case("npy_no_equals", ["run", "{d}/mlp.spire", "--input", "{d}/i.npy"], USAGE, r"error: --input expects NAME=FILE\.npy")

# -------------------------------------------------- .safetensors interface input
def iface_case(name, blob, first, code=SPEC):
    case("iface_" + name, ["run", "{d}/mlp.spire", "--input", "{d}/i.safetensors"], code, first,
         **{"i.safetensors": blob})


iface_case("garbage", b"\x01\x00\x00\x00\x00\x00\x00\x00{", r"error: .*i\.safetensors: ")
iface_case("wrong_name", safetensors({"y": {"dtype": "F32", "shape": [1, 784], "data_offsets": [0, 3136]}}, b"\0" * 3136),
           r"error: ")
iface_case("wrong_shape", safetensors({"x": {"dtype": "F32", "shape": [1, 32], "data_offsets": [0, 128]}}, b"\0" * 128),
           r"error: input 'x': expected \[N, 784\]")
iface_case("wrong_dtype", safetensors({"x": {"dtype": "F16", "shape": [1, 784], "data_offsets": [0, 1568]}}, b"\0" * 1568),
           r"error: .*i\.safetensors: ")

# -------------------------------------------------------------------- bundles
def bundle_case(name, first, code=SPEC, mutate=None, blob=None):
    # mutate(bytes) -> bytes is applied to a fresh mlp bundle in fixtures().
    c = Case("bundle_" + name, ["run", "{d}/b.spire"], code, first, {"b.spire": blob if blob is not None else mutate})
    CASES.append(c)


M64 = 0xFFFFFFFFFFFFFFFF
FNV_START, FNV_PRIME = 0xcbf29ce484222325, 0x100000001b3


def fnv1a(data, h=FNV_START):
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & M64
    return h


def bundle_checksum(version, data):
    """BundleFormat.h's bundleChecksum: FNV-1a before version 4, then its
    four word lanes over 32-byte blocks, folded with the length and tail."""
    if version < 4:
        return fnv1a(data)
    lanes = [FNV_START + i for i in range(4)]
    blocks = len(data) // 32
    for k in range(blocks):
        for i, word in enumerate(struct.unpack_from("<4Q", data, 32 * k)):
            lanes[i] = ((lanes[i] ^ word) * FNV_PRIME) & M64
    h = ((FNV_START ^ len(data)) * FNV_PRIME) & M64
    for lane in lanes:
        h = ((h ^ lane) * FNV_PRIME) & M64
    return fnv1a(data[32 * blocks:], h)


def refresh_checksum(b):
    b = bytearray(b)
    version = struct.unpack_from("<I", b, 8)[0]
    struct.pack_into("<Q", b, 56, bundle_checksum(version, bytes(b[64:])))
    return bytes(b)


def at_spirv(b, offset, value_bytes):
    i = b.find(struct.pack("<I", 0x07230203))
    b = bytearray(b)
    b[i + offset:i + offset + len(value_bytes)] = value_bytes
    return refresh_checksum(b)


def spirv_operand(b, opcode, operand, value, where=None):
    """Sets `operand` of the first instruction with `opcode` (and, with
    `where` = (i, v), operand i equal to v) in the first SPIR-V module of the
    bundle's file, checksum refreshed: a well-formed but hostile kernel."""
    start = b.find(struct.pack("<I", 0x07230203))
    at = start + 20
    while True:
        word = struct.unpack_from("<I", b, at)[0]
        if word & 0xFFFF == opcode and (where is None or
                                        struct.unpack_from("<I", b, at + 4 * where[0])[0] == where[1]):
            b = bytearray(b)
            struct.pack_into("<I", b, at + 4 * operand, value)
            return refresh_checksum(b)
        at += 4 * (word >> 16)


def set_header(b, offset, fmt, value, checksum=False):
    b = bytearray(b)
    struct.pack_into(fmt, b, offset, value)
    return refresh_checksum(b) if checksum else bytes(b)


bundle_case("empty", r"error: .*b\.spire: file too small", blob=b"")
bundle_case("text", r"error: .*b\.spire: file too small", blob=b"hello\n")
bundle_case("bad_magic", r"error: .*b\.spire: not a Spire bundle \(bad magic\)", mutate=lambda b: b"X" + b[1:])
bundle_case("truncated", r"error: .*b\.spire: truncated or padded", mutate=lambda b: b[:len(b) // 2])
bundle_case("padded", r"error: .*b\.spire: truncated or padded", mutate=lambda b: b + b"\0" * 16)
bundle_case("future_version", r"error: .*b\.spire: bundle format version 99", mutate=lambda b: set_header(b, 8, "<I", 99))
bundle_case("bit_flip", r"error: .*b\.spire: checksum mismatch", mutate=lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:])
bundle_case("header_size", r"error: .*b\.spire: invalid header size", mutate=lambda b: set_header(b, 12, "<I", 1 << 30))
bundle_case("manifest_outside", r"error: .*b\.spire: manifest .* lies outside the file",
            mutate=lambda b: set_header(b, 24, "<Q", 1 << 40))
bundle_case("weights_outside", r"error: .*b\.spire: weights .* lie outside the file",
            mutate=lambda b: set_header(b, 40, "<Q", 1 << 40))
bundle_case("manifest_garbage", r"error: .*b\.spire: ",
            mutate=lambda b: refresh_checksum(b[:64] + bytes((x * 7 + 3) & 0xff for x in range(256)) + b[320:]))
bundle_case("spirv_magic", r"error: .*b\.spire: .*SPIR-V magic number 0x",
            mutate=lambda b: at_spirv(b, 0, b"\xff"))
bundle_case("spirv_version", r"error: .*b\.spire: .*SPIR-V version word",
            mutate=lambda b: at_spirv(b, 4, struct.pack("<I", 0x00090000)))
bundle_case("spirv_instruction_length", r"error: .*b\.spire: .*the SPIR-V instruction at word 5 has 65535 words",
            mutate=lambda b: at_spirv(b, 22, b"\xff\xff"))
# --untrusted: kernels that could address memory beyond their bindings.
# OpDecorate operands: target, decoration (11 BuiltIn, 33 Binding, 34 DescriptorSet), value.
for name, opcode, operand, value, where, first in [
        ("capability", 17, 1, 5347, None, r"declares capability 5347"),  # PhysicalStorageBufferAddresses
        ("addressing", 14, 1, 5348, None, r"uses addressing model 5348, not Logical"),  # PhysicalStorageBuffer64
        ("descriptor_set", 71, 3, 3, (2, 34), r"uses descriptor set 3; bundles bind set 0"),
        ("binding", 71, 3, 9, (2, 33), r"uses binding 9; its dispatches bind \d+"),
        # lavapipe crashes compiling a compute shader that reads ClipDistance.
        ("builtin", 71, 3, 3, (2, 11), r"uses builtin 3, not one of a compute shader's")]:
    case("bundle_untrusted_" + name, ["run", "{d}/b.spire", "--untrusted"], SPEC,
         r"error: kernel \d+ \('.*'\): the SPIR-V instruction at word \d+ " + first + "; refused for an untrusted bundle",
         **{"b.spire": lambda b, o=opcode, i=operand, v=value, w=where: spirv_operand(b, o, i, v, w)})
bundle_case("spec_as_bundle", r"error: .*b\.spire: ", blob=open(os.path.join(SPECS, "mlp.yaml"), "rb").read())
case("bundle_missing_file", ["run", "{d}/none.spire"], SPEC, r"error: .*none\.spire: ")
case("bundle_directory", ["run", "{d}"], SPEC, r"error: .*: .*directory")
case("bundle_bench_corrupt", ["bench", "{d}/b.spire"], SPEC, r"error: .*b\.spire: file too small", **{"b.spire": b"x"})

# ---------------------------------------------------------------------- flags
def flag_case(name, args, code, first):
    case("flag_" + name, args, code, first)


M = "{d}/mlp.spire"
flag_case("unknown_subcommand", ["frobnicate"], USAGE, r".+")
flag_case("unknown_flag", ["run", M, "--frobnicate"], USAGE, r".+")
flag_case("no_arguments_run", ["run"], USAGE, r".+")
flag_case("device_negative", ["run", M, "--device", "-5"], USAGE, r".*--device: '-5' is not a whole number")
flag_case("device_missing", ["run", M, "--device", "42"], USAGE, r"error: --device 42: there are \d+ device\(s\)")
flag_case("device_text", ["run", M, "--device", "gpu"], USAGE, r".*--device")
flag_case("batch_zero", ["run", M, "--batch", "0"], USAGE, r".*--batch")
flag_case("batch_negative", ["run", M, "--batch", "-1"], USAGE, r".*--batch")
flag_case("batch_hex", ["run", M, "--batch", "0x2"], USAGE, r".*--batch")
flag_case("batch_huge", ["run", M, "--batch", "99999999999999999999"], USAGE, r".*--batch")
flag_case("batch_over_cli_limit", ["run", M, "--batch", "2000000000"], USAGE, r".*--batch")
# 16 MiB a sample: 65535 samples fit no device's bindings (maxStorageBufferRange
# is 32-bit), so the advice names the batch that does, before inputs are made.
WIDE = {"w.yaml": spec("  - relu\n", "x: [N, 4194304]"), "pre": [["compile", "{d}/w.yaml", "-o", "{d}/w.spire"]]}
for cmd in ("run", "bench"):
    case(f"flag_{cmd}_batch_too_large_for_device", [cmd, "{d}/w.spire", "--batch", "65535"], SPEC,
         r"error: device '.*': .* needs .* at batch 65535, over .*; at most batch \d+ fits",
         pre=WIDE["pre"], **{"w.yaml": WIDE["w.yaml"]})
flag_case("stages_garbage", ["run", M, "--stages", "0x..1zz"], USAGE, r"error: --stages '0x\.\.1zz'")
flag_case("stages_out_of_range", ["run", M, "--stages", "5..9"], USAGE, r"error: --stages '5\.\.9'")
flag_case("stages_reversed", ["run", M, "--stages", "1..0"], USAGE, r"error: --stages '1\.\.0'")
flag_case("iters_negative", ["bench", M, "--iters", "-1"], USAGE, r".*--iters")
flag_case("micro_batches_zero", ["run", M, "--micro-batches", "0"], USAGE, r".*--micro-batches")
flag_case("place_garbage", ["run", M, "--place", "zero:one"], USAGE, r"error: --place 'zero:one'")
flag_case("place_missing_device", ["run", M, "--place", "0:7"], USAGE, r"error: --place '0:7'")
flag_case("output_under_file", ["run", M, "--output", "{d}/mlp.spire/y.npy"], SPEC, r"error: .*y\.npy")
flag_case("output_dir_under_file", ["run", M, "--output-dir", "{d}/mlp.spire/out"], SPEC,
          r"error: --output-dir .*: cannot create the directory")
flag_case("target_unknown", ["compile", os.path.join(SPECS, "mlp.yaml"), "--target", "tpu", "-o", "{d}/o.spire"], USAGE,
          r"error: --target: unknown target 'tpu'; the built-in targets are lavapipe, ")
flag_case("target_file_missing", ["compile", os.path.join(SPECS, "mlp.yaml"), "--target", "{d}/none.json",
                                  "-o", "{d}/o.spire"], USAGE,
          r"error: --target: target file '.*none\.json': cannot read it: No such file or directory")
flag_case("emit_unknown", ["compile", os.path.join(SPECS, "mlp.yaml"), "--emit", "llvm"], USAGE, r".*--emit")
flag_case("compile_output_directory", ["compile", os.path.join(SPECS, "mlp.yaml"), "-o", "{d}"], SPEC, r"error: .*")
flag_case("compile_stage_out_of_range", ["compile", os.path.join(SPECS, "mlp.yaml"), "--stage", "7", "-o", "{d}/o.spire"],
          USAGE, r"error: .*--stage")
flag_case("broadcast_lanes_bad", ["compile", os.path.join(SPECS, "mlp.yaml"), "--broadcast-lanes", "3",
                                  "-o", "{d}/o.spire"], USAGE, r".*--broadcast-lanes")
flag_case("tile_zero", ["compile", os.path.join(SPECS, "mlp.yaml"), "--tile-channels", "0", "-o", "{d}/o.spire"],
          USAGE, r".*--tile-channels")
flag_case("split_stages_zero", ["split", os.path.join(SPECS, "mlp.yaml"), "--stages", "0"], USAGE, r".*--stages")
flag_case("devices_profile_missing", ["devices", "--profile", "99"], USAGE,
          r"error: device 99: there are \d+ device\(s\); see `spire devices`")


def fixtures(spire, d):
    """The bundle cases start from: specs/mlp.yaml (input x: [N, 784]) compiled."""
    subprocess.run([spire, "compile", os.path.join(SPECS, "mlp.yaml"), "-o", os.path.join(d, "mlp.spire")],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "mlp.spire"), "rb") as f:
        return f.read()


def run_case(spire, c, d, good):
    for name, content in c.files.items():
        if callable(content):
            content = content(good)
        mode = "wb" if isinstance(content, (bytes, bytearray)) else "w"
        with open(os.path.join(d, name), mode) as f:
            f.write(content)
    for pre in c.pre:
        subprocess.run([spire, *[a.replace("{d}", d) for a in pre]], check=True, capture_output=True)
    args = [a.replace("{d}", d) for a in c.args]
    try:
        p = subprocess.run([spire, *args], capture_output=True, text=True, errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        return "hung (over 120 s)"
    first = p.stderr.splitlines()[0] if p.stderr else ""
    problems = []
    if p.returncode != c.code:
        problems.append(f"exit code {p.returncode}, expected {c.code}")
    if not re.match(c.first, first):
        problems.append(f"first line {first!r} does not match {c.first!r}")
    if "AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
        problems.append("sanitizer report:\n" + p.stderr[-2000:])
    return "; ".join(problems)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spire", required=True)
    ap.add_argument("--filter", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--show", action="store_true", help="print each case's exit code and first line")
    args = ap.parse_args()
    cases = [c for c in CASES if args.filter in c.name]
    if args.list:
        for c in cases:
            print(c.name)
        print(f"{len(cases)} case(s)")
        return 0
    with tempfile.TemporaryDirectory() as top:
        fix = os.path.join(top, "fixtures")
        os.mkdir(fix)
        good = fixtures(args.spire, fix)
        failures = 0
        for i, c in enumerate(cases):
            d = os.path.join(top, f"case{i}")
            os.mkdir(d)
            os.link(os.path.join(fix, "mlp.spire"), os.path.join(d, "mlp.spire"))
            problem = run_case(args.spire, c, d, good)
            if problem:
                failures += 1
                print(f"FAIL {c.name}: {problem}")
            elif args.show:
                print(f"ok   {c.name}")
        print(f"{len(cases) - failures} of {len(cases)} bad-input case(s) got their exit code and message")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
