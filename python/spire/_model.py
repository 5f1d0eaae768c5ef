"""spire.Model: a bundle loaded on a Vulkan device (spire._runtime)."""
from . import _runtime
from ._types import UsageError


class Model(_runtime.Model):
    """A compiled bundle on a device.

    source: a bundle path or its bytes (spire.compile's result). device: a
    Vulkan device index (spire.devices()); None picks a discrete GPU, then an
    integrated one, then a CPU. validation: turn the Vulkan validation layer
    on (None: on when SPIRE_VALIDATION=1).

    model(image=x) or model(x) runs the whole model and returns {output name:
    array}; model.run({...}, stages=(a, b)) runs stages a..b (indices or
    names, inclusive) and returns stage b's outputs. A bundle whose size
    symbols stay symbolic (model.sizes: {name: (min, max, multiple_of)})
    finds their values in the inputs' shapes, or takes them as
    model.run({...}, sizes={"L": 300}). Inputs are float arrays
    (NumPy, anything with the buffer protocol, a CPU tensor's .numpy());
    outputs are float32 NumPy arrays.
    """

    def __init__(self, source, device=None, *, validation=None):
        super().__init__(source, device, validation)

    def __call__(self, *args, **inputs):
        names = [t.name for t in self.inputs]
        if len(args) > len(names):
            raise UsageError(f"model '{self.name}' takes {len(names)} input(s) "
                             f"({', '.join(names)}), got {len(args)} positional")
        for name, array in zip(names, args):
            if name in inputs:
                raise UsageError(f"input '{name}' given both by position and by name")
            inputs[name] = array
        return self._run(inputs)

    def run(self, inputs, stages=None, sizes=None):
        sizes = dict(sizes or {})
        if stages is None:
            return self._run(dict(inputs), None, sizes)
        first, last = (stages, stages) if isinstance(stages, (int, str)) else stages
        return self._run(dict(inputs), (self._stage_index(first), self._stage_index(last)), sizes)

    def __repr__(self):
        return (f"<spire.Model '{self.name}' on '{self.device}': "
                f"{len(self.stages)} stage(s), inputs {[t.name for t in self.inputs]}, "
                f"outputs {[t.name for t in self.outputs]}>")


def devices():
    """The Vulkan devices, as (index, name, driver)."""
    return _runtime.devices()
