#ifndef SPIRE_OPS_TD
#define SPIRE_OPS_TD

include "spire/Dialect/SpireBase.td"
include "spire/Dialect/SpireAttrs.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

// A layer that owns parameters (weights, biases, statistics). A conv or
// linear layer's `norm` names the batch norm that fold-batchnorm folded into
// it (with that norm's `norm_eps`): its output is then that norm's tensor,
// and its weights fold the norm's statistics in.
class Spire_ParamLayerOp<string mnemonic, list<Trait> traits = []>
    : Op<Spire_Dialect, mnemonic,
         !listconcat(traits, [Pure, DeclareOpInterfaceMethods<Spire_LayerOpInterface, ["getParameters"]>])> {
  let hasVerifier = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::verify() {
      return ::spire::verifyLayerShape(getOperation());
    }
  }];
}

def Spire_Tensor : TensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Parameterized layers
//===----------------------------------------------------------------------===//

def Spire_LinearOp : Spire_ParamLayerOp<"linear"> {
  let summary = "y = x W^T + b over the last dimension of [N, ..., features] (torch.nn.Linear)";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$out,
                   OptionalAttr<I64Attr>:$in, DefaultValuedAttr<BoolAttr, "true">:$bias,
                   OptionalAttr<StrAttr>:$norm, OptionalAttr<F64Attr>:$norm_eps);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

class Spire_ConvOp<string mnemonic, int spatialRank> : Spire_ParamLayerOp<mnemonic> {
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$out,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                   DenseI64ArrayAttr:$padding, DenseI64ArrayAttr:$dilation,
                   DefaultValuedAttr<I64Attr, "1">:$groups,
                   DefaultValuedAttr<BoolAttr, "true">:$bias,
                   OptionalAttr<StrAttr>:$norm, OptionalAttr<F64Attr>:$norm_eps);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  code spatialRankDecl = "static constexpr int64_t kSpatialRank = " # spatialRank # ";";
  let extraClassDeclaration = spatialRankDecl;
}
def Spire_Conv1dOp : Spire_ConvOp<"conv1d", 1> {
  let summary = "1-d convolution over [N, C, L] (torch.nn.Conv1d)";
}
def Spire_Conv2dOp : Spire_ConvOp<"conv2d", 2> {
  let summary = "2-d convolution over [N, C, H, W] (torch.nn.Conv2d), groups incl. depthwise";
}

def Spire_ConvTranspose2dOp : Spire_ParamLayerOp<"conv_transpose2d"> {
  let summary = "2-d transposed convolution over [N, C, H, W] (torch.nn.ConvTranspose2d)";
  let description = [{
    The gradient of a conv2d with the same window: each input position adds
    its weighted window to the output, so H' = (H - 1) stride - 2 padding +
    dilation (kernel - 1) + output_padding + 1. The weight is PyTorch's
    [C, out / groups, kh, kw], so a ConvTranspose2d's state_dict loads as it is.
  }];
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$out,
                   DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$stride,
                   DenseI64ArrayAttr:$padding, DenseI64ArrayAttr:$output_padding,
                   DenseI64ArrayAttr:$dilation,
                   DefaultValuedAttr<I64Attr, "1">:$groups,
                   DefaultValuedAttr<BoolAttr, "true">:$bias);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

class Spire_BatchnormOp<string mnemonic, string summaryText> : Spire_ParamLayerOp<mnemonic> {
  let summary = summaryText;
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}
def Spire_Batchnorm1dOp : Spire_BatchnormOp<"batchnorm1d",
  "inference batch norm over channel dim 1 of [N, C] or [N, C, L] (torch.nn.BatchNorm1d)">;
def Spire_Batchnorm2dOp : Spire_BatchnormOp<"batchnorm2d",
  "inference batch norm over channel dim 1 of [N, C, H, W] (torch.nn.BatchNorm2d)">;

