"""The classes both extension modules make: errors, tensor and stage
descriptions, diagnostics."""
from dataclasses import dataclass, field

import numpy


class Error(Exception):
    """Base of every error Spire raises."""


class SpecError(Error):
    """A spec, weights or compile error. str(e) is the text `spire check`
    prints (file:line:col, the YAML line, a caret, notes); e.diagnostics
    holds the same as spire.Diagnostic records."""

    def __init__(self, message, diagnostics=()):
        super().__init__(message)
        self.diagnostics = list(diagnostics)


class BundleError(Error):
    """The bundle is unreadable, corrupt or of another version."""


class InputError(Error, ValueError):
    """An input tensor does not match what the model expects."""


class DeviceError(Error):
    """No Vulkan device, or a Vulkan call failed (validation included)."""


class UsageError(Error, ValueError):
    """The API was called wrongly: an unknown stage or device, a bad argument."""


@dataclass(frozen=True)
class TensorSpec:
    """A model or stage tensor; shape[0] is None when the batch is free, and a
    dim the size symbols choose is its expression ("L")."""
    name: str
    shape: tuple
    dtype: numpy.dtype


@dataclass(frozen=True)
class StageSpec:
    index: int
    name: str
    inputs: list
    outputs: list


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message at its YAML location (line and column from 1;
    0 when it has none), with its notes."""
    file: str
    line: int
    column: int
    severity: str
    message: str
    notes: tuple = field(default=())

    def __str__(self):
        where = f"{self.file}:{self.line}:{self.column}: " if self.line else \
            f"{self.file}: " if self.file else ""
        return f"{where}{self.severity}: {self.message}"
