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
        self.owners = []      # per layer, the path of the module whose forward made it
        self.node = None      # the fx node being converted (its layers' owner)
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
        self.owners.append(self.node.meta.get("module", "") if self.node else "")
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
        # A size may come from shape arithmetic (`y.shape[-2:]`); None keeps
        # the input's size along that dim.
        size = self.const(size)
        size = [size, size] if isinstance(size, int) else list(size)
        if None in size:
            spatial = list(self.values[x].shape[2:]) if x in self.values else None
            if spatial is None:
                raise UnsupportedError("adaptive pool to a size of None: the input's size is "
                                       "unknown, as a size other than the batch is symbolic")
            size = [s if s is not None else d for s, d in zip(size, spatial)]
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
        self.node = node
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
    which forward reads as a constant) the weights leave out: those forward
    never calls, and those it only computes a constant from at conversion
    (Swin V2's cpb_mlp), so not "unused"."""
    modules = dict(module.named_modules())
    kind = "modules" if all(n in modules for n in dropped) else "modules or buffers"
    return f"left out the weights of {len(dropped)} {kind} no spec layer reads: " \
        f"{', '.join(dropped)}"


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def module_to_spec(module, inputs, name, flat=False):
    """Returns (spec text, output tensor names, weights, dropped modules)
    for `module` traced with torch.fx; `inputs` maps input names, in
    forward's argument order, to shapes (e.g. {"image": ["N", 3, 224,
    224]}). The weights are the state_dict entries the spec uses: modules
    forward never calls are dropped (their paths, outermost first). The
    layers are one per line with `flat`, else module structure that repeats
    is written as blocks (see _blocked)."""
    converter = _Converter(module.eval(), inputs)
    outputs = converter.convert()
    lines = [f"# Generated from {type(module).__name__} by compiler/tools/torch/spire_torch.py",
             "spire: 1", f"name: {name}", "inputs:"]
    lines += [f"  {k}: {_yaml_value(v)}" for k, v in inputs.items()]
    try:
        blocked = None if flat else _blocked(converter, outputs)
    except Exception as e:  # one line, as for a node the converter misreads
        raise UnsupportedError(f"writing blocks failed ({type(e).__name__}: {e}); please "
                               "report it; the flat layers (--flat) do not need them") from e
    if blocked:
        body, outputs = blocked
        lines += body
    else:
        lines.append("layers:")
        for kind, keys in converter.layers:
            body = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in keys.items())
            lines.append(f"  - {kind}: {{{body}}}")
        if not converter.layers or outputs != [converter.layers[-1][1]["name"]]:
            lines.append(f"outputs: {_yaml_value(outputs)}")
    return "\n".join(lines) + "\n", outputs, converter.state, converter.dropped


# -- readable specs: module structure that repeats, as blocks ---------------
#
# Instances of one module class (ResNet's BasicBlocks, MobileNet's inverted
# residuals, a transformer's encoder layers) become one block where their
# layers line up: the numbers that differ are its `params`, layers only some
# instances have (a downsample, a residual add) carry `if:`, and a
# container's children 0..K-1 are one call with `repeat: K` (`first:` where
# the first differs). Layer names inside a block are the module's own, so
# the expanded names are the state_dict's. Each block is kept only where
# the spec, expanded as ModuleBuilder expands it (_expand), gives exactly
# the flat layers: kinds, keys, inputs and weight names.

