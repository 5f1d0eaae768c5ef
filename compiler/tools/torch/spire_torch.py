#!/usr/bin/python3
"""PyTorch interop for Spire: write a state_dict as .safetensors.

Runs on Debian's python3-torch (/usr/bin/python3); no other package. The
safetensors format is small enough to write directly: an 8-byte little-endian
header length, a JSON header {name: {dtype, shape, data_offsets}}, then the
raw little-endian tensor bytes.

    /usr/bin/python3 compiler/tools/torch/spire_torch.py export model.pt -o weights.safetensors

where model.pt is a torch.save()d state_dict or whole module. From Python:

    from spire_torch import save_safetensors
    save_safetensors(module.state_dict(), "weights.safetensors")
"""
import argparse
import json
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="a torch.save()d state_dict or module to .safetensors")
    export.add_argument("checkpoint")
    export.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    obj = torch.load(args.checkpoint, map_location="cpu")
    state = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
    if not isinstance(state, dict):
        sys.exit(f"error: {args.checkpoint} holds neither a state_dict nor a module")
    save_safetensors(state, args.output)
    print(f"wrote {args.output}: {len(state)} tensors")


if __name__ == "__main__":
    main()
