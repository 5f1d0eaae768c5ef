"""Shared by the Python package's tests: the PyTorch references and seeded
weights of tests/e2e/conformance.py, and the `spire` CLI whose messages the
package must repeat (SPIRE_CLI, set by ctest)."""
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))


@pytest.fixture
def cli():
    """Runs the `spire` CLI; returns (exit code, stdout, stderr)."""
    def run(*args):
        result = subprocess.run([os.environ["SPIRE_CLI"], *args], capture_output=True, text=True)
        return result.returncode, result.stdout, result.stderr
    return run


def spec_path(relative):
    return os.path.join(ROOT, relative)


def assert_close(got, want, tolerance):
    """Relative L2 error within `tolerance`, on a reference that is not constant
    (equal constants would prove nothing)."""
    assert got.shape == want.shape
    assert np.ptp(want) > 0
    rel = np.linalg.norm(got - want) / np.linalg.norm(want)
    assert rel <= tolerance, f"rel L2 {rel:.2e} over {tolerance:.0e}"
