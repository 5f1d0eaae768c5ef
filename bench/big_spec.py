#!/usr/bin/python3
"""Writes a generated spec with many layers, for timing the compiler on big
specs and for the fusion test (tests/e2e, docs/perf-log/2026-12-02-*).

  big_spec.py relus COUNT     a chain of COUNT relus over [N, 64]
  big_spec.py linears COUNT   COUNT linears [N, 16] -> 16
  big_spec.py residual COUNT  COUNT layers: linear, relu, then an add of
                              the block's input, repeated (residual blocks)
  big_spec.py mixed COUNT     chains of elementwise ops with residual adds
                              between linears (the fusion's conformance spec)
"""
import sys


def main():
    kind, count = sys.argv[1], int(sys.argv[2])
    out = [f"name: big_{kind}", "inputs:", "  x: [N, 64]" if kind == "relus" else "  x: [N, 16]",
           "layers:"]
    if kind == "relus":
        out += [f"  - relu: {{name: r{i}}}" for i in range(count)]
    elif kind == "linears":
        out += [f"  - linear: {{name: fc{i}, out: 16}}" for i in range(count)]
    elif kind == "residual":
        prev = "x"
        for b in range(count // 3):
            out += [f"  - linear: {{name: fc{b}, out: 16}}", f"  - relu: {{name: r{b}}}",
                    f"  - add: {{name: a{b}, with: {prev}}}"]
            prev = f"a{b}"
    elif kind == "mixed":
        acts = ["relu", "sigmoid", "tanh", "gelu", "hardswish", "relu6", "silu"]
        prev = "x"
        for b in range(count // 8):
            out += [f"  - linear: {{name: fc{b}, out: 16}}", f"  - tanh: {{name: t{b}}}",
                    f"  - {acts[b % len(acts)]}: {{name: e{b}}}",
                    f"  - add: {{name: a{b}, with: {prev}}}",
                    f"  - {acts[(b + 3) % len(acts)]}: {{name: f{b}}}",
                    f"  - sigmoid: {{name: s{b}}}",
                    f"  - add: {{name: c{b}, with: a{b}}}",
                    f"  - relu: {{name: g{b}}}"]
            prev = f"g{b}"
    else:
        sys.exit(f"unknown kind {kind}")
    print("\n".join(out))


main()
