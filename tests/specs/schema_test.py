#!/usr/bin/python3
"""Every zoo spec validates against specs/spire.schema.json, and the schema
rejects what the compiler rejects at the key level (so editor feedback and
`spire check` agree on the shape of a spec)."""
import glob
import os
import sys

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
schema = yaml.safe_load(open(os.path.join(ROOT, "specs", "spire.schema.json")))
validator = jsonschema.Draft202012Validator(schema)
failures = 0

for path in sorted(glob.glob(os.path.join(ROOT, "specs", "*.yaml"))):
    errors = list(validator.iter_errors(yaml.safe_load(open(path))))
    print(f"{'ok' if not errors else 'FAIL'} {os.path.basename(path)}")
    for e in errors:
        print(f"  {list(e.path)}: {e.message[:200]}")
    failures += bool(errors)

bad = {
    "unknown top-level key": {"inputs": {"x": [1, 4]}, "layers": ["relu"], "outputz": ["x"]},
    "unknown layer key": {"inputs": {"x": [1, 4]}, "layers": [{"linear": {"out": 4, "outt": 2}}]},
    "missing out": {"inputs": {"x": [1, 4]}, "layers": [{"linear": {"name": "fc"}}]},
    "bad shape entry": {"inputs": {"x": [1, "4x"]}, "layers": ["relu"]},
    "no layers": {"inputs": {"x": [1, 4]}},
    "upsample with scale and size": {"inputs": {"x": [1, 3, 4, 4]},
                                     "layers": [{"upsample": {"scale": 2, "size": [8, 8]}}]},
    "upsample with neither": {"inputs": {"x": [1, 3, 4, 4]},
                              "layers": [{"upsample": {"mode": "bilinear"}}]},
    "upsample mode": {"inputs": {"x": [1, 3, 4, 4]},
                      "layers": [{"upsample": {"mode": "bicubic", "scale": 2}}]},
    "conv_transpose2d key": {"inputs": {"x": [1, 3, 4, 4]},
                             "layers": [{"conv_transpose2d": {"out": 4, "kernel": 2, "outpad": 1}}]},
    "sizes key": {"inputs": {"x": [1, 4, "L"]}, "sizes": {"L": {"min": 5, "maxx": 9}},
                  "layers": ["relu"]},
    "sizes without max": {"inputs": {"x": [1, 4, "L"]}, "sizes": {"L": {"min": 5}},
                          "layers": ["relu"]},
}
for what, spec in bad.items():
    rejected = not validator.is_valid(spec)
    print(f"{'ok' if rejected else 'FAIL'} schema rejects: {what}")
    failures += not rejected

print(f"{len(glob.glob(os.path.join(ROOT, 'specs', '*.yaml'))) + len(bad) - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
