#include "Layers.h"

#include "spire/Dialect/SpireOps.h"

using namespace mlir;

namespace spire {
namespace {

Type placeholder(LayerArgs &a) {
  return UnrankedTensorType::get(a.builder.getF32Type());
}

// The keys of a convolution over `n` spatial dims, plain or transposed.
struct ConvKeys {
  IntegerAttr out, groups;
  DenseI64ArrayAttr kernel, stride, padding, dilation;
  BoolAttr bias;

  ConvKeys(LayerArgs &a, size_t n) {
    Params &p = a.params;
    OpBuilder &b = a.builder;
    out = b.getI64IntegerAttr(p.requireInt("out"));
    kernel = b.getDenseI64ArrayAttr(p.getInts("kernel", n, 1));
    if (!p.has("kernel"))
      p.error(nullptr, "missing required key 'kernel'");
    stride = b.getDenseI64ArrayAttr(p.getInts("stride", n, 1));
    padding = b.getDenseI64ArrayAttr(p.getInts("padding", n, 0));
    dilation = b.getDenseI64ArrayAttr(p.getInts("dilation", n, 1));
    groups = b.getI64IntegerAttr(p.getInt("groups", 1));
    bias = b.getBoolAttr(p.getBool("bias", true));
  }
};

template <typename OpT>
Operation *buildConv(LayerArgs &a) {
  ConvKeys k(a, OpT::kSpatialRank);
  if (a.params.failed())
    return nullptr;
  return OpT::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name, k.out, k.kernel,
                     k.stride, k.padding, k.dilation, k.groups, k.bias, /*norm=*/nullptr,
                     /*norm_eps=*/nullptr);
}

Operation *buildConvTranspose(LayerArgs &a) {
  ConvKeys k(a, 2);
  auto outputPadding = a.params.getInts("output_padding", 2, 0);
  if (a.params.failed())
    return nullptr;
  return ConvTranspose2dOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name, k.out,
                                   k.kernel, k.stride, k.padding,
                                   a.builder.getDenseI64ArrayAttr(outputPadding), k.dilation,
                                   k.groups, k.bias);
}

Operation *buildUpsample(LayerArgs &a) {
  Params &p = a.params;
  OpBuilder &b = a.builder;
  std::string mode = p.getChoice("mode", {"nearest", "bilinear"});
  // Kept only when given: nearest with align_corners is an error, as in PyTorch.
  BoolAttr alignCorners =
      p.has("align_corners") ? b.getBoolAttr(p.getBool("align_corners", false)) : BoolAttr();
  DenseF64ArrayAttr scale =
      p.has("scale") ? b.getDenseF64ArrayAttr(p.getFloats("scale", 2, 1)) : DenseF64ArrayAttr();
  DenseI64ArrayAttr size =
      p.has("size") ? b.getDenseI64ArrayAttr(p.getInts("size", 2, 1)) : DenseI64ArrayAttr();
  if (p.failed())
    return nullptr;
  return UpsampleOp::create(b, a.loc, placeholder(a), a.inputs[0], a.name, b.getStringAttr(mode),
                            alignCorners, scale, size);
}

// The window keys both pools take.
struct PoolWindow {
  DenseI64ArrayAttr kernel, stride, padding;
  BoolAttr ceilMode;
};

PoolWindow poolWindow(LayerArgs &a) {
  Params &p = a.params;
  OpBuilder &b = a.builder;
  if (!p.has("kernel"))
    p.error(nullptr, "missing required key 'kernel'");
  auto kernel = p.getInts("kernel", 2, 1);
  // PyTorch's default stride is the kernel size.
  auto stride = p.has("stride") ? p.getInts("stride", 2, 1) : kernel;
  auto padding = p.getInts("padding", 2, 0);
  return {b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(stride),
          b.getDenseI64ArrayAttr(padding), b.getBoolAttr(p.getBool("ceil_mode", false))};
}

Operation *buildMaxpool(LayerArgs &a) {
  PoolWindow w = poolWindow(a);
  auto dilation = a.params.getInts("dilation", 2, 1);
  if (a.params.failed())
    return nullptr;
  return Maxpool2dOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name, w.kernel,
                             w.stride, w.padding, w.ceilMode,
                             a.builder.getDenseI64ArrayAttr(dilation));
}

Operation *buildAvgpool(LayerArgs &a) {
  PoolWindow w = poolWindow(a);
  bool countPadding = a.params.getBool("count_include_pad", true);
  if (a.params.failed())
    return nullptr;
  return Avgpool2dOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name, w.kernel,
                             w.stride, w.padding, w.ceilMode,
                             a.builder.getBoolAttr(countPadding));
}

template <typename OpT>
Operation *buildNorm(LayerArgs &a) {
  double eps = a.params.getFloat("eps", 1e-5);
  if (a.params.failed())
    return nullptr;
  return OpT::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                     a.builder.getF64FloatAttr(eps));
}

template <typename OpT>
Operation *buildUnary(LayerArgs &a) {
  return OpT::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name);
}

template <typename OpT>
Operation *buildBinary(LayerArgs &a) {
  return OpT::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.inputs[1], a.name);
}

