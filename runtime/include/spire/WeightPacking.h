// How a kernel's parameter buffers are made from a model's named parameter
// tensors (the layouts KernelEmitters.h lists): batch norm folded into a
// conv or linear layer's weights, conv weights packed by the kernel config's
// channel tile, linear weights transposed in row chunks. The compiler packs
// the weight blob with it; the runtime packs a seeded bundle's blob with it
// at load (`spire compile --weights seeded`), from the same seeded tensors,
// so both blobs are the same bytes. Header-only, shared by compiler and
// runtime; a recipe read from a bundle is checked here before it is used.
#pragma once

#include "spire/HugePages.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace spire::weights {

using Buffer = std::vector<float>;

// A conv or linear layer's [out, ...] weights and bias (absent: zeros), with
// the batch norm after it folded in when `norm` names its tensors.
struct Folded {
  int32_t weight = -1, bias = -1;              // source tensor indices
  std::array<int32_t, 4> norm{-1, -1, -1, -1}; // gamma, beta, running mean, running var
  double eps = 0;
  uint64_t out = 0;
};

// The values are the bundle schema's (WeightPackKind).
enum class PackKind : uint8_t {
  Conv = 0,      // layers[0]: packed weights, bias
  Shortcut = 1,  // layers[0], its 1x1 shortcut layers[1]: packed weights, summed bias, packed shortcut
  Separable = 2, // depthwise layers[0] with the pointwise layers[1] after it
  Linear = 3,    // layers[0]: W^T in chunks of `size` rows, then the bias
  Batchnorm = 4, // sources gamma, beta, mean, var: scale and shift
  Copy = 5,      // each source as it is
  Attention = 6, // sources in_proj weight, bias, out_proj weight, bias; `size` channels
};

struct Pack {
  PackKind kind = PackKind::Copy;
  std::vector<Folded> layers;
  std::vector<int32_t> sources;
  double eps = 0;                // Batchnorm
  uint64_t size = 0;             // the channel tile, separable block, rows per chunk or channels
  std::vector<uint64_t> offsets; // each buffer's byte offset in the weight blob
};

// A tensor of seeded weights (spire/SplitMix.h's seededTensor).
struct SeededTensor {
  std::string name;
  uint64_t numel = 0;
  float lo = 0, hi = 0;
};

// A weight blob as a recipe: the seeded tensors, and the packs that make
// the blob's buffers from them (the bundle's SeededWeights).
struct Recipe {
  uint64_t seed = 0;
  std::vector<SeededTensor> tensors;
  std::vector<Pack> packs;
};

// The tensor with index i, or nullptr when there is none.
using Source = std::function<const Buffer *(int32_t)>;

namespace detail {

// A [rows, cols] matrix as [cols, rows]: linear-style kernels read W^T so
// threads computing neighbouring outputs read neighbouring weights.
inline Buffer transposed(const Buffer &w, size_t rows) {
  size_t cols = w.size() / rows;
  Buffer t = onHugePages<float>(w.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c)
      t[c * rows + r] = w[r * cols + c];
  return t;
}

// A conv's [O, rest] weights as [O / T, rest, T]: the conv kernel's block of
// T output channels reads one tap's T weights as consecutive floats.
inline Buffer packedBlocks(const Buffer &w, size_t out, size_t T) {
  size_t rest = w.size() / out;
  Buffer p = onHugePages<float>(w.size());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < rest; ++i)
      p[((o / T) * rest + i) * T + o % T] = w[o * rest + i];
  return p;
}

class Evaluator {
public:
  explicit Evaluator(const Source &source) : source_(source) {}
  std::string error;

  const Buffer &get(int32_t index, const char *what) {
    static const Buffer empty;
    const Buffer *t = index >= 0 ? source_(index) : nullptr;
    if (!t)
      fail(std::string(what) + " names tensor " + std::to_string(index) + ", which does not exist");
    return t ? *t : empty;
  }
  void fail(const std::string &why) {
    if (error.empty())
      error = why;
  }

