"""`import spire` and running a bundle load the runtime only: no MLIR and
not the compiler's LLVM in the process (checked in a fresh interpreter
through /proc/self/maps), until spire.compile imports the compiler.

lavapipe itself maps an LLVM (Mesa's llvmpipe, another version), so the test
tells the compiler's libraries by what spire.compile adds to the process."""
import json
import subprocess
import sys

import spire
from conftest import spec_path

CHILD = """
import json, sys, numpy as np, spire
def mapped():
    return sorted({line.split()[-1] for line in open("/proc/self/maps")
                   if "LLVM" in line or "MLIR" in line})
model = spire.Model(sys.argv[1])
assert model(image=np.ones((1, 3, 32, 32), np.float32))["fc2"].shape == (1, 10)
running = mapped()
compiler_before = "spire._compiler" in sys.modules
spire.compile(sys.argv[2])
print(json.dumps({"running": running, "compiler_before": compiler_before,
                  "added": sorted(set(mapped()) - set(running))}))
"""


def test_running_a_bundle_loads_no_mlir(tmp_path):
    spec = spec_path("specs/small_cnn.yaml")
    bundle = tmp_path / "small_cnn.spire"
    bundle.write_bytes(spire.compile(spec))
    result = subprocess.run([sys.executable, "-c", CHILD, str(bundle), spec],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert not seen["compiler_before"]
    assert not [path for path in seen["running"] if "libMLIR" in path]
    # The compiler brings libMLIR and its libLLVM: neither was there before.
    assert [path for path in seen["added"] if "libMLIR" in path]
    assert [path for path in seen["added"] if "libLLVM" in path]
