// The kernel emitters, one file per op family (Emit*.cpp); emitKernel
// (KernelEmitters.cpp) picks one by the kernel's anchor. Each writes the
// body of a kernel for its KernelSpec and returns the grid for one sample.
#pragma once

#include "ConvGeometry.h"

#include <array>

namespace spire {

// Direct convolution, register-tiled: each thread computes the kernel
// config's `channel_tile` output channels at up to its `positions`
// consecutive positions of one output row. Per kernel row and input channel it loads the input row segment those
// positions read once (each column once, however many taps read it: 10 loads
// instead of 24 for a 3x3 at 8 positions), then runs every tap of the row
// from registers (SegmentReads: as vec4s where rows allow). Weights are
// loaded cooperatively (loadSharedBlock): a thread's channel block is the
// same across its workgroup.
std::array<uint32_t, 3> emitConv(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &shape);

// How a per-channel window combines its inputs.
enum class WindowReduce {
  MultiplyAdd, // a depthwise conv: sum of input x weight, plus the bias
  Max,         // max pooling; padding counts as -inf
  Mean,        // average pooling; padding counts as 0, and in the divisor
               // unless the Avgpool2dOp anchor says count_include_pad: false
};

// Per-channel windows (depthwise convs, pools): a thread takes one channel
// and a tile of R output rows x TP positions, unrolled (no loop-carried
// values). Each input row the tile reads is loaded once, as a RowSegment,
// and feeds every output row whose window covers it: a 3x3 at 4 rows loads
// 6 segments where 4 single-row tiles load 12. Work items run over
// (channel, tile) pairs, not forEachTile's channel groups: with no weights
// to share, a 7x7 channel's few tiles would leave most lanes of a subgroup
// idle.
std::array<uint32_t, 3> emitWindow(KernelBuilder &kb, const KernelSpec &spec, const ConvShape &s,
                                   WindowReduce reduce);

std::array<uint32_t, 3> emitGlobalAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                          GlobalAvgpoolOp op);

// PyTorch's adaptive bins: [floor(i*H/OH), ceil((i+1)*H/OH)). Bins differ in
// size, so the loops run over the largest bin with a mask.
std::array<uint32_t, 3> emitAdaptiveAvgpool(KernelBuilder &kb, const KernelSpec &spec,
                                            AdaptiveAvgpool2dOp op);

// Outputs of a pointwise conv that emitSeparable keeps per thread: all of
// them, so each depthwise value is computed once.
inline constexpr int64_t kSeparableOutputs = 32;

// A depthwise conv and the 1x1 conv after it (a depthwise-separable pair) as
// one kernel: the depthwise output, a channel at a time in registers, is the
// pointwise conv's reduction input, and is never stored nor loaded again.
// A stored float costs about 32 multiply-adds on lavapipe, and MobileNetV2's
// early depthwise kernels spend about half their time storing
// (docs/PERFORMANCE.md). A thread takes TP positions of one output row and
// all O <= kSeparableOutputs output channels, so no depthwise value is
// computed twice; a channel's weights (and depthwise bias) are the same for
// every thread, fetched as vec4s shared by the subgroup (loadSharedBlock).
std::array<uint32_t, 3> emitSeparable(KernelBuilder &kb, const KernelSpec &spec,
                                      const ConvShape &s, int64_t O);

// nearest or bilinear, a thread an output: its source pixels' positions
// computed in f32 as PyTorch computes them (see UpsampleOp).
std::array<uint32_t, 3> emitUpsample(KernelBuilder &kb, const KernelSpec &spec, UpsampleOp op);

// Transposed convolution by gathering: a thread an output, summing over its
// group's input channels and the taps that can land on it (a tap whose
// position falls between input positions, or outside, adds nothing).
// Without dilation those are the output's phase's ceil(K / S) taps a dim;
// with dilation every tap. Simple rather than fast: no register tile, so
// each input value is loaded once per output channel.
std::array<uint32_t, 3> emitConvTranspose(KernelBuilder &kb, const KernelSpec &spec,
                                          ConvTranspose2dOp op);

std::array<uint32_t, 3> emitLinear(KernelBuilder &kb, const KernelSpec &spec, LinearOp op);

// Self-attention runs as five kernels (spec.part), each a simple loop nest
// over the packed [T, 3C] projections (q | k | v, heads side by side):
//   0  qkv = x W_in^T + b_in                       [T, 3C]
//   1  scores[h, i, j] = q_i . k_j / sqrt(D)        [H, T, T], 8 x 8 a thread
//   2  softmax over j, in place                     one row a thread
//   3  heads[i, h*D + d] = sum_j p[h, i, j] v_j      8 x 8 a thread, stored
//      over q (read only by part 1), so no separate [T, C] buffer is live
//   4  out = heads W_out^T + b_out, then the epilogue
std::array<uint32_t, 3> emitAttention(KernelBuilder &kb, const KernelSpec &spec, AttentionOp op);

std::array<uint32_t, 3> emitMatmul(KernelBuilder &kb, const KernelSpec &spec, MatmulOp op);

// mean, sum and max over any dims: a thread an output element, a loop per
// run of adjacent reduced dims (mean over [2, 3]: one loop over H x W).
std::array<uint32_t, 3> emitReduce(KernelBuilder &kb, const KernelSpec &spec, Operation *op);

// y = x * scale[c] + shift[c], the inference form of batch norm.
std::array<uint32_t, 3> emitBatchnorm(KernelBuilder &kb, const KernelSpec &spec, Operation *op);

// Normalizes each row of the last dim: two passes for mean and variance
// (numerically safer than one pass of sums of squares), then the output.
std::array<uint32_t, 3> emitLayernorm(KernelBuilder &kb, const KernelSpec &spec, LayernormOp op);

std::array<uint32_t, 3> emitSoftmax(KernelBuilder &kb, const KernelSpec &spec, SoftmaxOp op);

// x / max(||x||_2, eps) along a dim: a pass for the norm, one for the output.
std::array<uint32_t, 3> emitNormalize(KernelBuilder &kb, const KernelSpec &spec, NormalizeOp op);

std::array<uint32_t, 3> emitElementwise(KernelBuilder &kb, const KernelSpec &spec,
                                        Operation *op);

// Repeats a learned tensor for every sample.
std::array<uint32_t, 3> emitParameter(KernelBuilder &kb, const KernelSpec &spec, ParameterOp op);

std::array<uint32_t, 3> emitSelect(KernelBuilder &kb, const KernelSpec &spec, SelectOp op);
std::array<uint32_t, 3> emitSlice(KernelBuilder &kb, const KernelSpec &spec, SliceOp op);

// Copies input `part` of a concat into its slice of the output.
std::array<uint32_t, 3> emitConcatPart(KernelBuilder &kb, const KernelSpec &spec, ConcatOp op);

// out[coords] = in[coords permuted]: permute and transpose.
std::array<uint32_t, 3> emitPermutation(KernelBuilder &kb, const KernelSpec &spec, Value input,
                                        Value result, ArrayRef<int64_t> perm);

std::array<uint32_t, 3> emitTranspose(KernelBuilder &kb, const KernelSpec &spec, TransposeOp op);

} // namespace spire
