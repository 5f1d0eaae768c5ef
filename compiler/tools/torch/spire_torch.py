#!/usr/bin/python3
"""PyTorch interop for Spire: a spec from a module, weights as .safetensors.

Runs on Debian's python3-torch (/usr/bin/python3); no other package.

    # the spec, traced with torch.fx (MODEL: package.module:factory or a
    # torch.save()d module file); module structure that repeats becomes
    # blocks, --flat writes one layer per line
    spire_torch.py spec torchvision.models:resnet18 --input image=N,3,224,224 -o resnet18.yaml
    # both at once (--weights): needed where forward computes a tensor from
    # learned ones alone (MaxViT's relative position bias)
    # the weights, by state_dict name (MODEL may also be a saved state_dict);
    # of a module, only those of the modules forward calls
    spire_torch.py export torchvision.models:resnet18 -o resnet18.safetensors

The safetensors format is small enough to write directly: an 8-byte
little-endian header length, a JSON header {name: {dtype, shape,
data_offsets}}, then the raw little-endian tensor bytes. From Python:

    from spire_torch import save_safetensors
    save_safetensors(module.state_dict(), "weights.safetensors")
"""
import argparse
import importlib
import json
import os
import struct
import sys

import torch

_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}


def save_safetensors(state_dict, path):
    """Writes every tensor of `state_dict` (name -> tensor) to `path`."""
    header, blobs, offset = {}, [], 0
    for name, tensor in state_dict.items():
        tensor = tensor.detach().cpu().contiguous()
        if tensor.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {tensor.dtype} is not supported")
        data = tensor.numpy().tobytes()
        header[name] = {"dtype": _DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load_model(spec):
    """`package.module:factory` (called with no arguments) or a torch.save()d file."""
    if ":" in spec and not os.path.exists(spec):
        module_name, factory = spec.split(":", 1)
        return getattr(importlib.import_module(module_name), factory)()
    return torch.load(spec, map_location="cpu")


def parse_input(text):
    """image=N,3,224,224 -> ("image", ["N", 3, 224, 224])"""
    name, _, dims = text.partition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"expected NAME=D0,D1,..., got '{text}'")
    return name, [int(d) if d.isdigit() else d for d in dims.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="a model's state_dict to .safetensors")
    export.add_argument("model", help="package.module:factory, or a saved module or state_dict")
    export.add_argument("-o", "--output", required=True)
    spec = sub.add_parser("spec", help="a Spire spec from a module, through torch.fx")
    spec.add_argument("model", help="package.module:factory, or a saved module")
    spec.add_argument("--input", type=parse_input, action="append", required=True,
                      help="NAME=D0,D1,... in forward's argument order; N for the batch")
    spec.add_argument("--name", help="model name (default: the module's class)")
    spec.add_argument("-o", "--output", required=True)
    spec.add_argument("--flat", action="store_true",
                      help="one layer per line, no blocks for the module structure that repeats")
    spec.add_argument("--weights", help="also write the weights the spec uses to this "
                      ".safetensors, those forward computes from learned tensors included")
    args = parser.parse_args(argv)

    obj = load_model(args.model)
    from fx_to_spec import UnsupportedError, dropped_line, module_to_spec, trace, used_state
    if args.command == "export":
        state, dropped = obj, []
        if isinstance(obj, torch.nn.Module):
            try:  # the weights `spec` writes layers for
                state, dropped = used_state(obj, trace(obj.eval()).graph)
            except UnsupportedError:  # for a spec written by hand
                state = obj.state_dict()
        if not isinstance(state, dict):
            sys.exit(f"error: {args.model} holds neither a state_dict nor a module")
        if dropped:
            print(dropped_line(obj, dropped), file=sys.stderr)
        save_safetensors(state, args.output)
        print(f"wrote {args.output}: {len(state)} tensors")
        return
    if not isinstance(obj, torch.nn.Module):
        sys.exit(f"error: {args.model} is not a torch.nn.Module")
    try:
        text, _, state, dropped = module_to_spec(obj, dict(args.input),
                                                 args.name or type(obj).__name__.lower(),
                                                 flat=args.flat)
    except UnsupportedError as e:
        sys.exit("\n".join(f"error: cannot express in a spec: {line}"
                            for line in str(e).splitlines()))
    if dropped:
        print(dropped_line(obj, dropped), file=sys.stderr)
    with open(args.output, "w") as f:
        f.write(text)
    blocks = text.count("\n    layers:")
    print(f"wrote {args.output}: " + (f"{text.count(chr(10))} lines, {blocks} block{'s' * (blocks > 1)}" if blocks
                                      else f"{text.count(chr(10) + '  - ')} layers"))
    if args.weights:
        save_safetensors(state, args.weights)
        print(f"wrote {args.weights}: {len(state)} tensors")


if __name__ == "__main__":
    main()
