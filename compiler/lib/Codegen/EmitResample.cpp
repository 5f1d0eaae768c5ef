// Resampling: upsample (nearest, bilinear) and transposed convolution.
#include "Emitters.h"

using namespace mlir;

namespace spire {

namespace {

// Where output index `o` of one spatial dim reads in UpsampleOp's input,
// computed in f32 exactly as PyTorch's CPU kernels do (ATen's UpSample.h),
// so that nearest picks the same pixel where a product lands on an integer.
struct UpsampleAxis {
  int64_t in, out;
  bool bilinear, alignCorners;
  float ratio; // source positions per output position

  UpsampleAxis(UpsampleOp op, size_t dim)
      : in(shapeOf(op.getInput())[2 + dim]), out(shapeOf(op.getResult())[2 + dim]),
        bilinear(op.getMode() == "bilinear"), alignCorners(op.getAlignCorners().value_or(false)) {
    // area_pixel_compute_scale: with align_corners the corner centres map
    // onto each other; otherwise compute_scales_value, the given scale's
    // inverse, else in / out.
    std::optional<ArrayRef<double>> scale = op.getScale();
    if (bilinear && alignCorners)
      ratio = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
    else if (scale)
      ratio = static_cast<float>(1.0 / (*scale)[dim]);
    else
      ratio = static_cast<float>(in) / static_cast<float>(out);
  }

  // nearest_idx: floor(o x ratio), with PyTorch's exact cases for 1x and 2x.
  Value nearest(KernelBuilder &kb, Value o) const {
    if (out == in)
      return o;
    if (out == 2 * in)
      return kb.div(o, 2);
    return kb.clamp(kb.toIndex(kb.fmul(kb.toF32(o), kb.f32(ratio))), 0, in - 1);
  }

  // compute_source_index_and_lambda: the two inputs and their weights.
  struct Taps {
    Value first, second, firstWeight, secondWeight;
  };
  Taps linear(KernelBuilder &kb, Value o) const {
    if (out == in)
      return {o, o, kb.f32(1), kb.f32(0)};
    Value at = kb.toF32(o);
    Value source = alignCorners
                       ? kb.fmul(kb.f32(ratio), at)
                       : kb.fmax(kb.fsub(kb.fmul(kb.f32(ratio), kb.fadd(at, kb.f32(0.5))),
                                         kb.f32(0.5)),
                                 kb.f32(0));
    Value first = kb.clamp(kb.toIndex(source), 0, in - 1);
    Value second = kb.clamp(kb.add(first, 1), 0, in - 1);
    Value weight = kb.fmin(kb.fmax(kb.fsub(source, kb.toF32(first)), kb.f32(0)), kb.f32(1));
    return {first, second, kb.fsub(kb.f32(1), weight), weight};
  }
};

} // namespace

std::array<uint32_t, 3> emitUpsample(KernelBuilder &kb, const KernelSpec &spec, UpsampleOp op) {
  ArrayRef<int64_t> in = shapeOf(op.getInput()), out = shapeOf(op.getResult());
  int64_t C = in[1], H = in[2], W = in[3], OH = out[2], OW = out[3];
  UpsampleAxis rows(op, 0), cols(op, 1);
  return kb.forEachItem(C * OH * OW, [&](Value item) {
    Value c = kb.div(item, OH * OW), pix = kb.rem(item, OH * OW);
    Value oh = kb.div(pix, OW), ow = kb.rem(pix, OW);
    Value plane = kb.add(kb.sampleBase(C * H * W), kb.mul(c, H * W));
    auto at = [&](Value ih, Value iw) {
      return kb.load(spec.input(0), kb.add(plane, kb.add(kb.mul(ih, W), iw)));
    };
    Value v;
    if (!rows.bilinear) {
      v = at(rows.nearest(kb, oh), cols.nearest(kb, ow));
    } else {
      // PyTorch's order: along the row first, then between the rows.
      UpsampleAxis::Taps h = rows.linear(kb, oh), w = cols.linear(kb, ow);
      auto row = [&](Value ih) {
        return kb.fadd(kb.fmul(w.firstWeight, at(ih, w.first)),
                       kb.fmul(w.secondWeight, at(ih, w.second)));
      };
      v = kb.fadd(kb.fmul(h.firstWeight, row(h.first)), kb.fmul(h.secondWeight, row(h.second)));
    }
    finish(kb, spec, kb.sampleBase(C * OH * OW), item, v);
  });
}

namespace {

// The taps that reach output position `o` along one dim of a transposed
// convolution: tap k reads input i where i x S - P + k x D = o. Without
// dilation only the taps k = (o + P) mod S + j x S can (the output's phase),
// ceil(K / S) of them, so a 2x2 stride-2 kernel evaluates 1 tap, not 4;
// with dilation every tap is tried.
struct TransposedTaps {
  int64_t S, P, D, K, in;
  // S x bias keeps o + P - k x D non-negative for the unsigned divisions.
  int64_t bias;

