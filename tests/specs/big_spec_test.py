#!/usr/bin/python3
"""A generated spec of 10^4 layers (bench/big_spec.py) through check, summary
and compile: the relus chain fuses into one kernel (form-kernels' elementwise
epilogue), and summary lists every layer. No timing is asserted; the test
only has to run in the few seconds linear-time analysis and fusion give
(docs/perf-log/2026-12-02-big-specs.md).

    big_spec_test.py path/to/spire
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYERS = 10000


def main():
    spire = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "relus.yaml")
        with open(spec, "w") as f:
            subprocess.run([sys.executable, os.path.join(ROOT, "bench", "big_spec.py"), "relus",
                            str(LAYERS)], stdout=f, check=True)
        subprocess.run([spire, "check", spec], check=True, stdout=subprocess.DEVNULL)
        summary = json.loads(subprocess.run([spire, "summary", spec, "--json"], check=True,
                                            capture_output=True, text=True).stdout)
        assert len(summary["layers"]) == LAYERS, len(summary["layers"])
        # One [N, 64] tensor in, one out: the chain's intermediates are never
        # both live.
        assert summary["peak_activation_bytes"] == 2 * 64 * 4, summary["peak_activation_bytes"]
        out = subprocess.run([spire, "compile", spec, "-o", os.path.join(tmp, "relus.spire")],
                             check=True, capture_output=True, text=True).stdout
        kernels = int(re.search(r"(\d+) kernels", out).group(1))
        assert kernels == 1, f"{LAYERS} relus compiled to {kernels} kernels, not 1: {out}"
    print(f"ok: {LAYERS} relus checked, summarized and compiled to one kernel")


main()
