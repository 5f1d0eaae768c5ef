"""Spire for Python: run compiled .spire bundles on a Vulkan device, and
compile specs or PyTorch modules to them.

    import numpy as np, spire
    model = spire.Model(spire.compile("specs/resnet18.yaml"))
    out = model(image=np.random.rand(2, 3, 224, 224).astype(np.float32))["fc"]

`import spire` and running a bundle load only the runtime (spire._runtime,
which links the Vulkan loader); spire.compile and spire.check import the
compiler (spire._compiler, MLIR and LLVM) on first use, and spire.torch
imports PyTorch on first use.
"""
import importlib

from ._model import Model, devices
from ._types import (BundleError, DeviceError, Diagnostic, Error, InputError, SpecError,
                     StageSpec, TensorSpec, UsageError)

__all__ = ["Model", "devices", "compile", "check", "Error", "SpecError", "BundleError",
           "InputError", "DeviceError", "UsageError", "Diagnostic", "TensorSpec", "StageSpec"]


def compile(spec, weights=None, target=None, sets=None):
    """Compiles a spec (a path, or YAML text: a str with a newline) and returns
    the bundle's bytes; spire.Model(bytes) runs them, open(path, "wb") saves
    them. weights: None (seeded random, as `spire compile` without --weights),
    a .safetensors path, or a mapping name -> array (a state_dict). target: a
    built-in profile (default "lavapipe") or "native". sets: {"L": 128}
    binds size symbols. Raises spire.SpecError with the CLI's messages."""
    from . import _compile
    return _compile.compile(spec, weights=weights, target=target, sets=sets)


def check(spec, sets=None):
    """Checks a spec (path or YAML text) and returns its diagnostics as
    spire.Diagnostic records: empty when the spec is fine."""
    from . import _compile
    return _compile.check(spec, sets=sets)


def __getattr__(name):
    # `spire.torch` without importing PyTorch at `import spire`.
    if name == "torch":
        return importlib.import_module(".torch", __name__)
    raise AttributeError(f"module 'spire' has no attribute '{name}'")