Operation *buildLinear(LayerArgs &a) {
  Params &p = a.params;
  OpBuilder &b = a.builder;
  int64_t out = p.requireInt("out");
  std::optional<int64_t> in = p.getInt("in");
  bool bias = p.getBool("bias", true);
  if (p.failed())
    return nullptr;
  return LinearOp::create(b, a.loc, placeholder(a), a.inputs[0], a.name,
                          b.getI64IntegerAttr(out),
                          in ? b.getI64IntegerAttr(*in) : IntegerAttr(), b.getBoolAttr(bias),
                          /*norm=*/nullptr, /*norm_eps=*/nullptr);
}

Operation *buildLeakyRelu(LayerArgs &a) {
  double slope = a.params.getFloat("negative_slope", 0.01);
  if (a.params.failed())
    return nullptr;
  return LeakyReluOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                             a.builder.getF64FloatAttr(slope));
}

Operation *buildAffine(LayerArgs &a) {
  double scale = a.params.getFloat("scale", 1.0), shift = a.params.getFloat("shift", 0.0);
  if (a.params.failed())
    return nullptr;
  return AffineOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                          a.builder.getF64FloatAttr(scale), a.builder.getF64FloatAttr(shift));
}

Operation *buildGelu(LayerArgs &a) {
  std::string approximate = a.params.getChoice("approximate", {"none", "tanh"});
  if (a.params.failed())
    return nullptr;
  return GeluOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                        a.builder.getStringAttr(approximate));
}

Operation *buildDropout(LayerArgs &a) {
  double prob = a.params.getFloat("p", 0.5);
  if (a.params.failed())
    return nullptr;
  return DropoutOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                           a.builder.getF64FloatAttr(prob));
}

Operation *buildSoftmax(LayerArgs &a) {
  int64_t dim = a.params.getInt("dim", -1);
  if (a.params.failed())
    return nullptr;
  return SoftmaxOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                           a.builder.getI64IntegerAttr(dim));
}

Operation *buildNormalize(LayerArgs &a) {
  int64_t dim = a.params.getInt("dim", -1);
  double eps = a.params.getFloat("eps", 1e-12);
  if (a.params.failed())
    return nullptr;
  return NormalizeOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                             a.builder.getI64IntegerAttr(dim), a.builder.getF64FloatAttr(eps));
}

Operation *buildFlatten(LayerArgs &a) {
  int64_t start = a.params.getInt("start_dim", 1), end = a.params.getInt("end_dim", -1);
  if (a.params.failed())
    return nullptr;
  return FlattenOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                           a.builder.getI64IntegerAttr(start), a.builder.getI64IntegerAttr(end));
}

Operation *buildReshape(LayerArgs &a) {
  auto shape = a.params.getIntList("shape");
  if (!shape && !a.params.failed())
    a.params.error(nullptr, "missing required key 'shape' (the dims after the batch)");
  if (a.params.failed())
    return nullptr;
  return ReshapeOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                           a.builder.getDenseI64ArrayAttr(*shape));
}

Operation *buildPermute(LayerArgs &a) {
  auto dims = a.params.getIntList("dims");
  if (!dims && !a.params.failed())
    a.params.error(nullptr, "missing required key 'dims'");
  if (a.params.failed())
    return nullptr;
  return PermuteOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                           a.builder.getDenseI64ArrayAttr(*dims));
}

template <typename OpT>
Operation *buildReduce(LayerArgs &a) {
  auto dims = a.params.getIntList("dims");
  if (!dims && !a.params.failed())
    a.params.error(nullptr, "missing required key 'dims' (the dims to reduce, e.g. [2, 3])");
  bool keepdim = a.params.getBool("keepdim", false);
  if (a.params.failed())
    return nullptr;
  return OpT::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                     a.builder.getDenseI64ArrayAttr(*dims), a.builder.getBoolAttr(keepdim));
}

Operation *buildAttention(LayerArgs &a) {
  int64_t heads = a.params.requireInt("heads");
  if (a.params.failed())
    return nullptr;
  return AttentionOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                             a.builder.getI64IntegerAttr(heads));
}

Operation *buildAdaptiveAvgpool(LayerArgs &a) {
  if (!a.params.has("size"))
    a.params.error(nullptr, "missing required key 'size' (the output [h, w])");
  auto size = a.params.getInts("size", 2, 1);
  if (a.params.failed())
    return nullptr;
  return AdaptiveAvgpool2dOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                                     a.builder.getDenseI64ArrayAttr(size));
}

Operation *buildTranspose(LayerArgs &a) {
  int64_t d0 = a.params.requireInt("dim0"), d1 = a.params.requireInt("dim1");
  if (a.params.failed())
    return nullptr;
  return TransposeOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                             a.builder.getI64IntegerAttr(d0), a.builder.getI64IntegerAttr(d1));
}

Operation *buildParameter(LayerArgs &a) {
  auto shape = a.params.getIntList("shape");
  if (!shape && !a.params.failed())
    a.params.error(nullptr, "missing required key 'shape' (the dims after the batch)");
  if (a.params.failed())
    return nullptr;
  return ParameterOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                             a.builder.getDenseI64ArrayAttr(*shape));
}

