"""torch.fx graph -> Spire spec (flat layer list).

Each traced module call becomes one layer named by its module path, so the
module's state_dict loads onto the spec by name; function and method calls
become layers named by their fx node names. A layer whose input is not the
previous layer's output gets `from:`, joins get `with:`. What Spire cannot
express is reported as an error naming the node, never silently dropped.
"""
import contextlib
import dis
import inspect
import math
import operator

import torch
import torch.nn.functional as F
import torchvision
from torch import fx, nn
from torchvision.models import swin_transformer


class UnsupportedError(Exception):
    pass


class _Batch:
    """The batch size, where shape arithmetic in forward computes it."""

    def __repr__(self):
        return "the batch size"


BATCH = _Batch()
VARIES = object()  # a size computed in forward that varies with the input otherwise


def _unpacking_iter(proxy):
    """Proxy.__iter__ for `a, b = proxy`: torch 1.13 finds the unpacking
    instruction at f_lasti // 2, which Python 3.11's inline caches break (an
    IndexError), so models that unpack shapes or chunks did not trace."""
    frame = inspect.currentframe().f_back
    for inst in dis.get_instructions(frame.f_code):
        if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
            return (proxy[i] for i in range(inst.argval))
    return proxy.tracer.iter(proxy)


@contextlib.contextmanager
def _python311_unpacking():
    saved = fx.Proxy.__iter__
    fx.Proxy.__iter__ = _unpacking_iter
    try:
        yield
    finally:
        fx.Proxy.__iter__ = saved


class _Tracer(fx.Tracer):
    """fx's tracer, recording in each node's meta["module"] the path of the
    module whose forward made it, for error messages."""

    def __init__(self):
        super().__init__()
        self.paths = [""]

    def call_module(self, m, forward, args, kwargs):
        self.paths.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.paths.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["module"] = self.paths[-1]
        return node


def trace(module):
    """torch.fx's graph module of `module`; an UnsupportedError naming the
    cause where fx cannot trace it (data-dependent control flow)."""
    with _python311_unpacking():
        try:
            return fx.GraphModule(module, _Tracer().trace(module))
        except (fx.proxy.TraceError, TypeError, NotImplementedError) as e:
            raise UnsupportedError(f"torch.fx cannot trace {type(module).__name__}: {e} (forward "
                                   "must not branch on tensor values)") from e


class _Recorder(fx.Interpreter):
    def __init__(self, module):
        super().__init__(module)
        self.results = {}

    def run_node(self, n):
        self.results[n] = super().run_node(n)
        return self.results[n]


def _static_values(module, inputs):
    """node -> what forward computes there, run on random inputs at batch 2
    and 3: tensors from the batch-2 run, and for the rest (shape arithmetic
    such as `n, c, h, w = x.shape`, `c // groups`) the value where both runs
    agree, BATCH where it is the batch, else VARIES. {} when an input has a
    symbolic size other than the batch, which a run cannot stand for."""
    if any(isinstance(d, str) for dims in inputs.values() for d in dims[1:]):
        return {}
    runs = []
    with torch.no_grad():
        for batch in (2, 3):
            recorder = _Recorder(module)
            recorder.run(*[torch.randn(batch, *dims[1:]) for dims in inputs.values()])
            runs.append(recorder.results)
    values = {}
    for node, first in runs[0].items():
        second = runs[1][node]
        if isinstance(first, torch.Tensor) or _holds_tensors(first):
            values[node] = first
        elif isinstance(first, int) and (first, second) == (2, 3):
            values[node] = BATCH
        else:
            values[node] = first if first == second else VARIES
    return values


def _holds_tensors(value):
    """A result with parts: chunk's tuple, attention's (output, weights), a dict of outputs."""
    parts = value.values() if isinstance(value, dict) else value
    return isinstance(value, (tuple, list, dict)) and \
        any(isinstance(v, torch.Tensor) for v in parts)


_BINARY = {operator.add: "add", torch.add: "add", operator.sub: "sub", torch.sub: "sub",
           operator.mul: "mul", torch.mul: "mul", operator.truediv: "div", torch.div: "div"}