def Spire_LayernormOp : Spire_ParamLayerOp<"layernorm"> {
  let summary = "layer norm over the last dimension (torch.nn.LayerNorm(last_dim))";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name,
                   DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_AttentionOp : Spire_ParamLayerOp<"attention"> {
  let summary = "multi-head self-attention over [N, T, C] (torch.nn.MultiheadAttention, batch_first)";
  let description = [{
    softmax(Q K^T / sqrt(C / heads)) V per head, with Q, K, V the rows of
    `in_proj_weight` applied to the input and `out_proj` applied after, named
    as PyTorch's state_dict names them.
  }];
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$heads);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_ParameterOp : Spire_ParamLayerOp<"parameter"> {
  let summary = "a learned tensor, repeated for every sample of the input's batch";
  let description = [{
    ViT's class token and position embedding, ConvNeXt's layer scale: the
    parameter is named exactly by the layer name (`class_token`,
    `encoder.pos_embedding`), with shape [1, shape...], or without leading
    1s as PyTorch broadcasts it (a layer scale [C, 1, 1] for shape
    [C, 1, 1]). The input supplies only the batch.
  }];
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$shape);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

// Windows as torch.nn.MaxPool2d/AvgPool2d place them: `ceil_mode` adds a
// last, partial window where one would start inside the input or its left
// padding.
class Spire_Pool2dOp<string mnemonic, string summaryText, dag extraArgs>
    : Spire_LayerOp<mnemonic> {
  let summary = summaryText;
  let arguments = !con((ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$kernel,
                        DenseI64ArrayAttr:$stride, DenseI64ArrayAttr:$padding,
                        DefaultValuedAttr<BoolAttr, "false">:$ceil_mode),
                       extraArgs);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}
def Spire_Maxpool2dOp : Spire_Pool2dOp<"maxpool2d",
  "max pooling (torch.nn.MaxPool2d); padding and past-the-end taps never win",
  (ins DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilation)>;
def Spire_Avgpool2dOp : Spire_Pool2dOp<"avgpool2d",
  "average pooling (torch.nn.AvgPool2d): the divisor counts padding unless count_include_pad is false",
  (ins DefaultValuedAttr<BoolAttr, "true">:$count_include_pad)>;

def Spire_GlobalAvgpoolOp : Spire_LayerOp<"global_avgpool"> {
  let summary = "mean over all spatial dims, kept as size 1 (AdaptiveAvgPool2d(1) / AdaptiveAvgPool1d(1))";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_AdaptiveAvgpool2dOp : Spire_LayerOp<"adaptive_avgpool2d"> {
  let summary = "average over adaptive bins to a fixed [oh, ow] (torch.nn.AdaptiveAvgPool2d)";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$size);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Resampling
//===----------------------------------------------------------------------===//

def Spire_UpsampleOp : Spire_LayerOp<"upsample"> {
  let summary = "nearest or bilinear resizing of [N, C, H, W] (torch.nn.functional.interpolate)";
  let description = [{
    To `size` [h, w], or by `scale` (one factor or [h, w]; the output is
    floor(H x scale)), exactly one of them. `mode` is `nearest` (PyTorch's
    legacy nearest: source index floor(i x H / h)) or `bilinear`, whose
    `align_corners` (default false) is PyTorch's: true maps the corner
    pixels' centres onto each other, false their outer edges. The source
    positions are computed in f32 as PyTorch computes them, from 1 / scale
    when a scale is given and from H / h otherwise.
  }];
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name,
                   DefaultValuedAttr<StrAttr, "\"nearest\"">:$mode,
                   OptionalAttr<BoolAttr>:$align_corners,
                   OptionalAttr<DenseF64ArrayAttr>:$scale,
                   OptionalAttr<DenseI64ArrayAttr>:$size);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Spire_ReduceOp<string mnemonic, string summaryText> : Spire_LayerOp<mnemonic> {
  let summary = summaryText;
  let description = [{
    Reduces the listed `dims` (any but the batch; negative ones count from
    the end), which the result drops, or keeps as size 1 with `keepdim`, as
    PyTorch's `x.mean(dims, keepdim)` does.
  }];
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$dims,
                   DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}
def Spire_MeanOp : Spire_ReduceOp<"mean", "mean over `dims` (torch.mean)">;
def Spire_SumOp : Spire_ReduceOp<"sum", "sum over `dims` (torch.sum)">;
def Spire_MaxOp : Spire_ReduceOp<"max", "largest value over `dims` (torch.amax)">;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Spire_UnaryOp<string mnemonic, string summaryText, dag extraArgs = (ins)>
    : Spire_LayerOp<mnemonic> {
  let summary = summaryText;
  let arguments = !con((ins Spire_Tensor:$input, StrAttr:$name), extraArgs);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}
def Spire_ReluOp : Spire_UnaryOp<"relu", "max(x, 0)">;
def Spire_Relu6Op : Spire_UnaryOp<"relu6", "min(max(x, 0), 6)">;
def Spire_HardswishOp : Spire_UnaryOp<"hardswish", "x * relu6(x + 3) / 6">;
def Spire_HardsigmoidOp : Spire_UnaryOp<"hardsigmoid", "relu6(x + 3) / 6">;
def Spire_LeakyReluOp : Spire_UnaryOp<"leaky_relu", "x if x > 0 else slope * x",
  (ins DefaultValuedAttr<F64Attr, "0.01">:$negative_slope)>;
def Spire_AffineOp : Spire_UnaryOp<"affine",
  "x * scale + shift: arithmetic with numbers (x * 0.125, x + 1, 1 - x, x / 2)",
  (ins DefaultValuedAttr<F64Attr, "1.0">:$scale, DefaultValuedAttr<F64Attr, "0.0">:$shift)>;
def Spire_GeluOp : Spire_UnaryOp<"gelu",
  "x * Phi(x): exact (erf), or PyTorch's tanh approximation with `approximate = \"tanh\"`",
  (ins DefaultValuedAttr<StrAttr, "\"none\"">:$approximate)>;
def Spire_SiluOp : Spire_UnaryOp<"silu", "x * sigmoid(x)">;
def Spire_SigmoidOp : Spire_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Spire_TanhOp : Spire_UnaryOp<"tanh", "tanh(x)">;
def Spire_DropoutOp : Spire_UnaryOp<"dropout", "identity at inference",
  (ins DefaultValuedAttr<F64Attr, "0.5">:$p)>;
def Spire_SoftmaxOp : Spire_UnaryOp<"softmax", "softmax along `dim`",
  (ins DefaultValuedAttr<I64Attr, "-1">:$dim)>;
def Spire_NormalizeOp : Spire_UnaryOp<"normalize",
  "x / max(||x||_2, eps) along `dim` (PyTorch's F.normalize)",
  (ins DefaultValuedAttr<I64Attr, "-1">:$dim, DefaultValuedAttr<F64Attr, "1e-12">:$eps)>;

class Spire_BinaryOp<string mnemonic, string summaryText> : Spire_LayerOp<mnemonic> {
  let summary = summaryText;
  let description = [{
    Combines two tensors of the same rank elementwise, broadcasting as
    NumPy does: each dim after the batch is equal in both or 1 in one of
    them, which then repeats along it (a squeeze-and-excitation scale
    [N, C, 1, 1] times [N, C, H, W]). The residual edge of a spec lowers to
    an add with the skip tensor as `rhs`.
  }];
  let arguments = (ins Spire_Tensor:$lhs, Spire_Tensor:$rhs, StrAttr:$name);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
}
def Spire_AddOp : Spire_BinaryOp<"add", "lhs + rhs">;
def Spire_SubOp : Spire_BinaryOp<"sub", "lhs - rhs">;
def Spire_MulOp : Spire_BinaryOp<"mul", "lhs * rhs">;
def Spire_DivOp : Spire_BinaryOp<"div", "lhs / rhs">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Spire_ConcatOp : Spire_LayerOp<"concat"> {
  let summary = "concatenation along `dim` (torch.cat)";
  let arguments = (ins Variadic<Spire_Tensor>:$inputs, StrAttr:$name,
                   DefaultValuedAttr<I64Attr, "1">:$dim);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
}

def Spire_FlattenOp : Spire_LayerOp<"flatten"> {
  let summary = "merges dims [start_dim, end_dim] (torch.flatten)";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name,
                   DefaultValuedAttr<I64Attr, "1">:$start_dim,
                   DefaultValuedAttr<I64Attr, "-1">:$end_dim);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_ReshapeOp : Spire_LayerOp<"reshape"> {
  let summary = "reshape keeping the batch dim: `shape` lists dims 1..; one may be -1";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$shape);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_PermuteOp : Spire_LayerOp<"permute"> {
  let summary = "reorders dims (torch.permute); the batch dim 0 stays first";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, DenseI64ArrayAttr:$dims);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_TransposeOp : Spire_LayerOp<"transpose"> {
  let summary = "swaps two dims (torch.transpose); neither may be the batch dim 0";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$dim0, I64Attr:$dim1);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_SelectOp : Spire_LayerOp<"select"> {
  let summary = "takes index `index` of dim `dim`, removing the dim (x[:, index] for dim 1)";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$dim, I64Attr:$index);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_SliceOp : Spire_LayerOp<"slice"> {
  let summary = "keeps indices [start, end) of dim `dim` (x[:, start:end] for dim 1; "
                "torch.narrow, and the parts of chunk and split)";
  let arguments = (ins Spire_Tensor:$input, StrAttr:$name, I64Attr:$dim, I64Attr:$start,
                   I64Attr:$end);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Spire_MatmulOp : Spire_LayerOp<"matmul"> {
  let summary = "batched matrix product [..., M, K] x [..., K, P] (torch.matmul)";
  let arguments = (ins Spire_Tensor:$lhs, Spire_Tensor:$rhs, StrAttr:$name);
  let results = (outs Spire_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Stages
//===----------------------------------------------------------------------===//

def Spire_SplitOp : Op<Spire_Dialect, "split"> {
  let summary = "a split point: ops before it form one stage, ops after it the next";
  let description = [{
    The stage interface at a split is not stored: it is the live set (every
    value defined before the split and used after it, model outputs
    included), computed by the stage analysis.
  }];
  let arguments = (ins StrAttr:$name);
  let assemblyFormat = "$name attr-dict";
}

//===----------------------------------------------------------------------===//
// Kernels (code generation)
//===----------------------------------------------------------------------===//

def Spire_KernelOp : Op<Spire_Dialect, "kernel",
    [IsolatedFromAbove, SingleBlock, RecursiveMemoryEffects]> {
  let summary = "one kernel: an anchor layer and the layers it absorbs";
  let description = [{
    Formed by form-kernels, the equivalent of IREE's dispatch regions. The
    body's first op is the anchor (a conv, a linear, a pool, ...); the ops
    after it are what its kernel computes without storing in between: the
    1x1 conv of a separable pair, a projection shortcut, a residual add, an activation.
    With `input_gate`, a `spire.mul` comes before the anchor, a conv: a
    squeeze-and-excitation's excite (the conv's input times a per-channel
    [N, C, 1, 1] gate), applied as the conv reads its input, so the product
    is never stored.
    Operands are what the kernel reads, in binding order: the anchor's
    operands (a gated conv's: the mul's full-size operand), then a
    shortcut's input, then the gate, then the residuals; the body sees them
    as its block arguments and yields the one tensor the kernel stores.
    `name` is the layer name of the yielded tensor. Later passes attach
    `config` and, over ranged sizes, `size_classes` (select-kernel-config),
    `arena` (plan-memory) and `dispatches` (emit-kernels).

    ```mlir
    %2 = spire.kernel "relu1" (%0) {
    ^bb0(%x: tensor<1x3x8x8xf32>):
      %c = spire.conv2d %x {name = "conv1", ...} : ... -> tensor<1x4x8x8xf32>
      %r = spire.relu %c {name = "relu1"} : ...
      spire.yield %r : tensor<1x4x8x8xf32>
    } : (tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Spire_Tensor>:$inputs, StrAttr:$name,
                   OptionalAttr<Spire_KernelConfigAttr>:$config,
                   OptionalAttr<Spire_ArenaAttr>:$arena,
                   OptionalAttr<TypedArrayAttrBase<Spire_DispatchAttr, "dispatches">>:$dispatches,
                   UnitAttr:$input_gate,
                   OptionalAttr<TypedArrayAttrBase<Spire_SizeClassAttr, "size classes">>:$size_classes);
  let results = (outs Spire_Tensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name `(` $inputs `)` attr-dict-with-keyword $body `:` functional-type($inputs, $result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    // The input gate's mul, or null.
    ::mlir::Operation *getGate() {
      return getInputGate() ? &getBody().front().front() : nullptr;
    }
    // The first op of the body after the gate.
    ::mlir::Operation *getAnchor() {
      ::mlir::Operation *first = &getBody().front().front();
      return getInputGate() ? first->getNextNode() : first;
    }
    // The layer ops of the body, in order (the yield excluded).
    auto getLayers() { return getBody().front().without_terminator(); }
  }];
}

def Spire_YieldOp : Op<Spire_Dialect, "yield",
    [Pure, Terminator, HasParent<"KernelOp">, ReturnLike]> {
  let summary = "the tensor a kernel stores";
  let arguments = (ins Spire_Tensor:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // SPIRE_OPS_TD