Operation *buildSelect(LayerArgs &a) {
  int64_t dim = a.params.requireInt("dim"), index = a.params.requireInt("index");
  if (a.params.failed())
    return nullptr;
  return SelectOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                          a.builder.getI64IntegerAttr(dim), a.builder.getI64IntegerAttr(index));
}

Operation *buildSlice(LayerArgs &a) {
  int64_t dim = a.params.requireInt("dim"), start = a.params.getInt("start", 0),
          end = a.params.requireInt("end");
  if (a.params.failed())
    return nullptr;
  return SliceOp::create(a.builder, a.loc, placeholder(a), a.inputs[0], a.name,
                         a.builder.getI64IntegerAttr(dim), a.builder.getI64IntegerAttr(start),
                         a.builder.getI64IntegerAttr(end));
}

Operation *buildConcat(LayerArgs &a) {
  int64_t dim = a.params.getInt("dim", 1);
  if (a.params.failed())
    return nullptr;
  return ConcatOp::create(a.builder, a.loc, placeholder(a), a.inputs, a.name,
                          a.builder.getI64IntegerAttr(dim));
}

using In = LayerKind::Inputs;

const LayerKind kLayerKinds[] = {
    {"linear", In::One, {"out", "in", "bias"}, buildLinear},
    {"conv1d", In::One, {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"},
     buildConv<Conv1dOp>},
    {"conv2d", In::One, {"out", "kernel", "stride", "padding", "dilation", "groups", "bias"},
     buildConv<Conv2dOp>},
    {"conv_transpose2d",
     In::One,
     {"out", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "bias"},
     buildConvTranspose},
    {"batchnorm1d", In::One, {"eps"}, buildNorm<Batchnorm1dOp>},
    {"batchnorm2d", In::One, {"eps"}, buildNorm<Batchnorm2dOp>},
    {"layernorm", In::One, {"eps"}, buildNorm<LayernormOp>},
    {"attention", In::One, {"heads"}, buildAttention},
    {"parameter", In::One, {"shape"}, buildParameter},
    {"maxpool2d", In::One, {"kernel", "stride", "padding", "dilation", "ceil_mode"}, buildMaxpool},
    {"avgpool2d", In::One, {"kernel", "stride", "padding", "ceil_mode", "count_include_pad"},
     buildAvgpool},
    {"global_avgpool", In::One, {}, buildUnary<GlobalAvgpoolOp>},
    {"adaptive_avgpool2d", In::One, {"size"}, buildAdaptiveAvgpool},
    {"upsample", In::One, {"mode", "align_corners", "scale", "size"}, buildUpsample},
    {"mean", In::One, {"dims", "keepdim"}, buildReduce<MeanOp>},
    {"sum", In::One, {"dims", "keepdim"}, buildReduce<SumOp>},
    {"max", In::One, {"dims", "keepdim"}, buildReduce<MaxOp>},
    {"relu", In::One, {}, buildUnary<ReluOp>},
    {"relu6", In::One, {}, buildUnary<Relu6Op>},
    {"hardswish", In::One, {}, buildUnary<HardswishOp>},
    {"hardsigmoid", In::One, {}, buildUnary<HardsigmoidOp>},
    {"leaky_relu", In::One, {"negative_slope"}, buildLeakyRelu},
    {"affine", In::One, {"scale", "shift"}, buildAffine},
    {"gelu", In::One, {"approximate"}, buildGelu},
    {"silu", In::One, {}, buildUnary<SiluOp>},
    {"sigmoid", In::One, {}, buildUnary<SigmoidOp>},
    {"tanh", In::One, {}, buildUnary<TanhOp>},
    {"dropout", In::One, {"p"}, buildDropout},
    {"softmax", In::One, {"dim"}, buildSoftmax},
    {"normalize", In::One, {"dim", "eps"}, buildNormalize},
    {"flatten", In::One, {"start_dim", "end_dim"}, buildFlatten},
    {"reshape", In::One, {"shape"}, buildReshape},
    {"permute", In::One, {"dims"}, buildPermute},
    {"transpose", In::One, {"dim0", "dim1"}, buildTranspose},
    {"select", In::One, {"dim", "index"}, buildSelect},
    {"slice", In::One, {"dim", "start", "end"}, buildSlice},
    {"add", In::Join, {}, buildBinary<AddOp>},
    {"sub", In::Join, {}, buildBinary<SubOp>},
    {"mul", In::Join, {}, buildBinary<MulOp>},
    {"div", In::Join, {}, buildBinary<DivOp>},
    {"matmul", In::Join, {}, buildBinary<MatmulOp>},
    {"concat", In::Join, {"dim"}, buildConcat, -1},
};

} // namespace

const LayerKind *lookupLayerKind(llvm::StringRef name) {
  for (const LayerKind &kind : kLayerKinds)
    if (kind.name == name)
      return &kind;
  return nullptr;
}

llvm::ArrayRef<LayerKind> layerKinds() { return kLayerKinds; }

} // namespace spire