def _shift_mask(size, window, shift):
    """Swin's attention mask [windows, L, L] over an [H, W] map shifted by
    `shift`: -100 between the positions of a window that the cyclic shift
    brought from different regions (torchvision's h_slices and w_slices)."""
    regions = []
    for n, w, s in zip(size, window, shift):
        region = torch.zeros(n)
        if s:
            region[n - w:n - s] = 1
            region[n - s:] = 2
        regions.append(region)
    ids = (regions[0][:, None] * 3 + regions[1][None, :]) \
        .view(size[0] // window[0], window[0], size[1] // window[1], window[1]) \
        .permute(0, 2, 1, 3).reshape(-1, window[0] * window[1])
    return (ids[:, None, :] != ids[:, :, None]).float() * -100.0


def _pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def _single(v):
    return v[0] if isinstance(v, (tuple, list)) else v


def _compact(values):
    """[3, 3] -> 3 (the spec accepts one number for all dims)."""
    return values[0] if len(set(values)) == 1 else values


class _Converter:
    def __init__(self, module, inputs):
        self.module = module
        self.modules = dict(module.named_modules())
        self.inputs = inputs  # name -> shape list (strings allowed for symbols)
        self.layers = []      # (kind, keys) in order
        self.alias = {}       # fx node -> tensor name
        self.previous = None  # tensor name of the previous layer's output
        self.used = set()     # layer names given out
        self.values = {}      # fx node -> value, see _static_values
        self.parameters = set()  # tensor names of `parameter` layers
        self.parts = {}       # chunk/split node -> (source node, dim, [(start, end)])
        self.dynamic = set()  # nodes that depend on the inputs
        self.computed = {}    # parameter name -> tensor forward computes from learned ones

    # -- helpers ----------------------------------------------------------
    def name_of(self, node):
        if not isinstance(node, fx.Node):
            raise UnsupportedError(f"expected a tensor, got the constant {node!r}")
        if node not in self.alias:
            raise UnsupportedError(f"'{node.name}' is not a tensor Spire tracks")
        return self.alias[node]

    def emit(self, node, kind, keys, inputs, name=None):
        if name and name in self.used:
            # A module called twice (torchvision reuses one ReLU per block).
            if any(True for _ in self.modules[name].parameters()):
                raise UnsupportedError(f"module '{name}' is called twice: shared weights are "
                                       "not supported")
            name = None
        self.alias[node] = self.add(kind, keys, [self.name_of(i) for i in inputs],
                                    name or node.name)

    def add(self, kind, keys, inputs, name):
        """Appends a layer reading the tensors named `inputs`; its name."""
        self.used.add(name)
        keys = dict(keys)
        first, *others = inputs
        if first != self.previous:
            keys["from"] = first
        if others:
            keys["with"] = others[0] if len(others) == 1 else others
        self.layers.append((kind, {"name": name, **keys}))
        self.previous = name
        return name

    def passthrough(self, node, source):
        self.alias[node] = self.name_of(source)

    def const(self, arg):
        """A non-tensor argument's value: a literal, or shape arithmetic
        forward computed (BATCH where it is the batch size)."""
        if isinstance(arg, (tuple, list)):
            return type(arg)(self.const(a) for a in arg)
        if not isinstance(arg, fx.Node):
            return arg
        value = self.values.get(arg, VARIES)
        if value is VARIES or isinstance(value, torch.Tensor):
            raise UnsupportedError(f"'{arg.name}' is a size that changes with the input in a way "
                                   "a spec cannot express")
        return value

    def is_tensor(self, node):
        value = self.values.get(node)
        return isinstance(value, torch.Tensor) or _holds_tensors(value)

    def rank(self, node):
        value = self.values.get(node)
        if not isinstance(value, torch.Tensor):
            raise UnsupportedError(f"the rank of '{node.name}' is unknown: forward was not run, "
                                   "as an input size other than the batch is symbolic")
        return value.dim()

    # -- node kinds -------------------------------------------------------
    def call_module(self, node):
        m = self.modules[node.target]
        x = node.args[0] if node.args else None
        name = node.target
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            if isinstance(m.padding, str) or m.padding_mode != "zeros":
                raise UnsupportedError(f"{name}: padding '{m.padding}'/{m.padding_mode} "
                                       "is not supported; use explicit zero padding")
            transposed = isinstance(m, nn.ConvTranspose2d)
            if transposed and (len(node.args) > 1 or node.kwargs.get("output_size") is not None):
                raise UnsupportedError(f"{name}: ConvTranspose2d called with output_size; give "
                                       "the module its output_padding instead")
            kind = "conv_transpose2d" if transposed else \
                "conv1d" if isinstance(m, nn.Conv1d) else "conv2d"
            keys = {"out": m.out_channels, "kernel": _compact(list(m.kernel_size))}
            windows = [("stride", m.stride, 1), ("padding", m.padding, 0),
                       ("dilation", m.dilation, 1)]
            if transposed:
                windows.insert(2, ("output_padding", m.output_padding, 0))
            for key, value, default in windows:
                if _compact(list(value)) != default:
                    keys[key] = _compact(list(value))
            if m.groups != 1:
                keys["groups"] = m.groups
            if m.bias is None:
                keys["bias"] = False
            self.emit(node, kind, keys, [x], name)
        elif isinstance(m, nn.Upsample):
            self.upsample(node, x, m.size, m.scale_factor, m.mode, m.align_corners,
                          m.recompute_scale_factor, False, name)
        elif isinstance(m, nn.Linear):
            self.emit(node, "linear", {"out": m.out_features, **({} if m.bias is not None else
                                                                  {"bias": False})}, [x], name)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            kind = "batchnorm1d" if isinstance(m, nn.BatchNorm1d) else "batchnorm2d"
            self.emit(node, kind, {} if m.eps == 1e-5 else {"eps": m.eps}, [x], name)
        elif isinstance(m, nn.LayerNorm):
            if len(m.normalized_shape) != 1:
                raise UnsupportedError(f"{name}: LayerNorm over {len(m.normalized_shape)} dims")
            self.emit(node, "layernorm", {} if m.eps == 1e-5 else {"eps": m.eps}, [x], name)
        elif isinstance(m, (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid,
                            nn.Tanh)):
            kind = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hardswish",
                    nn.Hardsigmoid: "hardsigmoid", nn.SiLU: "silu", nn.Sigmoid: "sigmoid",
                    nn.Tanh: "tanh"}[type(m)]
            self.emit(node, kind, {}, [x], name)
        elif isinstance(m, nn.GELU):
            self.emit(node, "gelu", self.gelu_params(m.approximate), [x], name)
        elif isinstance(m, nn.LeakyReLU):
            self.emit(node, "leaky_relu", {"negative_slope": m.negative_slope}, [x], name)
        elif isinstance(m, nn.Softmax):
            self.emit(node, "softmax", {"dim": m.dim}, [x], name)
        elif isinstance(m, nn.Dropout):
            self.emit(node, "dropout", {"p": m.p}, [x], name)
        elif isinstance(m, nn.Identity):
            self.passthrough(node, x)
        elif isinstance(m, nn.Flatten):
            self.emit(node, "flatten", {"start_dim": m.start_dim, "end_dim": m.end_dim}, [x], name)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            self.pool(node, "maxpool2d" if isinstance(m, nn.MaxPool2d) else "avgpool2d", x,
                      m.kernel_size, m.stride, m.padding, m.ceil_mode,
                      getattr(m, "dilation", 1), getattr(m, "count_include_pad", True), name)
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool1d)):
            self.adaptive(node, x, m.output_size, name)
        elif isinstance(m, nn.MultiheadAttention):
            call = dict(zip(("query", "key", "value", "key_padding_mask", "need_weights",
                             "attn_mask"), node.args), **node.kwargs)
            q, k, v = (call.get(key) for key in ("query", "key", "value"))
            if not (q is k is v) or not m.batch_first:
                raise UnsupportedError(f"{name}: only self-attention with batch_first=True")
            masks = [key for key in ("key_padding_mask", "attn_mask") if call.get(key) is not None]
            if masks:
                raise UnsupportedError(f"{name}: attention with {' and '.join(masks)}")
            self.emit(node, "attention", {"heads": m.num_heads}, [q], name)
        else:
            raise UnsupportedError(f"module '{name}' of type {type(m).__name__}")

    def pool(self, node, kind, x, kernel, stride, padding, ceil_mode, dilation,
             count_include_pad, name=None):
        keys = {"kernel": _compact(_pair(kernel))}
        stride = stride if stride not in (None, ()) else kernel
        if _pair(stride) != _pair(kernel):
            keys["stride"] = _compact(_pair(stride))
        if _compact(_pair(padding)) != 0:
            keys["padding"] = _compact(_pair(padding))
        if _compact(_pair(dilation)) != 1:
            keys["dilation"] = _compact(_pair(dilation))
        if ceil_mode:
            keys["ceil_mode"] = True
        if not count_include_pad:
            keys["count_include_pad"] = False
        self.emit(node, kind, keys, [x], name)

    def adaptive(self, node, x, size, name=None):
        size = _pair(size) if not isinstance(size, int) else [size, size]
        if all(s == 1 for s in size):
            self.emit(node, "global_avgpool", {}, [x], name)
        else:
            self.emit(node, "adaptive_avgpool2d", {"size": _compact(size)}, [x], name)

    def upsample(self, node, x, size, scale, mode, align_corners, recompute, antialias,
                 name=None):
        """nn.Upsample and F.interpolate: `size`, or `scale` as PyTorch's
        kernels take it (with recompute_scale_factor, the size it gives)."""
        if mode not in ("nearest", "bilinear") or antialias:
            raise UnsupportedError(f"{name or node.name}: interpolate mode '{mode}'"
                                   f"{' with antialias' if antialias else ''} (only nearest and "
                                   "bilinear)")
        if self.rank(x) != 4:
            raise UnsupportedError(f"{name or node.name}: interpolate over a rank-{self.rank(x)} "
                                   "tensor (only [N, C, H, W])")
        keys = {"mode": mode} if mode != "nearest" else {}
        if align_corners is not None:
            keys["align_corners"] = bool(align_corners)
        if size is None and recompute:
            size = list(self.values[node].shape[2:])
        if size is not None:
            keys["size"] = _compact(_pair(self.const(size)))
        else:
            keys["scale"] = _compact([float(s) for s in _pair(self.const(scale))])
        self.emit(node, "upsample", keys, [x], name)

    @staticmethod
    def gelu_params(approximate):
        """The spec's gelu parameters for PyTorch's `approximate` ("none": erf)."""
        return {} if approximate == "none" else {"approximate": approximate}

    def call_function(self, node):
        f, args, kw = node.target, node.args, node.kwargs
        if f in _BINARY:
            numbers = [not isinstance(a, fx.Node) or a in self.values and not self.is_tensor(a)
                       for a in args[:2]]
            if any(numbers):
                self.affine(node, _BINARY[f], *args[:2], number_first=numbers[0])
            else:
                self.emit(node, _BINARY[f], {}, [args[0], args[1]])
        elif f in (operator.matmul, torch.matmul):
            self.emit(node, "matmul", {}, [args[0], args[1]])
        elif f is torch.einsum:
            self.einsum(node, args[0], list(args[1]) if len(args) == 2 else list(args[1:]))
        elif f in (torch.relu, F.relu, F.relu6, F.hardswish, F.hardsigmoid, torch.sigmoid, F.silu,
                   torch.tanh):
            kind = {torch.relu: "relu", F.relu: "relu", F.relu6: "relu6", F.hardswish: "hardswish",
                    F.hardsigmoid: "hardsigmoid", torch.sigmoid: "sigmoid", F.silu: "silu",
                    torch.tanh: "tanh"}[f]
            self.emit(node, kind, {}, [args[0]])
        elif f is F.gelu:
            self.emit(node, "gelu", self.gelu_params(kw.get("approximate", "none")), [args[0]])
        elif f is F.softmax:
            self.emit(node, "softmax", {"dim": kw.get("dim", args[1] if len(args) > 1 else -1)},
                      [args[0]])
        elif f is torch.flatten:
            start = kw.get("start_dim", args[1] if len(args) > 1 else 0)
            end = kw.get("end_dim", args[2] if len(args) > 2 else -1)
            self.emit(node, "flatten", {"start_dim": start, "end_dim": end}, [args[0]])
        elif f is torch.cat:
            tensors = list(args[0])
            if len(tensors) == 1:  # DenseNet's torch.cat([x], 1)
                self.passthrough(node, tensors[0])
            else:
                self.emit(node, "concat",
                          {"dim": kw.get("dim", args[1] if len(args) > 1 else 0)}, tensors)
        elif f is torch.permute:
            self.emit(node, "permute", {"dims": list(kw.get("dims", args[1] if len(args) > 1
                                                            else ()))}, [args[0]])
        elif f is torch.mean:
            self.mean(node, args[0], kw.get("dim", args[1] if len(args) > 1 else None),
                      kw.get("keepdim", args[2] if len(args) > 2 else False))
        elif f is torchvision.ops.stochastic_depth:
            if kw.get("training", args[3] if len(args) > 3 else True):
                raise UnsupportedError(f"{node.name}: stochastic depth in training mode")
            self.passthrough(node, args[0])  # identity in eval
        elif f in (torch.transpose, torch.swapaxes):
            self.emit(node, "transpose", {"dim0": args[1], "dim1": args[2]}, [args[0]])
        elif f is F.adaptive_avg_pool2d:
            self.adaptive(node, args[0], kw.get("output_size", args[1] if len(args) > 1 else None))
        elif f in (F.max_pool2d, F.avg_pool2d):
            get = lambda i, key, default: kw.get(key, args[i] if len(args) > i else default)
            self.pool(node, "maxpool2d" if f is F.max_pool2d else "avgpool2d", args[0],
                      get(1, "kernel_size", None), get(2, "stride", None), get(3, "padding", 0),
                      get(5 if f is F.max_pool2d else 4, "ceil_mode", False),
                      get(4, "dilation", 1) if f is F.max_pool2d else 1,
                      get(5, "count_include_pad", True) if f is F.avg_pool2d else True)
        elif f is F.interpolate:
            get = lambda i, key, default: kw.get(key, args[i] if len(args) > i else default)
            self.upsample(node, args[0], get(1, "size", None), get(2, "scale_factor", None),
                          get(3, "mode", "nearest"), get(4, "align_corners", None),
                          get(5, "recompute_scale_factor", None), get(6, "antialias", False))
        elif f is F.dropout:
            self.passthrough(node, args[0])
        elif f is F.layer_norm:
            self.layer_norm(node)
        elif f is operator.getitem and isinstance(args[0], fx.Node) and \
                args[0].op == "call_module" and \
                isinstance(self.modules.get(args[0].target), nn.MultiheadAttention):
            if args[1] != 0:
                raise UnsupportedError(f"{node.name}: attention weights are not computed")
            self.passthrough(node, args[0])
        elif f is operator.getitem and args[0] in self.parts:
            self.part(node, args[0], args[1])
        elif f is operator.getitem and self.is_tensor(args[0]) and isinstance(args[1], tuple):
            self.index(node, args[0], args[1])
        elif f in (torch.chunk, torch.split):
            self.parts_of(node, args[0], kw.get("dim", args[2] if len(args) > 2 else 0))
        elif f is F.normalize:
            get = lambda i, key, default: kw.get(key, args[i] if len(args) > i else default)
            if get(1, "p", 2.0) != 2:
                raise UnsupportedError(f"{node.name}: normalize with p = {get(1, 'p', 2.0)} "
                                       "(only the L2 norm, p = 2)")
            eps = get(3, "eps", 1e-12)
            self.emit(node, "normalize", {"dim": get(2, "dim", 1),
                                          **({} if eps == 1e-12 else {"eps": eps})}, [args[0]])
        elif f is torch.roll:
            listed = lambda v: list(v) if isinstance(v, (tuple, list)) else [v]
            shifts, dims = (self.const(kw.get(key, args[i] if len(args) > i else None))
                            for i, key in ((1, "shifts"), (2, "dims")))
            if dims is None:
                raise UnsupportedError(f"{node.name}: roll of the flattened tensor (give dims)")
            self.alias[node] = self.roll(self.name_of(args[0]), listed(shifts), listed(dims),
                                         list(self.values[args[0]].shape), node.name)
        elif f is swin_transformer.shifted_window_attention:
            self.shifted_window_attention(node)
        elif f is swin_transformer._patch_merging_pad:
            self.patch_merging(node, args[0])
        else:
            name = getattr(f, "__name__", str(f))
            raise UnsupportedError(f"function {name} ({node.name}): no spec layer computes it; "
                                   "write forward with the layers specs/README.md lists")

    def roll(self, x, shifts, dims, shape, name):
        """torch.roll of the tensor named x (of `shape`): per dim rolled, a
        slice of its last `shift` entries and one of the rest, concatenated
        in that order. The name of the result, `name`."""
        rolled = [(shift % shape[dim], dim % len(shape)) for shift, dim in zip(shifts, dims)
                  if shift % shape[dim]]
        if any(dim == 0 for _, dim in rolled):
            raise UnsupportedError(f"{name}: roll along dim 0 (the batch)")
        for i, (shift, dim) in enumerate(rolled):
            cut = shape[dim] - shift
            tail = self.add("slice", {"dim": dim, "start": cut, "end": shape[dim]}, [x],
                            f"{name}_{dim}_tail")
            head = self.add("slice", {"dim": dim, "start": 0, "end": cut}, [x],
                            f"{name}_{dim}_head")
            x = self.add("concat", {"dim": dim}, [tail, head],
                         name if i == len(rolled) - 1 else f"{name}_{dim}")
        return x

    def constant(self, tensor, name):
        """A tensor fixed at conversion: a `parameter` layer of that name,
        repeated over the batch of the first input (its leading 1 is the batch)."""
        self.computed[name] = tensor
        return self.add("parameter", {"shape": list(tensor.shape[1:])},
                        [next(iter(self.inputs))], name)

    def linear(self, x, weight, bias, name):
        """A `linear` layer whose weights are the given tensors."""
        self.computed[f"{name}.weight"] = weight
        if bias is not None:
            self.computed[f"{name}.bias"] = bias
        return self.add("linear", {"out": weight.shape[0], **({} if bias is not None else
                                                              {"bias": False})}, [x], name)

    def pad_end(self, x, shape, padded, name):
        """Zeros after the end of each dim of x (of `shape`) that `padded`
        makes longer, as F.pad does: a concat with a constant of zeros."""
        shape = list(shape)
        for dim, (size, target) in enumerate(zip(shape, padded)):
            if target > size:
                zeros = self.constant(torch.zeros([1] + shape[1:dim] + [target - size] +
                                                  shape[dim + 1:]), f"{name}_{dim}_zeros")
                x = self.add("concat", {"dim": dim}, [x, zeros], f"{name}_{dim}")
                shape[dim] = target
        return x

    def shifted_window_attention(self, node):
        """torchvision's Swin attention over x [N, H, W, C] (V2's cosine
        attention where logit_scale is given), in layers that keep the batch
        first: the windows are dim 1, [N, windows, ws*ws, C], not folded
        into the batch. The relative position bias and the shift mask are
        fixed, one `parameter` added to the scores; V1's query scale is
        folded into the qkv weights. A map that is not a whole number of
        windows is padded with zeros and cut back after, as torchvision does."""
        call = dict(zip(("input", "qkv_weight", "proj_weight", "relative_position_bias",
                         "window_size", "num_heads", "shift_size", "attention_dropout",
                         "dropout", "qkv_bias", "proj_bias", "logit_scale"), node.args),
                    **node.kwargs)
        value = lambda key: self.values[call[key]] if isinstance(call.get(key), fx.Node) \
            else call.get(key)
        x = call["input"]
        if self.rank(x) != 4:
            raise UnsupportedError(f"{node.name}: shifted window attention over a "
                                   f"rank-{self.rank(x)} tensor (only [N, H, W, C])")
        shape = list(self.values[x].shape)
        window, heads = list(self.const(call["window_size"])), self.const(call["num_heads"])
        channels = shape[3]
        height, width = (-(-n // w) * w for n, w in zip(shape[1:3], window))  # padded
        if any(self.const(call.get(key, 0.0)) for key in ("attention_dropout", "dropout")):
            raise UnsupportedError(f"{node.name}: dropout, which torchvision applies here in "
                                   "eval mode too")
        # As torchvision: no shift where one window covers the map.
        shift = [0 if w >= n else s for w, n, s in
                 zip(window, (height, width), self.const(call["shift_size"]))]
        grid, size, depth = [height // window[0], width // window[1]], \
            window[0] * window[1], channels // heads
        prefix = node.meta.get("module") or node.name
        name = lambda step: f"{prefix}.{step}"
        t = self.pad_end(self.name_of(x), shape, [0, height, width, channels], name("pad"))
        if any(shift):
            t = self.roll(t, [-s for s in shift], [1, 2], [0, height, width, channels],
                          name("shift"))
        t = self.add("reshape", {"shape": [grid[0], window[0], grid[1], window[1], channels]},
                     [t], name("windows_split"))
        t = self.add("permute", {"dims": [0, 1, 3, 2, 4, 5]}, [t], name("windows_order"))
        t = self.add("reshape", {"shape": [grid[0] * grid[1], size, channels]}, [t],
                     name("windows"))
        weight, bias = value("qkv_weight").clone(), value("qkv_bias")
        bias = bias.clone() if bias is not None else None
        cosine = value("logit_scale") is not None
        if cosine and bias is not None:
            bias[channels:2 * channels] = 0  # as torchvision: V2's keys have no bias
        elif not cosine:
            weight[:channels] *= depth ** -0.5
            if bias is not None:
                bias[:channels] *= depth ** -0.5
        t = self.linear(t, weight, bias, name("qkv"))
        t = self.add("reshape", {"shape": [grid[0] * grid[1], size, 3, heads, depth]}, [t],
                     name("heads_split"))
        t = self.add("permute", {"dims": [0, 3, 1, 4, 2, 5]}, [t], name("heads"))
        q, k, v = (self.add("select", {"dim": 1, "index": i}, [t], name(part))
                   for i, part in enumerate("qkv"))
        if cosine:
            q, k = (self.add("normalize", {"dim": -1}, [part], name(f"{part_name}_normalized"))
                    for part, part_name in ((q, "q"), (k, "k")))
            scale = torch.clamp(value("logit_scale"), max=math.log(100.0)).exp()  # [heads, 1, 1]
            q = self.add("mul", {}, [q, self.constant(scale[None, None], name("logit_scale"))],
                         name("q_scaled"))
        k = self.add("transpose", {"dim0": 3, "dim1": 4}, [k], name("k_t"))
        t = self.add("matmul", {}, [q, k], name("scores"))
        bias = value("relative_position_bias")
        if any(shift):
            bias = bias + _shift_mask((height, width), window, shift)[:, None]
        t = self.add("add", {}, [t, self.constant(bias[None], name("attn_bias"))],
                     name("biased_scores"))
        t = self.add("softmax", {"dim": -1}, [t], name("attn"))
        t = self.add("matmul", {}, [t, v], name("context"))
        t = self.add("permute", {"dims": [0, 1, 3, 2, 4]}, [t], name("heads_merge"))
        t = self.add("reshape", {"shape": [grid[0] * grid[1], size, channels]}, [t],
                     name("heads_merged"))
        t = self.linear(t, value("proj_weight"), value("proj_bias"), name("proj"))
        t = self.add("reshape", {"shape": grid + window + [channels]}, [t],
                     name("windows_merge_split"))
        t = self.add("permute", {"dims": [0, 1, 3, 2, 4, 5]}, [t], name("windows_merge"))
        cut = [(dim, size) for dim, size, padded in ((1, shape[1], height), (2, shape[2], width))
               if size < padded]
        t = self.add("reshape", {"shape": [height, width, channels]}, [t],
                     prefix if not any(shift) and not cut else name("windows_merged"))
        if any(shift):
            t = self.roll(t, shift, [1, 2], [0, height, width, channels],
                          prefix if not cut else name("unshift"))
        for i, (dim, size) in enumerate(cut):
            t = self.add("slice", {"dim": dim, "start": 0, "end": size}, [t],
                         prefix if i == len(cut) - 1 else name(f"unpad_{dim}"))
        self.alias[node] = t

    def patch_merging(self, node, x):
        """torchvision's _patch_merging_pad over x [N, H, W, C]: the four
        stride-2 phases x[..., i::2, j::2, :] concatenated (i + 2j order) on
        the channels, as a reshape to [N, H/2, 2, W/2, 2, C] and a permute;
        an odd size is first padded with zeros, as torchvision does."""
        if self.rank(x) != 4:
            raise UnsupportedError(f"{node.name}: patch merging of a rank-{self.rank(x)} "
                                   "tensor (only [N, H, W, C])")
        shape = list(self.values[x].shape)
        height, width, channels = shape[1] + shape[1] % 2, shape[2] + shape[2] % 2, shape[3]
        t = self.pad_end(self.name_of(x), shape, [0, height, width, channels],
                         f"{node.name}_pad")
        t = self.add("reshape", {"shape": [height // 2, 2, width // 2, 2, channels]},
                     [t], f"{node.name}_split")
        t = self.add("permute", {"dims": [0, 1, 3, 4, 2, 5]}, [t], f"{node.name}_phases")
        self.alias[node] = self.add("reshape", {"shape": [height // 2, width // 2,
                                                          4 * channels]}, [t], node.name)

    def einsum(self, node, equation, operands):
        """einsum as a batched matmul (MaxViT's "BGHID,BGHJD->BGHIJ" is
        q @ k^T): [..., i, k] x [..., k, j] or [..., j, k] -> [..., i, j]."""
        terms = equation.replace(" ", "").replace("->", ",").split(",")
        if len(operands) != 2 or len(terms) != 3:
            raise UnsupportedError(f"{node.name}: einsum '{equation}' (only a batched matrix "
                                   "product of two tensors; write it with @)")
        a, b, out = terms
        batch, (i, j), k = out[:-2], out[-2:], a[-1:]
        if a != batch + i + k or b not in (batch + k + j, batch + j + k) or k in out:
            raise UnsupportedError(f"{node.name}: einsum '{equation}' is not a batched matrix "
                                   "product [..., i, k] x [..., k, j]; write it with @")
        lhs, rhs = operands
        if b == batch + j + k:
            self.emit(node, "transpose", {"dim0": len(b) - 2, "dim1": len(b) - 1}, [rhs],
                      name=f"{node.name}_t")
            rhs = node
        self.emit(node, "matmul", {}, [lhs, rhs], name=node.name)

    def affine(self, node, op, lhs, rhs, number_first):
        """A tensor and a number (`x * 0.125`, `1 - x`): an `affine` layer,
        x * scale + shift."""
        x, number = (rhs, self.const(lhs)) if number_first else (lhs, self.const(rhs))
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise UnsupportedError(f"{node.name}: {op} with {number!r} (only numbers and tensors)")
        if op == "div" and (number_first or number == 0):
            raise UnsupportedError(f"{node.name}: div of a number by a tensor, or by 0 (only a "
                                   "tensor divided by a nonzero number)")
        if op == "add":
            scale, shift = 1, number
        elif op == "sub":
            scale, shift = (-1, number) if number_first else (1, -number)
        else:
            scale, shift = (number if op == "mul" else 1 / number), 0
        keys = {}
        if scale != 1:
            keys["scale"] = float(scale)
        if shift != 0:
            keys["shift"] = float(shift)
        self.emit(node, "affine", keys, [x])

    def layer_norm(self, node):
        """F.layer_norm(x, (C,), module.weight, module.bias, eps), as
        ConvNeXt's LayerNorm2d calls it: a `layernorm` layer named by the
        module, whose weights then load by name."""
        call = dict(zip(("input", "normalized_shape", "weight", "bias", "eps"), node.args),
                    **node.kwargs)
        weight, bias = call.get("weight"), call.get("bias")
        owner = weight.target.rpartition(".")[0] if isinstance(weight, fx.Node) and \
            weight.op == "get_attr" and weight.target.endswith(".weight") else None
        if owner is None or not (isinstance(bias, fx.Node) and bias.target == owner + ".bias") \
                or len(self.const(call["normalized_shape"])) != 1:
            raise UnsupportedError(f"{node.name}: layer_norm is supported over the last dim with "
                                   "a module's own weight and bias; use nn.LayerNorm")
        eps = self.const(call.get("eps", 1e-5))
        self.emit(node, "layernorm", {} if eps == 1e-5 else {"eps": eps}, [call["input"]],
                  name=owner)

    def mean(self, node, x, dims, keepdim):
        """x.mean: global average pooling over every dim after the channels
        (its kernels are the pooling ones), else a `mean` reduction."""
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        rank = self.rank(x)
        if not dims:
            raise UnsupportedError(f"{node.name}: mean over every dim, the batch included")
        if sorted(d % rank for d in dims) != list(range(2, rank)):
            self.emit(node, "mean", {"dims": dims, **({"keepdim": True} if keepdim else {})}, [x])
        elif keepdim:
            self.emit(node, "global_avgpool", {}, [x])
        else:
            self.emit(node, "global_avgpool", {}, [x], name=f"{node.name}_pool")
            self.emit(node, "flatten", {"start_dim": 1}, [node], name=node.name)

    def index(self, node, x, index):
        """x[:, i] (`select`) and x[:, a:b] (`slice`), in one dim after the batch."""
        full = slice(None)
        picks = [(dim, i) for dim, i in enumerate(index) if i != full]
        if len(picks) != 1 or picks[0][0] == 0 or \
                not isinstance(picks[0][1], (int, slice)) or \
                isinstance(picks[0][1], slice) and picks[0][1].step not in (None, 1):
            raise UnsupportedError(f"{node.name}: indexing {index} (only x[:, i] or "
                                   "x[:, a:b] in one dim after the batch)")
        dim, i = picks[0]
        if isinstance(i, int):
            self.emit(node, "select", {"dim": dim, "index": i}, [x])
        else:
            start, end, _ = i.indices(self.values[x].shape[dim])
            self.emit(node, "slice", {"dim": dim, "start": start, "end": end}, [x])

    def parts_of(self, node, x, dim):
        """chunk and split: their parts' bounds along `dim`, from the sizes
        forward gave them; each part used becomes a `slice` (see part)."""
        if not self.is_tensor(node):
            raise UnsupportedError(f"{node.name}: split with sizes unknown before run time")
        dim = dim % self.rank(x)
        bounds, start = [], 0
        for part in self.values[node]:
            bounds.append((start, start + part.shape[dim]))
            start += part.shape[dim]
        self.parts[node] = (x, dim, bounds)

    def part(self, node, whole, i):
        x, dim, bounds = self.parts[whole]
        start, end = bounds[i]
        self.emit(node, "slice", {"dim": dim, "start": start, "end": end}, [x])

    def call_method(self, node):
        method, args = node.target, node.args
        if method in ("relu", "sigmoid", "tanh"):
            self.emit(node, method, {}, [args[0]])
        elif method == "flatten":
            start = node.kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
            self.emit(node, "flatten", {"start_dim": start}, [args[0]])
        elif method in ("view", "reshape"):
            dims = self.const(list(args[1:]) if not isinstance(args[1], (tuple, list))
                              else list(args[1]))
            batch, rest = dims[0], dims[1:]
            if batch not in (BATCH, -1) or BATCH in rest:
                raise UnsupportedError(f"{node.name}: {method} must keep dim 0 (the batch)")
            self.emit(node, "reshape", {"shape": rest}, [args[0]])
        elif method == "permute":
            dims = list(args[1:]) if not isinstance(args[1], (tuple, list)) else list(args[1])
            self.emit(node, "permute", {"dims": dims}, [args[0]])
        elif method in ("transpose", "swapaxes"):
            self.emit(node, "transpose", {"dim0": args[1], "dim1": args[2]}, [args[0]])
        elif method in ("chunk", "split"):
            self.parts_of(node, args[0],
                          node.kwargs.get("dim", args[2] if len(args) > 2 else 0))
        elif method == "mean":
            self.mean(node, args[0], node.kwargs.get("dim", args[1] if len(args) > 1 else None),
                      node.kwargs.get("keepdim", args[2] if len(args) > 2 else False))
        elif method == "expand" and self.name_of(args[0]) in self.parameters and \
                self.values[node].shape[1:] == self.values[args[0]].shape[1:]:
            self.passthrough(node, args[0])  # a `parameter` layer has the batch already
        elif method in ("contiguous",):
            self.passthrough(node, args[0])
        else:
            raise UnsupportedError(f"method .{method}() ({node.name})")

    def learned(self, node, first_input):
        """A learned tensor used in forward (ViT's class token and position
        embedding, ConvNeXt's layer scale), or one forward computes from
        learned tensors alone (MaxViT's relative position bias, gathered
        from a table by a fixed index; named by its module path and node
        name, weights as `computed`): a `parameter` layer, repeated over the
        batch. Its rank is that of the tensors it is combined with,
        broadcasting as PyTorch does: [C, 1, 1] times [N, C, H, W] is
        [1, C, 1, 1]."""
        name = node.target if node.op == "get_attr" else \
            ".".join(filter(None, (node.meta.get("module"), node.name)))
        if name in self.parameters:  # read again
            self.alias[node] = name
            return
        value = self.values.get(node)
        if node.op != "get_attr":
            self.computed[name] = value
        ranks = [self.rank(u) for u in node.users if self.is_tensor(u) and
                 isinstance(self.values[u], torch.Tensor)]
        shape = list(value.shape) if isinstance(value, torch.Tensor) else "unknown"
        if shape != "unknown" and ranks:
            shape = [1] * (max(ranks) - len(shape)) + shape
        if shape == "unknown" or not shape or shape[0] != 1:
            raise UnsupportedError(f"learned tensor '{name}' of shape {shape} used in "
                                   "forward: only tensors that broadcast over the batch are "
                                   "supported (a leading 1, or fewer dims than the tensors "
                                   "they are combined with)")
        self.emit(node, "parameter", {"shape": shape[1:]}, [first_input], name=name)
        self.parameters.add(name)

    def convert(self):
        graph_module = trace(self.module)
        graph = graph_module.graph
        self.values = _static_values(graph_module, self.inputs)
        outputs = []
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(self.inputs):
            raise UnsupportedError(f"forward takes {len(placeholders)} inputs "
                                   f"({', '.join(p.target for p in placeholders)}); "
                                   f"{len(self.inputs)} were given")
        # Inputs are named by position, as given.
        for placeholder, name in zip(placeholders, self.inputs):
            self.alias[placeholder] = name
        self.previous = next(iter(self.inputs))
        errors, failed = [], set()
        for node in graph.nodes:
            if node.op == "placeholder" or any(i in self.dynamic for i in node.all_input_nodes):
                self.dynamic.add(node)
        for node in graph.nodes:
            if node.op == "placeholder":
                continue
            if any(i in failed for i in node.all_input_nodes):
                failed.add(node)  # reported where it failed
                continue
            try:
                outputs = self.convert_node(node, placeholders[0]) or outputs
            except UnsupportedError as e:
                errors.append(f"{node.meta.get('module') or 'forward'}: {e}")
                failed.add(node)
            except Exception as e:  # a form the converter misreads: still one line, no traceback
                errors.append(f"{node.meta.get('module') or 'forward'}: {node.op} "
                              f"{getattr(node.target, '__name__', node.target)} ({node.name}): "
                              f"the converter failed ({type(e).__name__}: {e}); please report it")
                failed.add(node)
        if errors:
            raise UnsupportedError("\n".join(errors))
        self.state, self.dropped = used_state(
            self.module, graph, self.parameters,
            {n.target for n in self.dynamic if n.op == "call_module"})
        self.state.update(self.computed)
        return outputs

    def convert_node(self, node, first_input):
        """Emits the layers of one node; the output's tensor names for the
        output node."""
        if node.op in ("call_function", "call_method") and node in self.values and \
                not self.is_tensor(node):
            return None  # shape arithmetic and asserts: arguments of the layers that use them
        if node.op == "call_function" and node.target is operator.getitem and not node.users:
            return None  # an unused part of a result, e.g. `y, _ = attention(x, x, x)`
        if node.op == "get_attr" and all(u.target is F.layer_norm for u in node.users):
            return None  # a norm's weight or bias: see layer_norm
        if node not in self.dynamic and node.users and \
                all(u.target is swin_transformer.shifted_window_attention for u in node.users):
            return None  # weights and the position bias: see shifted_window_attention
        if node not in self.dynamic and node.op != "output":
            if any(u in self.dynamic for u in node.users):
                self.learned(node, first_input)
            return None  # else only what forward computes a learned tensor from
        if node.op == "call_module":
            self.call_module(node)
        elif node.op == "call_function":
            self.call_function(node)
        elif node.op == "call_method":
            self.call_method(node)
        elif node.op == "output":
            result = node.args[0]
            items = result.values() if isinstance(result, dict) else \
                result if isinstance(result, (tuple, list)) else [result]
            return [self.name_of(r) for r in items]
        else:
            raise UnsupportedError(f"{node.op} '{node.target}'")
        return None


def used_state(module, graph, learned=None, called=None):
    """(state, dropped): the state_dict entries of the modules and tensors
    `graph` (module's traced graph) uses, and the outermost modules it never
    calls (GoogLeNet's auxiliary classifiers in eval mode). `learned` and
    `called`, where given, are the learned tensors the spec reads and the
    modules it has layers for; the others only serve to compute a learned
    tensor (see _Converter.learned; Swin V2's cpb_mlp) and are left out too."""
    modules = called if called is not None else \
        {n.target for n in graph.nodes if n.op == "call_module"}
    tensors = {n.target: n for n in graph.nodes if n.op == "get_attr"}
    reads = {t for t, n in tensors.items() if learned is None or t in learned or
             all(u.target is F.layer_norm for u in n.users)}
    state, dropped = {}, []
    for key, tensor in module.state_dict().items():
        parts = key.split(".")
        prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if key in reads or any(p in modules for p in prefixes):
            state[key] = tensor
        elif key not in tensors:
            outer = next(p for p in prefixes
                         if not any(u == p or u.startswith(p + ".") for u in modules | set(tensors)))
            if outer not in dropped:
                dropped.append(outer)
    return state, dropped


def dropped_line(module, dropped):
    """The one line that says which modules (or buffers: MaxViT's index,
    which forward reads as a constant) the weights leave out."""
    modules = dict(module.named_modules())
    kind = "modules" if all(n in modules for n in dropped) else "modules or buffers"
    return f"dropped {len(dropped)} unused {kind}: {', '.join(dropped)}"


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def module_to_spec(module, inputs, name):
    """Returns (spec text, output tensor names, weights, dropped modules)
    for `module` traced with torch.fx; `inputs` maps input names, in
    forward's argument order, to shapes (e.g. {"image": ["N", 3, 224,
    224]}). The weights are the state_dict entries the spec uses: modules
    forward never calls are dropped (their paths, outermost first)."""
    converter = _Converter(module.eval(), inputs)
    outputs = converter.convert()
    lines = [f"# Generated from {type(module).__name__} by compiler/tools/torch/spire_torch.py",
             "spire: 1", f"name: {name}", "inputs:"]
    lines += [f"  {k}: {_yaml_value(v)}" for k, v in inputs.items()]
    lines.append("layers:")
    for kind, keys in converter.layers:
        body = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in keys.items())
        lines.append(f"  - {kind}: {{{body}}}")
    if not converter.layers or outputs != [converter.layers[-1][1]["name"]]:
        lines.append(f"outputs: {_yaml_value(outputs)}")
    return "\n".join(lines) + "\n", outputs, converter.state, converter.dropped
