"""spire.compile and spire.check over spire._compiler (loads MLIR): imported
only when a spec is compiled or checked."""
import os
import warnings

import numpy

from . import _compiler
from ._types import UsageError


def _spec(spec):
    """(YAML text or None, the name diagnostics give it)."""
    if isinstance(spec, os.PathLike):
        return None, os.fspath(spec)
    if not isinstance(spec, str):
        raise UsageError(f"a spec is a path or YAML text, not {type(spec).__name__}")
    return (spec, "<spec>") if "\n" in spec else (None, spec)


def _sets(sets):
    if sets is None:
        return []
    if isinstance(sets, dict):
        return [f"{k}={v}" for k, v in sets.items()]
    return list(sets)


def _weights(weights):
    if weights is None or isinstance(weights, str):
        return weights
    if isinstance(weights, os.PathLike):
        return os.fspath(weights)
    pairs = []
    for name, value in dict(weights).items():
        if hasattr(value, "detach"):  # a torch tensor
            value = value.detach().cpu().numpy()
        array = numpy.asarray(value)
        if array.dtype.kind != "f":
            # PyTorch's batch-norm step counter, as the .safetensors reader skips it.
            if name.endswith("num_batches_tracked"):
                continue
            raise UsageError(f"weights['{name}']: weights are float arrays, got {array.dtype}")
        pairs.append((name, array))
    return pairs


def _warn(diagnostics):
    for d in diagnostics:
        if d.severity == "warning":
            warnings.warn(str(d), stacklevel=3)


def compile(spec, weights=None, target=None, sets=None):
    if target == "native":
        from . import _runtime
        target = _runtime.native_target()
    text, path = _spec(spec)
    bundle, diagnostics = _compiler.compile(text, path, _sets(sets), _weights(weights),
                                            target or "lavapipe")
    _warn(diagnostics)
    return bundle


def check(spec, sets=None):
    text, path = _spec(spec)
    return _compiler.check(text, path, _sets(sets))