  // Batch norm folded: scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
  std::pair<std::vector<double>, std::vector<double>> normScaleShift(const std::array<int32_t, 4> &n,
                                                                     double eps, size_t channels) {
    const Buffer &gamma = get(n[0], "a batch norm"), &beta = get(n[1], "a batch norm");
    const Buffer &mean = get(n[2], "a batch norm"), &var = get(n[3], "a batch norm");
    std::vector<double> scale(channels), shift(channels);
    for (const Buffer *t : {&gamma, &beta, &mean, &var})
      if (t->size() != channels)
        fail("a batch norm has " + std::to_string(t->size()) + " values for " +
             std::to_string(channels) + " channels");
    if (!error.empty())
      return {};
    for (size_t c = 0; c < channels; ++c) {
      scale[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    return {scale, shift};
  }

  // W' = W * scale[o]; b' = (b - mean) * scale + beta.
  std::pair<Buffer, Buffer> folded(const Folded &l) {
    const Buffer &weight = get(l.weight, "a layer's weight");
    Buffer w = onHugePages<float>(weight.size());
    std::copy(weight.begin(), weight.end(), w.begin());
    Buffer b(l.out, 0.0f);
    if (l.bias >= 0)
      b = get(l.bias, "a layer's bias");
    if (l.out == 0 || w.size() % l.out != 0 || b.size() != l.out)
      fail("a layer of " + std::to_string(l.out) + " outputs has " + std::to_string(w.size()) +
           " weights and " + std::to_string(b.size()) + " biases");
    if (!error.empty())
      return {};
    if (l.norm[0] >= 0) {
      auto [scale, shift] = normScaleShift(l.norm, l.eps, l.out);
      if (!error.empty())
        return {};
      size_t per = w.size() / l.out;
      for (size_t o = 0; o < l.out; ++o) {
        for (size_t i = 0; i < per; ++i)
          w[o * per + i] = static_cast<float>(w[o * per + i] * scale[o]);
        b[o] = static_cast<float>(b[o] * scale[o] + shift[o]);
      }
    }
    return {std::move(w), std::move(b)};
  }

  Buffer blocks(const Buffer &w, size_t out, uint64_t T) {
    if (T == 0 || out % T != 0)
      fail("a channel tile of " + std::to_string(T) + " does not divide " + std::to_string(out) +
           " channels");
    return error.empty() ? packedBlocks(w, out, T) : Buffer{};
  }
  Buffer transpose(const Buffer &w, uint64_t rows) {
    if (rows == 0 || w.size() % rows != 0)
      fail("a matrix of " + std::to_string(w.size()) + " values has no " + std::to_string(rows) +
           " rows");
    return error.empty() ? transposed(w, rows) : Buffer{};
  }

  std::vector<Buffer> evaluate(const Pack &p) {
    size_t layers = p.kind == PackKind::Conv || p.kind == PackKind::Linear ? 1
                    : p.kind == PackKind::Shortcut || p.kind == PackKind::Separable ? 2
                                                                                    : 0;
    size_t sources = p.kind == PackKind::Batchnorm || p.kind == PackKind::Attention ? 4
                     : p.kind == PackKind::Copy ? p.sources.size()
                                                : 0;
    if (p.kind > PackKind::Attention)
      fail("unknown pack kind " + std::to_string(static_cast<int>(p.kind)));
    else if (p.layers.size() != layers || p.sources.size() != sources)
      fail("a pack of kind " + std::to_string(static_cast<int>(p.kind)) + " has " +
           std::to_string(p.layers.size()) + " layers and " + std::to_string(p.sources.size()) +
           " tensors");
    if (!error.empty())
      return {};
    switch (p.kind) {
    case PackKind::Conv: {
      auto [w, b] = folded(p.layers[0]);
      Buffer packed = blocks(w, b.size(), p.size);
      return {std::move(packed), std::move(b)};
    }
    case PackKind::Shortcut: {
      auto [w, b] = folded(p.layers[0]);
      auto [ws, bs] = folded(p.layers[1]);
      if (bs.size() != b.size())
        fail("a shortcut has " + std::to_string(bs.size()) + " outputs for " +
             std::to_string(b.size()));
      if (!error.empty())
        return {};
      for (size_t o = 0; o < b.size(); ++o)
        b[o] += bs[o];
      Buffer packed = blocks(w, b.size(), p.size), shortcut = blocks(ws, b.size(), p.size);
      return {std::move(packed), std::move(b), std::move(shortcut)};
    }
    case PackKind::Separable: {
      // Each depthwise channel's taps, then its bias, in a block of `size`.
      auto [w, b] = folded(p.layers[0]);
      size_t taps = b.empty() ? 0 : w.size() / b.size(), block = p.size;
      if (block <= taps)
        fail("a depthwise block of " + std::to_string(block) + " has no room for " +
             std::to_string(taps) + " taps and a bias");
      auto [pw, pb] = folded(p.layers[1]);
      Buffer pointwise = blocks(pw, pb.size(), pb.size());
      if (!error.empty())
        return {};
      Buffer depthwise(b.size() * block, 0.0f);
      for (size_t c = 0; c < b.size(); ++c) {
        std::copy_n(w.begin() + c * taps, taps, depthwise.begin() + c * block);
        depthwise[c * block + taps] = b[c];
      }
      return {std::move(depthwise), std::move(pointwise), std::move(pb)};
    }
    case PackKind::Linear: {
      auto [w, b] = folded(p.layers[0]);
      size_t out = b.size();
      w = transpose(w, out);
      if (p.size == 0)
        fail("a linear layer in chunks of 0 rows");
      if (!error.empty())
        return {};
      std::vector<Buffer> chunks;
      size_t in = w.size() / out, rows = p.size;
      for (size_t k = 0; k < in; k += rows)
        chunks.emplace_back(w.begin() + k * out, w.begin() + std::min(in, k + rows) * out);
      chunks.push_back(std::move(b));
      return chunks;
    }
    case PackKind::Batchnorm: {
      size_t channels = get(p.sources[0], "a batch norm").size();
      auto [scale, shift] =
          normScaleShift({p.sources[0], p.sources[1], p.sources[2], p.sources[3]}, p.eps, channels);
      if (!error.empty())
        return {};
      return {Buffer(scale.begin(), scale.end()), Buffer(shift.begin(), shift.end())};
    }
    case PackKind::Copy: {
      std::vector<Buffer> out;
      for (int32_t s : p.sources)
        out.push_back(get(s, "a parameter"));
      return out;
    }
    case PackKind::Attention: {
      Buffer in = transpose(get(p.sources[0], "an attention"), 3 * p.size);
      Buffer outProj = transpose(get(p.sources[2], "an attention"), p.size);
      Buffer inBias = get(p.sources[1], "an attention"), outBias = get(p.sources[3], "an attention");
      if (!error.empty())
        return {};
      return {std::move(in), std::move(inBias), std::move(outProj), std::move(outBias)};
    }
    }
    return {};
  }

private:
  const Source &source_;
};

} // namespace detail

// The buffers of one pack, in binding order; on a malformed pack (a bad
// index, sizes that do not fit together) none, and `error` says why.
inline std::vector<Buffer> evaluate(const Pack &pack, const Source &source, std::string &error) {
  detail::Evaluator e(source);
  std::vector<Buffer> out = e.evaluate(pack);
  error = e.error;
  if (!error.empty())
    out.clear();
  return out;
}

} // namespace spire::weights