# The spec's defaults of the keys the converter leaves out at their default
# (Layers.cpp), so that a parameter can stand for a key some instances omit.
_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}
_KEY_DEFAULTS = {
    "conv1d": _CONV_DEFAULTS, "conv2d": _CONV_DEFAULTS,
    "conv_transpose2d": {**_CONV_DEFAULTS, "output_padding": 0},
    "batchnorm1d": {"eps": 1e-5}, "batchnorm2d": {"eps": 1e-5}, "layernorm": {"eps": 1e-5},
    "linear": {"bias": True}, "gelu": {"approximate": "none"},
    "affine": {"scale": 1.0, "shift": 0.0}, "mean": {"keepdim": False},
    "maxpool2d": {"padding": 0, "dilation": 1, "ceil_mode": False},
    "avgpool2d": {"padding": 0, "ceil_mode": False, "count_include_pad": True},
}
_STRUCTURE_KEYS = ("name", "from", "with", "if", "project", "repeat", "first")
# A block must save this many lines, else its instances read better flat.
_MIN_SAVING = 4
# Modules that only hold others: their children are the instances.
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _same(a, b):
    """Equal values of one type (1 is not True, nor 1.0)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _as_list(v):
    return v if isinstance(v, list) else [v]


class _Layer:
    """A converted layer; `inputs` are tensor names, first the one it reads
    (`from`, else the previous layer's), then those it joins (`with`)."""

    def __init__(self, kind, keys, previous, owner, named):
        self.values = dict(keys)
        self.kind, self.name = kind, self.values.pop("name")
        self.explicit_from = "from" in self.values
        first, joined = self.values.pop("from", previous), self.values.pop("with", [])
        self.inputs = [first] + _as_list(joined)
        self.owner = owner
        self.named = named  # a module's or learned tensor's name: weights load by it


class _Token:
    """A layer of a block, and per instance the flat layer it stands for
    (None where that instance lacks it) and its keys. `refs` are its inputs:
    "input" (the instance's), a token's position or ("outer", tensor name);
    `join` is the position of the join whose `project` list holds it."""

    def __init__(self, kind, local, keys, refs, join, flat, values):
        self.kind, self.local, self.keys, self.refs, self.join = kind, local, keys, refs, join
        self.flat, self.values = flat, values

    def lines_up(self, other):
        return self.kind == other.kind and self.local == other.local and \
            self.keys == other.keys and (self.join is None) == (other.join is None)


class _Instance:
    """One call of module `path`: flat layers [start, end) that read the
    tensor `source` as `input`, as tokens."""

    def __init__(self, path, start, end, source, tokens):
        self.path, self.start, self.end, self.source, self.tokens = \
            path, start, end, source, tokens


def _instance(layers, path, start, end, producer, uses, first_input):
    """The instance of module `path` over layers[start:end], or None where
    its layers are not all named under it. A leading layer that joins a
    tensor from outside (DenseNet's concat of the earlier layers' outputs)
    is left out of it. Its input is the previous layer's output where a
    layer reads that (ConvNeXt's reads a learned tensor first), else the
    first layer's input."""
    while start < end and any(not start <= producer.get(n, -1) < end
                              for n in layers[start].inputs[1:]):
        start += 1
    if start == end:
        return None
    previous = layers[start - 1].name if start else first_input
    source = previous if any(previous in layers[i].inputs for i in range(start, end)) else \
        layers[start].inputs[0]
    tokens = []
    for i in range(start, end):
        layer = layers[i]
        if layer.named and not layer.name.startswith(path + "."):
            return None
        refs = []
        for n in layer.inputs:
            p = producer.get(n, -1)
            refs.append(p - start if start <= p < i else "input" if n == source else ("outer", n))
        keys = frozenset(_KEY_DEFAULTS.get(layer.kind, {})) | frozenset(layer.values)
        tokens.append(_Token(layer.kind, layer.name[len(path) + 1:] if layer.named else None,
                             keys, refs, None, [i], [layer.values]))
    _fold_projections(tokens, [uses[t.flat[0]] for t in tokens])
    return _Instance(path, start, end, source, tokens)


def _fold_projections(tokens, uses):
    """A join whose `with` is a chain of layers from another tensor than
    its `from`, shorter than the path from that tensor to the `from`
    (ResNet's downsample of the block input), takes that tensor and the
    chain as `project`, as instances without the chain join the tensor
    itself."""
    for j, join in enumerate(tokens):
        if len(join.refs) != 2 or join.refs[1] != j - 1 or uses[j - 1] != 1:
            continue
        c = j - 1
        while c > 0 and tokens[c].refs == [c - 1] and uses[c - 1] == 1:
            c -= 1
        main = c - 1 if c > 0 else "input"
        if len(tokens[c].refs) != 1 or join.refs[0] != main or tokens[c].refs[0] == main:
            continue
        source = tokens[c].refs[0]
        if c - (source + 1 if isinstance(source, int) else 0) < j - c:
            continue
        for k in range(c, j):
            tokens[k].join = j
        join.refs = [main, source]


def _lcs(a, b):
    """Pairs (i, j) of a longest common subsequence of tokens that line up."""
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in reversed(range(n)):
        for j in reversed(range(m)):
            table[i][j] = table[i + 1][j + 1] + 1 if a[i].lines_up(b[j]) else \
                max(table[i + 1][j], table[i][j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if a[i].lines_up(b[j]) and table[i][j] == table[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _merge(merged, count, tokens):
    """The tokens of `count` instances (`merged`) and of one more, as one
    block's; None where their inputs differ, a local name would repeat, or
    over a third of the layers would be some instances' only."""
    order, old_at, new_at = [], {}, {}
    a = b = 0
    for i, j in _lcs(merged, tokens) + [(len(merged), len(tokens))]:
        for k in range(a, i):
            old_at[k] = len(order)
            order.append((merged[k], None))
        for k in range(b, j):
            new_at[k] = len(order)
            order.append((None, tokens[k]))
        if i < len(merged):
            old_at[i] = new_at[j] = len(order)
            order.append((merged[i], tokens[j]))
        a, b = i + 1, j + 1

    def moved(token, at):
        refs = [at[r] if isinstance(r, int) else r for r in token.refs]
        return refs, None if token.join is None else at[token.join]

    result = []
    for old, new in order:
        refs, join = moved(old, old_at) if old else moved(new, new_at)
        if old and new and moved(new, new_at) != (refs, join):
            return None
        base = old or new
        flat = (old.flat if old else [None] * count) + (new.flat if new else [None])
        values = (old.values if old else [None] * count) + (new.values if new else [None])
        result.append(_Token(base.kind, base.local, base.keys, refs, join, flat, values))
    locals_ = [t.local for t in result if t.local is not None]
    optional = sum(None in t.flat for t in result)
    if len(set(locals_)) != len(locals_) or 3 * optional > len(result):
        return None
    return result


def _sanitize(text):
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text)


class _Block:
    """Instances that line up, as one block: its tokens, the parameters for
    what differs between them and which instances call it together."""

    def __init__(self, cls, tokens, instances, layers):
        self.cls, self.tokens, self.instances = cls, tokens, instances
        self.key = tuple(i.path for i in instances)
        # Parameters: (name, per instance its value or None where it has none
        # of the layers that use it, default); positions: (token, key) -> name.
        groups, self.positions = [], {}
        for t, token in enumerate(tokens):
            for key in self.key_order(token):
                default = _KEY_DEFAULTS.get(token.kind, {}).get(key)
                vector = [None if v is None else v.get(key, default) for v in token.values]
                present = [v for v in vector if v is not None]
                if all(_same(v, present[0]) for v in present):
                    continue
                for group in groups:
                    if all(x is None or y is None or _same(x, y) for x, y in zip(group[1], vector)):
                        group[1] = [x if x is not None else y for x, y in zip(group[1], vector)]
                        group[2].append((t, key))
                        break
                else:
                    groups.append([None, list(vector), [(t, key)]])
        first_keys = [g[2][0][1] for g in groups]
        self.params = []
        for group in groups:
            t, key = group[2][0]
            local = _sanitize(tokens[t].local or tokens[t].kind)
            name = key if first_keys.count(key) == 1 else \
                f"{local}_{key}" if local[0].isalpha() else f"{tokens[t].kind}_{local}_{key}"
            self.params.append((self._unique(name), group[1], self._default(group[1])))
            for position in group[2]:
                self.positions[position] = self.params[-1][0]
        # Flags: one per set of instances that have some layers.
        self.flags = {}  # token -> flag name
        by_presence = {}
        for t, token in enumerate(tokens):
            if None in token.flat:
                by_presence.setdefault(tuple(f is not None for f in token.flat), []).append(t)
        for presence, members in by_presence.items():
            names = [(tokens[t].local or tokens[t].kind).split(".") for t in members]
            common = []
            for parts in zip(*names):
                if len(set(parts)) != 1:
                    break
                common.append(parts[0])
            name = _sanitize(".".join(common) if common else ".".join(names[0]))
            if not name[0].isalpha():  # a Sequential's child: `if: $silu_2`, not `$2`
                name = f"{tokens[members[0]].kind}_{name}"
            name = self._unique(name)
            self.params.append((name, list(presence), self._default(list(presence))))
            for t in members:
                self.flags[t] = name
        self.calls = self._calls(layers)
        self.explicit = self._explicit_from()

    def _unique(self, name):
        taken = {p[0] for p in self.params} | set(_STRUCTURE_KEYS)
        stem, k = name, 2
        while name in taken:
            name, k = f"{stem}_{k}", k + 1
        return name

    @staticmethod
    def _default(vector):
        """The most common value, where over half the instances or any lacks
        one; else none (`~`: each call gives it)."""
        present = [v for v in vector if v is not None]
        best = max(present, key=lambda v: sum(_same(v, w) for w in present))
        count = sum(_same(best, w) for w in present)
        return best if len(present) < len(vector) or 2 * count > len(vector) or \
            isinstance(best, bool) else None

    @staticmethod
    def key_order(token):
        """The keys of a token that some instance writes, in the order of the
        instance that writes most."""
        keys = []
        for values in sorted((v for v in token.values if v), key=len, reverse=True):
            for key in values:
                if key not in keys:
                    keys.append(key)
        return keys

    def value(self, param, i):
        """Parameter `param`'s value for instance i, None where it has none."""
        return self.params[param][1][i]

    def _explicit_from(self):
        """The tokens that, in some instance, read another tensor than the
        layer before them (in their list): those take `from`."""
        n, explicit = len(self.instances), set()

        def walk(members, start):
            current = [start] * n
            for t in members:
                present = [i for i in range(n) if self.tokens[t].flat[i] is not None]
                if any(self.tokens[t].refs[0] != current[i] for i in present):
                    explicit.add(t)
                for i in present:
                    current[i] = t

        walk([t for t, token in enumerate(self.tokens) if token.join is None], "input")
        for j in {token.join for token in self.tokens if token.join is not None}:
            walk([t for t, token in enumerate(self.tokens) if token.join == j],
                 self.tokens[j].refs[1])
        return explicit

    def _calls(self, layers):
        """[(first instance, count)]: the children 0..K-1 of a container
        that follow each other, one after another, as one call with `repeat`
        where all but the first take the same values."""
        calls, i, n = [], 0, len(self.instances)
        while i < n:
            container, _, child = self.instances[i].path.rpartition(".")
            k = 1
            while container and child == "0" and i + k < n:
                previous, this = self.instances[i + k - 1], self.instances[i + k]
                if this.path != f"{container}.{k}" or this.start != previous.end or \
                        this.source != layers[previous.end - 1].name or \
                        any(not all(a is None or b is None or _same(a, b)
                                    for a in p[1][i + 1:i + k + 1] for b in p[1][i + 1:i + k + 1])
                            for p in self.params):
                    break
                k += 1
            calls.append((i, k))
            i += k
        return calls

    def saving(self):
        """Lines the block saves: its instances' layers, less its definition
        and calls (a join with a `project` list takes a few lines more)."""
        projections = {t.join for t in self.tokens if t.join is not None}
        definition = 3 + len(self.tokens) + 4 * len(projections)
        return sum(i.end - i.start for i in self.instances) - definition - len(self.calls)


def _candidates(layers, modules):
    """class -> [(module path, start, end)]: the modules (not containers, not
    the root, not a single layer) whose layers follow each other."""
    spans = {}
    for i, layer in enumerate(layers):
        parts = layer.owner.split(".") if layer.owner else []
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            span = spans.setdefault(path, [i, i, 0])
            span[1], span[2] = i, span[2] + 1
    by_class = {}
    for path, (start, last, count) in spans.items():
        module = modules.get(path)
        if module is None or type(module) in _CONTAINERS or count != last - start + 1 or \
                any(layers[i].name == path for i in range(start, last + 1)):
            continue
        by_class.setdefault(type(module), []).append((path, start, last + 1))
    return by_class


def _block_name(cls, taken):
    """BasicBlock -> basic_block, InvertedResidual -> inverted_residual_block:
    ending in `block`, it cannot be a layer kind's name."""
    name = "".join("_" + c.lower() if c.isupper() and i and cls.__name__[i - 1].islower()
                   else c.lower() for i, c in enumerate(cls.__name__)).strip("_")
    name = _sanitize(name if name.endswith("block") else name + "_block")
    stem, k = name, 2
    while name in taken:
        name, k = f"{stem}_{k}", k + 1
    return name


def _clusters(cls, instances, layers):
    """The blocks of a class's instances: each joins the first block it
    lines up with, else starts one; blocks of one instance are dropped."""
    groups = []
    for instance in instances:
        for group in groups:
            merged = _merge(group[0], len(group[1]), instance.tokens)
            if merged is not None:
                group[0] = merged
                group[1].append(instance)
                break
        else:
            groups.append([instance.tokens, [instance]])
    return [_Block(cls, tokens, members, layers) for tokens, members in groups if len(members) > 1]


class _Mismatch(Exception):
    pass


class _Scope:
    def __init__(self, prefix, parent=None, source=None, env=None):
        self.prefix, self.parent, self.input, self.env = prefix, parent, source, env or {}
        self.names, self.later = {}, set()


def _expand(items, blocks, inputs, outputs):
    """A spec's layers as ModuleBuilder expands them: ([(kind, name, keys,
    [input])], [output]), an input being a layer's index or a model input's
    name. `blocks` maps a block's name to ({param: default}, items). Raises
    _Mismatch where ModuleBuilder would refuse the spec."""
    ops = []

    def value(v, scope):
        if isinstance(v, str) and v.startswith("$"):
            if v[1:] not in scope.env:
                raise _Mismatch(f"unknown parameter {v}")
            return scope.env[v[1:]]
        return v

    def resolve(name, scope):
        s = scope
        while s:
            if name == "input" and s.input is not None:
                return s.input
            if s.prefix + name in s.names:
                return s.names[s.prefix + name]
            if name in s.later:
                raise _Mismatch(f"'{name}' is defined later")
            s = s.parent
        raise _Mismatch(f"unknown tensor '{name}'")

    def define(scope, local, tensor):
        full = scope.prefix + local
        if full in scope.names or full in inputs:
            raise _Mismatch(f"duplicate name '{full}'")
        scope.names[full] = tensor
        scope.later.discard(local)

    def run(layers, scope, current):
        scope.later.update(keys["name"] for _, keys in layers if "name" in keys)
        for index, (kind, keys) in enumerate(layers):
            if "if" in keys and not value(keys["if"], scope):
                continue
            name = keys.get("name", str(index))
            current = (block if kind in blocks else op)(kind, keys, name, scope, current)
        return current

    def op(kind, keys, name, scope, current):
        sources = [resolve(n, scope) for n in _as_list(keys.get("from", []))] or [current]
        for n in _as_list(keys.get("with", [])):
            joined = resolve(n, scope)
            sources.append(run(keys["project"], scope, joined) if "project" in keys else joined)
        ops.append((kind, scope.prefix + name,
                    {k: value(v, scope) for k, v in keys.items() if k not in _STRUCTURE_KEYS},
                    sources))
        define(scope, name, len(ops) - 1)
        return len(ops) - 1

    def block(kind, keys, name, scope, current):
        params, layers = blocks[kind]
        repeat, first = keys.get("repeat", 1), keys.get("first", {})
        if "from" in keys:
            current = resolve(keys["from"], scope)
        for r in range(repeat):
            env = {}
            for param, default in params.items():
                v = value(keys[param], scope) if param in keys else default
                env[param] = value(first[param], scope) if r == 0 and param in first else v
                if env[param] is None:
                    raise _Mismatch(f"block '{kind}' needs parameter '{param}'")
            instance = f"{name}.{r}" if repeat > 1 else name
            inner = _Scope(scope.prefix + instance + ".", scope, current, env)
            current = run(layers, inner, current)
            for full, tensor in inner.names.items():
                scope.names.setdefault(full, tensor)
            define(scope, instance, current)
        return current

    top = _Scope("")
    top.names.update({n: n for n in inputs})
    last = run(items, top, inputs[0])
    return ops, [resolve(n, top) for n in outputs] if outputs else [last]


def _matches(reference, expanded, layers):
    """Whether a spec's expansion is the flat one's: the same layers in the
    same order, with the same keys (defaults filled in) and inputs, and a
    module's or learned tensor's layer with the same name."""
    (ops, outs), (other_ops, other_outs) = reference, expanded
    if len(ops) != len(other_ops) or outs != other_outs:
        return False
    for (kind, name, keys, sources), (other_kind, other_name, other_keys, other_sources), layer \
            in zip(ops, other_ops, layers):
        defaults = _KEY_DEFAULTS.get(kind, {})
        keys, other_keys = {**defaults, **keys}, {**defaults, **other_keys}
        if kind != other_kind or sources != other_sources or keys.keys() != other_keys.keys() or \
                not all(_same(v, other_keys[k]) for k, v in keys.items()) or \
                layer.named and name != other_name:
            return False
    return True


def _structure(chosen, layers, producer, inputs, outputs):
    """(blocks, top-level layers, output names) of a spec with the `chosen`
    blocks, as _expand takes them. A layer inside a block is named where
    its weights load by the name or something names it; the last layer of
    an instance is named by the instance."""
    owner = {}  # flat index -> (block, instance, token)
    for b in chosen:
        for i in range(len(b.instances)):
            for t, token in enumerate(b.tokens):
                if token.flat[i] is not None:
                    owner[token.flat[i]] = (b, i, t)
    named = {b: {t for t, token in enumerate(b.tokens)
                 if token.local is not None or token.join is not None} for b in chosen}
    for j, layer in enumerate(layers):
        for k, n in enumerate(layer.inputs):
            if k or layer.explicit_from:
                f = producer.get(n)
                if f in owner:
                    b, i, t = owner[f]
                    instance = b.instances[i]
                    if not instance.start <= j < instance.end and f != instance.end - 1:
                        named[b].add(t)
    for o in outputs:
        if producer.get(o) in owner:
            b, i, t = owner[producer[o]]
            if producer[o] != b.instances[i].end - 1:
                named[b].add(t)

    for b in chosen:  # the tokens a block's layers read by name
        for t, token in enumerate(b.tokens):
            read = (token.refs[1:] if token.join is None else []) + \
                (token.refs[:1] if t in b.explicit else [])
            named[b].update(r for r in read if isinstance(r, int))

    # Local names: the module's own, else the kind's (relu, relu_1, ...);
    # an unnamed layer is named by its index, so one where a local name is
    # that index gets a name.
    local = {}
    for b in chosen:
        local[b] = {t: token.local for t, token in enumerate(b.tokens)}
        own = {name for name in local[b].values() if name is not None}
        main = [t for t, token in enumerate(b.tokens) if token.join is None]
        named[b].update(t for index, t in enumerate(main) if str(index) in own)
        for t, token in enumerate(b.tokens):
            if t in named[b] and local[b][t] is None:
                name, k = token.kind, 1
                while name in own:
                    name, k = f"{token.kind}_{k}", k + 1
                local[b][t] = name
                own.add(name)
            elif t not in named[b]:
                local[b][t] = None

    referenced = set()  # the flat names written

    def rename(n):
        referenced.add(n)
        f = producer.get(n)
        if f not in owner:
            return n
        b, i, t = owner[f]
        instance = b.instances[i]
        return instance.path if f == instance.end - 1 else f"{instance.path}.{local[b][t]}"

    blocks, block_names = {}, {}
    for b in chosen:
        block_names[b] = _block_name(b.cls, blocks)

        def ref(r, b=b):
            return r if r == "input" else local[b][r] if isinstance(r, int) else rename(r[1])

        def item(t, b=b, ref=ref):
            token, keys = b.tokens[t], {}
            if local[b][t] is not None:
                keys["name"] = local[b][t]
            for key in b.key_order(token):
                if (t, key) in b.positions:
                    keys[key] = "$" + b.positions[(t, key)]
                else:
                    keys[key] = next(v.get(key, _KEY_DEFAULTS.get(token.kind, {}).get(key))
                                     for v in token.values if v is not None)
            if t in b.explicit:
                keys["from"] = ref(token.refs[0])
            joined = [ref(r) for r in token.refs[1:]]
            if joined:
                keys["with"] = joined[0] if len(joined) == 1 else joined
            project = [item(p) for p, other in enumerate(b.tokens) if other.join == t]
            if project:
                keys["project"] = project
            if t in b.flags:
                keys["if"] = "$" + b.flags[t]
            return token.kind, keys

        main = [item(t) for t, token in enumerate(b.tokens) if token.join is None]
        blocks[block_names[b]] = ({name: default for name, _, default in b.params}, main)

    calls = {}
    for b in chosen:
        for i, k in b.calls:
            calls[b.instances[i].start] = (b, i, k)
    items, droppable, f = [], [], 0
    while f < len(layers):
        if f in calls:
            b, i, k = calls[f]
            items.append(_call(b, block_names[b], i, k, layers, rename, inputs[0]))
            f = b.instances[i + k - 1].end
            continue
        layer, keys = layers[f], {}
        keys["name"] = layer.name
        if not layer.named:
            droppable.append(len(items))
        keys.update(layer.values)
        if layer.explicit_from:
            keys["from"] = rename(layer.inputs[0])
        joined = [rename(n) for n in layer.inputs[1:]]
        if joined:
            keys["with"] = joined[0] if len(joined) == 1 else joined
        items.append((layer.kind, keys))
        f += 1
    # An unnamed layer is named by its index: keep the name where that is another's.
    top_names = {keys["name"] for _, keys in items}
    for kind, keys in items:
        if kind in blocks and keys.get("repeat", 1) > 1:
            top_names.update(f"{keys['name']}.{r}" for r in range(keys["repeat"]))
    outputs = [rename(o) for o in outputs]
    for index in droppable:
        if items[index][1]["name"] not in referenced and str(index) not in top_names:
            del items[index][1]["name"]
    return blocks, items, outputs


def _call(b, name, i, k, layers, rename, first_input):
    """The call of instances i..i+k-1 of block b: the values that differ
    from the defaults, those of the first where it differs (`first`)."""
    instance = b.instances[i]
    keys = {"name": instance.path.rpartition(".")[0] if k > 1 else instance.path}
    if k > 1:
        keys["repeat"] = k
    first = {}
    for param, vector, default in b.params:
        rest = [v for v in vector[i + 1:i + k] if v is not None]
        arg = rest[0] if rest else None if k > 1 else vector[i]
        if arg is not None and (default is None or not _same(arg, default)):
            keys[param] = arg
        effective = arg if arg is not None else default
        if k > 1 and vector[i] is not None and (effective is None or
                                                not _same(vector[i], effective)):
            first[param] = vector[i]
    if first:
        keys["first"] = first
    if instance.source != (layers[instance.start - 1].name if instance.start else first_input):
        keys["from"] = rename(instance.source)
    return name, keys


def _flow(v):
    """A value in YAML flow style: maps for `first`, ~ for none."""
    if v is None:
        return "~"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    return _yaml_value(v)


def _yaml_layers(items, indent):
    lines = []
    for kind, keys in items:
        if "project" in keys:
            lines.append(f"{indent}- {kind}:")
            lines += [f"{indent}    {k}: {_flow(v)}" for k, v in keys.items() if k != "project"]
            lines.append(f"{indent}    project:")
            lines += _yaml_layers(keys["project"], indent + "      ")
        else:
            lines.append(f"{indent}- {kind}: {_flow(keys)}" if keys else f"{indent}- {kind}")
    return lines


def _blocked(converter, outputs):
    """(the spec's lines from `blocks:` on, the output names) with blocks
    for the module structure that repeats, best first by the lines they
    save; None where no block fits."""
    layers, previous = [], next(iter(converter.inputs))
    # Layers whose weights load by their names: modules', learned tensors',
    # and those of tensors computed at conversion (`name` or `name.weight`).
    named = set(converter.modules) | converter.parameters | set(converter.computed) | \
        {tensor.rsplit(".", 1)[0] for tensor in converter.computed}
    for (kind, keys), owner in zip(converter.layers, converter.owners):
        layers.append(_Layer(kind, keys, previous, owner, keys["name"] in named))
        previous = keys["name"]
    producer = {layer.name: i for i, layer in enumerate(layers)}
    uses = [0] * len(layers)
    for n in [n for layer in layers for n in layer.inputs] + outputs:
        if n in producer:
            uses[producer[n]] += 1
    inputs = list(converter.inputs)
    reference = _expand(converter.layers, {}, inputs, outputs)
    candidates = _candidates(layers, converter.modules)
    chosen, rejected, spec = [], set(), None
    while True:
        taken = [(i.start, i.end) for b in chosen for i in b.instances]
        best = None
        for cls, spans in candidates.items():
            instances = [_instance(layers, path, start, end, producer, uses, inputs[0])
                         for path, start, end in spans
                         if not any(s < end and start < e for s, e in taken)]
            for b in _clusters(cls, [i for i in instances if i], layers):
                if b.key not in rejected and (best is None or b.saving() > best.saving()):
                    best = b
        if best is None or best.saving() < _MIN_SAVING:
            break
        attempt = _structure(chosen + [best], layers, producer, inputs, outputs)
        try:
            fits = _matches(reference, _expand(attempt[1], attempt[0], inputs, attempt[2]),
                            layers)
        except _Mismatch:
            fits = False
        if fits:
            chosen.append(best)
            spec = attempt
        else:
            rejected.add(best.key)
    if spec is None:
        return None
    blocks, items, outputs = spec
    lines = ["blocks:"]
    for name, (params, block_layers) in blocks.items():
        lines.append(f"  {name}:")
        if params:
            lines.append(f"    params: {_flow(params)}")
        lines.append("    layers:")
        lines += _yaml_layers(block_layers, "      ")
    lines.append("layers:")
    lines += _yaml_layers(items, "  ")
    kind, keys = items[-1]
    if outputs != [keys.get("name")] or kind in blocks:
        lines.append(f"outputs: {_yaml_value(outputs)}")
    return lines, outputs
