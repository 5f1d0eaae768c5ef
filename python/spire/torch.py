"""PyTorch modules to Spire in one call: the torch.fx converter of
compiler/tools/torch (installed with the package as spire._torch_tools)
writes the spec, the module's state_dict is its weights, and spire.compile
makes the bundle.

    compiled = spire.torch.compile(module, (example_image,))
    logits = compiled(image)          # torch tensors in, torch tensors out
"""
import re

import numpy
import torch

from ._model import Model
from ._torch_tools.fx_to_spec import UnsupportedError, module_to_spec, trace
from ._torch_tools.spire_torch import save_safetensors
from ._types import SpecError, UsageError


class CompiledModule:
    """A module compiled by Spire: call it as the module (positional or
    keyword arguments, any batch) to get its outputs, in the same structure
    (a tensor, a tuple or a dict), as CPU float32 tensors.
    .model is the spire.Model, .spec the YAML text, .bundle the bytes."""

    def __init__(self, model, spec, bundle, input_names, outputs, structure):
        self.model, self.spec, self.bundle = model, spec, bundle
        self._inputs, self._outputs, self._structure = input_names, outputs, structure

    def __call__(self, *args, **kwargs):
        if len(args) > len(self._inputs):
            raise UsageError(f"the module takes {len(self._inputs)} input(s), got {len(args)}")
        feeds = dict(zip(self._inputs, args), **kwargs)
        for name, value in feeds.items():
            if isinstance(value, torch.Tensor):
                feeds[name] = value.detach().cpu().numpy()
        results = self.model(**feeds)
        tensors = [torch.from_numpy(results[name]) for name in self._outputs]
        if isinstance(self._structure, list):  # dict keys
            return dict(zip(self._structure, tensors))
        if self._structure is tuple:
            return tuple(tensors)
        return tensors[0]


def _names_and_structure(module):
    """forward's input names, and how its outputs are returned: a tensor,
    a tuple, or a dict (its keys)."""
    try:
        graph = trace(module).graph
    except UnsupportedError as e:
        raise SpecError(f"cannot express {type(module).__name__} in a spec: {e}") from e
    names = [n.target for n in graph.nodes if n.op == "placeholder"]
    result = next(n for n in graph.nodes if n.op == "output").args[0]
    structure = list(result.keys()) if isinstance(result, dict) else \
        tuple if isinstance(result, (tuple, list)) else None
    return names, structure


def _shapes(names, example_inputs):
    """{input: ["N", ...]}: the examples' shapes with the batch left free."""
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    examples = dict(example_inputs) if isinstance(example_inputs, dict) else \
        dict(zip(names, example_inputs))
    if list(examples) != names[:len(examples)] or len(examples) != len(names):
        raise UsageError(f"forward takes ({', '.join(names)}); example inputs were given "
                         f"for ({', '.join(examples)})")
    return {name: ["N"] + list(numpy.shape(example)[1:]) for name, example in examples.items()}


def _convert(module, example_inputs, name, flat=False):
    """(spec text, input names, output tensor names, output structure, the
    weights the spec uses)."""
    names, structure = _names_and_structure(module)
    name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", type(module).__name__).lower()
    try:
        text, outputs, state, _ = module_to_spec(module, _shapes(names, example_inputs), name,
                                                 flat=flat)
    except UnsupportedError as e:
        raise SpecError(f"cannot express {type(module).__name__} in a spec: {e}") from e
    return text, names, outputs, structure, state


def to_spec(module, example_inputs, name=None, flat=False):
    """The spec of `module` (YAML text) traced with torch.fx, its inputs
    shaped as the examples with a free batch: blocks where the module
    structure repeats, one layer per line with `flat`. Puts the module in
    eval mode."""
    return _convert(module, example_inputs, name, flat)[0]


def compile(module, example_inputs, *, device=None, target=None, validation=None, name=None):
    """Compiles `module` (in eval mode: inference) for inputs shaped like
    `example_inputs` (a tuple in forward's order, or a dict by name; the
    batch stays free) and loads it on `device`. Returns a CompiledModule."""
    from . import compile as compile_spec
    text, names, outputs, structure, state = _convert(module, example_inputs, name)
    bundle = compile_spec(text, weights=state, target=target)
    model = Model(bundle, device, validation=validation)
    return CompiledModule(model, text, bundle, names, outputs, structure)


def export(module, path):
    """Writes a module's state_dict (or a state_dict) to `path` as
    .safetensors, by name: the weights `spire compile --weights` takes."""
    state = module.state_dict() if isinstance(module, torch.nn.Module) else module
    if not isinstance(state, dict):
        raise UsageError(f"spire.torch.export takes a module or a state_dict, "
                         f"not {type(module).__name__}")
    save_safetensors(state, path)