  TransposedTaps(int64_t S, int64_t P, int64_t D, int64_t K, int64_t in)
      : S(S), P(P), D(D), K(K), in(in), bias((D * (K - 1) + S - 1) / S) {}

  int64_t count() const { return D == 1 ? (K + S - 1) / S : K; }

  struct Tap {
    Value input, valid, k; // the input index (clamped), whether it exists, the tap
  };
  // The j-th tap that may reach o.
  Tap tap(KernelBuilder &kb, Value o, int64_t j) const {
    Value i, k, onGrid;
    if (D == 1) {
      Value t = kb.add(o, P); // >= 0
      k = kb.add(kb.rem(t, S), j * S);
      i = kb.sub(kb.div(t, S), kb.idx(j));
      onGrid = kb.lt(k, kb.idx(K));
    } else {
      Value t = kb.add(o, P - j * D + S * bias);
      k = kb.idx(j);
      i = kb.sub(kb.div(t, S), kb.idx(bias));
      onGrid = kb.lt(kb.rem(t, S), kb.idx(1));
    }
    Value inside = kb.both(kb.ge(i, 0), kb.lt(i, kb.idx(in)));
    return {kb.clamp(i, 0, in - 1), kb.both(onGrid, inside), kb.clamp(k, 0, K - 1)};
  }
};

} // namespace

std::array<uint32_t, 3> emitConvTranspose(KernelBuilder &kb, const KernelSpec &spec,
                                          ConvTranspose2dOp op) {
  ArrayRef<int64_t> in = shapeOf(op.getInput()), out = shapeOf(op.getResult());
  int64_t C = in[1], H = in[2], W = in[3], O = out[1], OH = out[2], OW = out[3];
  int64_t G = op.getGroups(), Cg = C / G, Og = O / G;
  ArrayRef<int64_t> kernel = op.getKernel(), stride = op.getStride(), padding = op.getPadding(),
                    dilation = op.getDilation();
  int64_t KH = kernel[0], KW = kernel[1], taps = KH * KW;
  TransposedTaps rows(stride[0], padding[0], dilation[0], KH, H),
      cols(stride[1], padding[1], dilation[1], KW, W);
  return kb.forEachItem(O * OH * OW, [&](Value item) {
    Value o = kb.div(item, OH * OW), pix = kb.rem(item, OH * OW);
    Value oh = kb.div(pix, OW), ow = kb.rem(pix, OW);
    Value group = kb.div(o, Og);
    // Each tap's input offset within a plane, whether it exists and its
    // weight's offset: the same for every input channel.
    Values offset, valid, weight;
    for (int64_t j = 0; j < rows.count(); ++j) {
      TransposedTaps::Tap r = rows.tap(kb, oh, j);
      for (int64_t k = 0; k < cols.count(); ++k) {
        TransposedTaps::Tap c = cols.tap(kb, ow, k);
        offset.push_back(kb.add(kb.mul(r.input, W), c.input));
        valid.push_back(kb.both(r.valid, c.valid));
        weight.push_back(kb.add(kb.mul(r.k, KW), c.k));
      }
    }
    Value firstChannel = kb.mul(group, Cg);
    Value inBase = kb.add(kb.sampleBase(C * H * W), kb.mul(firstChannel, H * W));
    // Weights [C, O / G, KH, KW]: channel c's taps for output o.
    Value wBase = kb.mul(kb.add(kb.mul(firstChannel, Og), kb.rem(o, Og)), taps);
    Value sum = kb.loop(0, Cg, {kb.f32(0)}, [&](Value c, ValueRange acc) {
      Value plane = kb.add(inBase, kb.mul(c, H * W));
      Value w0 = kb.add(wBase, kb.mul(c, Og * taps));
      Value a = acc[0];
      for (size_t t = 0; t < offset.size(); ++t) {
        Value x = kb.select(valid[t], kb.load(spec.input(0), kb.add(plane, offset[t])), kb.f32(0));
        a = kb.fadd(a, kb.fmul(x, kb.load(spec.param(0), kb.add(w0, weight[t]))));
      }
      return Values{a};
    })[0];
    if (op.getBias())
      sum = kb.fadd(sum, kb.load(spec.param(1), o));
    finish(kb, spec, kb.sampleBase(O * OH * OW), item, sum);
  });
}

} // namespace spire
