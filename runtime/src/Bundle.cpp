// Reads a bundle without trusting it: every size, offset and index is
// checked before use, so a truncated or corrupt file is an Error, never a
// crash. The layout is in BundleFormat.h and schema/bundle.fbs.
#include "Internal.h"

#include "spire/BundleFormat.h"
#include "spire/Checked.h"
#include "spire/Limits.h"
#include "spire/SizeExpr.h"
#include "spire/SplitMix.h"
#include "spire/WeightPacking.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <map>
#include <filesystem>
#include <fstream>
#include <span>

namespace spire {

namespace fb = spire::bundle;

Bundle::Bundle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bundle::Bundle(Bundle &&) noexcept = default;
Bundle &Bundle::operator=(Bundle &&) noexcept = default;
Bundle::~Bundle() = default;

const std::string &Bundle::name() const { return impl_->name; }
int64_t Bundle::batch() const { return impl_->batch; }
const std::vector<TensorInfo> &Bundle::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo> &Bundle::outputs() const { return impl_->outputs; }
const std::vector<StageInfo> &Bundle::stages() const { return impl_->stages; }
const std::vector<uint32_t> &Bundle::placement() const { return impl_->placement; }
size_t Bundle::kernelCount() const { return impl_->manifest->kernels()->size(); }
uint64_t Bundle::weightsBytes() const { return impl_->weightsSize; }
const TargetDescription &Bundle::target() const { return impl_->target; }
const std::vector<SizeSymbol> &Bundle::sizes() const { return impl_->sizes; }
uint64_t Bundle::checksum() const { return impl_->checksum; }

int64_t Tensor::numel() const {
  std::optional<int64_t> n = checkedProduct(shape, int64_t(1));
  if (!n)
    throw Error(Error::Kind::Input,
                "a tensor of shape " + shapeText(shape) +
                    (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; })
                         ? " has a negative dimension"
                         : " has more elements than fit in 64 bits"));
  return *n;
}

namespace {

[[noreturn]] void fail(const std::string &source, const std::string &why) {
  throw Error(Error::Kind::Bundle, source + ": " + why);
}

std::string regionText(const fb::Region &r) {
  std::optional<uint64_t> end = checkedAdd(r.offset(), r.size());
  return std::string(r.space() == fb::Space::Weights ? "weight" : "arena") + " bytes [" +
         std::to_string(r.offset()) + ", " + (end ? std::to_string(*end) : "2^64 and more") + ")";
}

// Region inside its space; `arena` is the stage's per-sample arena size.
bool regionFits(const fb::Region &r, uint64_t weights, uint64_t arena) {
  uint64_t limit = r.space() == fb::Space::Weights ? weights : arena;
  return r.size() > 0 && r.offset() <= limit && r.size() <= limit - r.offset() &&
         (r.space() == fb::Space::Weights || r.space() == fb::Space::Arena);
}

// The size symbols, and their values at the two ends of their ranges: a
// SizeExpr that evaluates at both is well formed (evaluate() checks its
// structure), and the arena is planned for the maximum.
struct Symbols {
  std::vector<int64_t> min, max;
  std::vector<std::string> names;
};

Symbols readSizes(Bundle::Impl &b) {
  Symbols symbols;
  if (!b.manifest->sizes())
    return symbols;
  for (const fb::SizeSymbol *s : *b.manifest->sizes()) {
    std::string what = "size symbol " + std::to_string(b.sizes.size());
    if (!s->name() || s->name()->size() == 0)
      fail(b.source, what + " has no name");
    SizeSymbol symbol{s->name()->str(), s->min(), s->max(), s->multiple_of()};
    what += " ('" + symbol.name + "')";
    if (std::find(symbols.names.begin(), symbols.names.end(), symbol.name) != symbols.names.end())
      fail(b.source, what + " is declared twice");
    // Kernels take the values as 32-bit specialization constants.
    if (symbol.min < 1 || symbol.max < symbol.min || symbol.max > kMaxDim || symbol.multipleOf < 1)
      fail(b.source, what + " has min " + std::to_string(symbol.min) + ", max " +
                         std::to_string(symbol.max) + ", multiple_of " +
                         std::to_string(symbol.multipleOf) +
                         "; a size needs 1 <= min <= max <= 2^31 - 1 and multiple_of >= 1");
    if (symbol.max / symbol.multipleOf * symbol.multipleOf < symbol.min)
      fail(b.source, what + " has no multiple of " + std::to_string(symbol.multipleOf) + " in [" +
                         std::to_string(symbol.min) + ", " + std::to_string(symbol.max) + "]");
    symbols.min.push_back(symbol.min);
    symbols.max.push_back(symbol.max);
    symbols.names.push_back(symbol.name);
    b.sizes.push_back(std::move(symbol));
  }
  return symbols;
}

// Whether a vector's 8-byte elements lie at 8-byte addresses. The
// FlatBuffers verifier checks only the 4-byte length field before them, so
// a corrupt file can place them 4 bytes off, and reading them so is
// undefined behaviour. (The compiler aligns them; a bundle's manifest is
// 8-aligned in memory: fromMemory copies one that is not.)
template <typename T> bool elementsAligned(const flatbuffers::Vector<T> *v) {
  return reinterpret_cast<uintptr_t>(v->data()) % alignof(T) == 0;
}

// `what`'s SizeExpr program, refused unless it evaluates, to a value in
// [lo, hi], with every symbol at its minimum and at its maximum.
std::vector<int64_t> readProgram(const Bundle::Impl &b, const Symbols &symbols,
                                 const fb::SizeExpr *e, const std::string &what, int64_t lo,
                                 int64_t hi) {
  if (!e || !e->code() || e->code()->size() == 0 || e->code()->size() > kMaxSizeExprLength)
    fail(b.source, what + " has an empty size expression or one over " +
                       std::to_string(kMaxSizeExprLength) + " elements");
  if (!elementsAligned(e->code()))
    fail(b.source, what + " has a misaligned size expression");
  std::vector<int64_t> code(e->code()->begin(), e->code()->end());
  for (bool atMax : {false, true}) {
    const char *end = atMax ? "maximum" : "minimum";
    std::optional<int64_t> v = size_expr::evaluate(code, atMax ? symbols.max : symbols.min);
    if (!v)
      fail(b.source, what + " has a malformed size expression (or one that overflows or "
                            "divides by a non-positive value with the symbols at their " +
                         end + ")");
    if (*v < lo || *v > hi)
      fail(b.source, what + " is " + size_expr::print(code, symbols.names) + " = " +
                         std::to_string(*v) + " with the symbols at their " + end +
                         ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return code;
}

std::vector<TensorInfo> readTensors(const Bundle::Impl &b, const Symbols &symbols,
                                    const flatbuffers::Vector<flatbuffers::Offset<fb::Tensor>> *ts,
                                    const std::string &where, uint64_t arena, bool checkRegion) {
  std::vector<TensorInfo> out;
  if (!ts)
    fail(b.source, where + " has no tensor list");
  for (const fb::Tensor *t : *ts) {
    if (!t->name() || !t->shape() || t->shape()->size() == 0 || t->shape()->size() > size_t(kMaxRank))
      fail(b.source, where + " has a tensor without a name or with an invalid rank");
    if (!elementsAligned(t->shape()))
      fail(b.source, where + " tensor '" + t->name()->str() + "' has a misaligned shape");
    TensorInfo info{t->name()->str(), {}, DType::F32};
    std::string what = where + " tensor '" + info.name + "'";
    size_t rank = t->shape()->size();
    const auto *dims = t->dims();
    if (dims && dims->size() != rank)
      fail(b.source, what + " has " + std::to_string(dims->size()) +
                         " dim expressions for rank " + std::to_string(rank));
    // The shape with the symbols at their maximum: what the region holds.
    std::vector<int64_t> atMax;
    for (size_t i = 0; i < rank; ++i) {
      int64_t d = t->shape()->Get(i);
      info.shape.push_back(d);
      atMax.push_back(d);
      if (i > 0 && d == -1 && dims) {
        std::vector<int64_t> code = readProgram(b, symbols, dims->Get(i),
                                                what + " dim " + std::to_string(i), 1, kMaxDim);
        info.dimText.resize(rank);
        info.dimCode.resize(rank);
        info.dimText[i] = size_expr::print(code, symbols.names);
        atMax[i] = *size_expr::evaluate(code, symbols.max);
        info.dimCode[i] = std::move(code);
      } else if (!(d > 0 && d <= kMaxDim) && !(i == 0 && d == -1)) {
        fail(b.source, what + " has invalid dim " + std::to_string(d));
      }
    }
    std::optional<uint64_t> perSample = checkedProduct(std::span(atMax).subspan(1), uint64_t(4));
    if (!perSample)
      fail(b.source, what + " has more than 2^64 bytes per sample");
    if (t->dtype() != fb::DType::f32)
      fail(b.source, what + " has an unsupported dtype");
    if (checkRegion) {
      // A symbolic tensor's region holds it at the symbols' maximum, or more.
      const fb::Region *r = t->region();
      if (!r || r->space() != fb::Space::Arena || !regionFits(*r, 0, arena) ||
          (info.dimCode.empty() ? r->size() != *perSample : r->size() < *perSample))
        fail(b.source, what + " has an invalid arena region");
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::string hex(uint32_t word) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", word);
  return text;
}

// What a driver must be able to trust before it parses a module: the SPIR-V
// header (magic, a version from 1.0 to 1.6), instructions that stay inside
// the module, and an OpEntryPoint for a compute shader under the name the
// runtime will create its pipeline with.
void checkSpirv(const std::string &src, size_t k, const fb::Kernel &kernel) {
  std::string what = "kernel " + std::to_string(k);
  if (!kernel.name() || !kernel.entry_point() || !kernel.spirv())
    fail(src, what + " has no name, entry point or SPIR-V module");
  what += " ('" + kernel.name()->str() + "')";
  const flatbuffers::Vector<uint32_t> &words = *kernel.spirv();
  constexpr uint32_t kMagic = 0x07230203, kOpEntryPoint = 15, kGLCompute = 5;
  if (words.size() < 5)
    fail(src, what + ": its SPIR-V module has " + std::to_string(words.size()) +
                  " words, fewer than the 5-word header");
  if (words[0] != kMagic)
    fail(src, what + ": SPIR-V magic number " + hex(words[0]) + ", expected " + hex(kMagic));
  uint32_t version = words[1];
  if ((version & 0xff0000ffu) != 0 || (version >> 16) != 1 || ((version >> 8) & 0xff) > 6)
    fail(src, what + ": SPIR-V version word " + hex(version) + " is not a version from 1.0 to 1.6");
  const std::string &entry = kernel.entry_point()->str();
  bool found = false;
  for (size_t at = 5; at < words.size();) {
    uint32_t count = words[at] >> 16, opcode = words[at] & 0xffff;
    if (count == 0 || count > words.size() - at)
      fail(src, what + ": the SPIR-V instruction at word " + std::to_string(at) + " has " +
                    std::to_string(count) + " words; the module ends at word " +
                    std::to_string(words.size()));
    // OpEntryPoint: execution model, function id, then the name, a
    // nul-terminated string packed into the instruction's remaining words.
    if (opcode == kOpEntryPoint && count > 3 && words[at + 1] == kGLCompute) {
      const char *name = reinterpret_cast<const char *>(words.data() + at + 3);
      size_t room = (count - 3) * 4;
      found |= strnlen(name, room) < room && entry == name;
    }
    at += count;
  }
  if (!found)
    fail(src, what + ": its SPIR-V module has no GLCompute OpEntryPoint named '" + entry + "'");
}

// A seeded bundle's weight blob, made from its recipe (bundle.fbs's
// SeededWeights) as the compiler made it: every index, count and offset is
// checked first, so a corrupt recipe is an Error.
void makeSeededWeights(Bundle::Impl &b, const fb::SeededWeights &seeded, uint64_t size) {
  const std::string &src = b.source;
  if (size > kMaxSeededWeightsBytes)
    fail(src, "the seeded weights claim " + std::to_string(size) + " bytes, more than the " +
                  std::to_string(kMaxSeededWeightsBytes) + " a bundle may make");
  if (!seeded.tensors() || !seeded.packs())
    fail(src, "the seeded weights have no tensor or pack list");
  std::vector<weights::SeededTensor> tensors;
  for (const fb::SeededTensor *t : *seeded.tensors()) {
    std::string what = "seeded tensor " + std::to_string(tensors.size());
    if (!t->name())
      fail(src, what + " has no name");
    if (t->numel() > size / 4)
      fail(src, what + " ('" + t->name()->str() + "') has " + std::to_string(t->numel()) +
                    " values, more than the " + std::to_string(size) + "-byte blob holds");
    if (!std::isfinite(t->lo()) || !std::isfinite(t->hi()) || t->lo() > t->hi())
      fail(src, what + " ('" + t->name()->str() + "') has an invalid range");
    tensors.push_back({t->name()->str(), t->numel(), t->lo(), t->hi()});
  }
  b.generatedWeights.assign(size, 0);
  for (size_t k = 0; k < seeded.packs()->size(); ++k) {
    const fb::WeightPack *fp = seeded.packs()->Get(k);
    std::string what = "seeded weight pack " + std::to_string(k);
    weights::Pack pack;
    pack.kind = static_cast<weights::PackKind>(fp->kind());
    if (fp->layers())
      for (const fb::FoldedLayer *l : *fp->layers()) {
        weights::Folded folded{l->weight(), l->bias(), {-1, -1, -1, -1}, l->eps(), l->out()};
        if (l->norm()) {
          if (l->norm()->size() != 4)
            fail(src, what + " folds a batch norm of " + std::to_string(l->norm()->size()) +
                          " tensors, not 4");
          std::copy(l->norm()->begin(), l->norm()->end(), folded.norm.begin());
        }
        pack.layers.push_back(folded);
      }
    if (fp->tensors())
      pack.sources.assign(fp->tensors()->begin(), fp->tensors()->end());
    pack.eps = fp->eps();
    pack.size = fp->size();
    // Each tensor is made once per pack that uses it: no pack uses many.
    std::map<int32_t, weights::Buffer> made;
    std::string error;
    std::vector<weights::Buffer> buffers = weights::evaluate(
        pack,
        [&](int32_t i) -> const weights::Buffer * {
          if (i < 0 || static_cast<size_t>(i) >= tensors.size())
            return nullptr;
          auto [it, inserted] = made.try_emplace(i);
          if (inserted)
            it->second = seededTensor(seeded.seed(), tensors[i].name, tensors[i].numel,
                                      tensors[i].lo, tensors[i].hi);
          return &it->second;
        },
        error);
    if (!error.empty())
      fail(src, what + ": " + error);
    if (!fp->offsets() || fp->offsets()->size() != buffers.size() ||
        !elementsAligned(fp->offsets()))
      fail(src, what + " makes " + std::to_string(buffers.size()) + " buffers but places " +
                    std::to_string(fp->offsets() ? fp->offsets()->size() : 0) +
                    (fp->offsets() && !elementsAligned(fp->offsets()) ? ", misaligned" : ""));
    for (size_t i = 0; i < buffers.size(); ++i) {
      uint64_t offset = fp->offsets()->Get(i), bytes = buffers[i].size() * 4;
      if (offset > size || bytes > size - offset)
        fail(src, what + " places " + std::to_string(bytes) + " bytes at " +
                      std::to_string(offset) + ", outside the " + std::to_string(size) +
                      "-byte blob");
      std::memcpy(b.generatedWeights.data() + offset, buffers[i].data(), bytes);
    }
  }
}

void verify(Bundle::Impl &b) {
  const std::string &src = b.source;
  if (b.size < sizeof(bundle::Header))
    fail(src, "file too small (" + std::to_string(b.size) + " bytes) for a Spire bundle header (" +
                  std::to_string(sizeof(bundle::Header)) + " bytes)");
  bundle::Header h;
  std::memcpy(&h, b.data, sizeof(h));
  if (std::memcmp(h.magic, bundle::kMagic, sizeof(h.magic)) != 0)
    fail(src, "not a Spire bundle (bad magic)");
  if (h.version < bundle::kOldestReadableVersion || h.version > bundle::kFormatVersion)
    fail(src, "bundle format version " + std::to_string(h.version) + ", this runtime reads versions " +
                  std::to_string(bundle::kOldestReadableVersion) + " to " +
                  std::to_string(bundle::kFormatVersion) + "; recompile the spec");
  if (h.headerSize < sizeof(bundle::Header) || h.headerSize > b.size)
    fail(src, "invalid header size " + std::to_string(h.headerSize));
  if (h.fileSize != b.size)
    fail(src, "truncated or padded: the header says " + std::to_string(h.fileSize) +
                  " bytes, the file has " + std::to_string(b.size));
  if (bundle::bundleChecksum(h.version, b.data + h.headerSize, b.size - h.headerSize) != h.checksum)
    fail(src, "checksum mismatch (the file is corrupt)");
  b.checksum = h.checksum;
  if (h.manifestOffset < h.headerSize || h.manifestOffset > b.size ||
      h.manifestSize > b.size - h.manifestOffset || h.manifestSize == 0)
    fail(src, "manifest [" + std::to_string(h.manifestOffset) + ", +" +
                  std::to_string(h.manifestSize) + ") lies outside the file");
  // The verifier checks alignment within the manifest: 8-byte fields are
  // aligned in memory only if the manifest is.
  if (h.manifestOffset % 8 != 0)
    fail(src, "manifest at " + std::to_string(h.manifestOffset) + " is not 8-byte aligned");
  if (h.weightsOffset > b.size || h.weightsSize > b.size - h.weightsOffset ||
      h.weightsOffset % bundle::kWeightsAlignment != 0)
    fail(src, "weights [" + std::to_string(h.weightsOffset) + ", +" +
                  std::to_string(h.weightsSize) + ") lie outside the file or are misaligned");

  const uint8_t *manifest = b.data + h.manifestOffset;
  flatbuffers::Verifier verifier(manifest, h.manifestSize);
  if (!fb::VerifyModelBuffer(verifier))
    fail(src, "the manifest is malformed (FlatBuffers verification failed)");
  b.manifest = fb::GetModel(manifest);
  b.weights = b.data + h.weightsOffset;
  b.weightsSize = h.weightsSize;
  const fb::Model *m = b.manifest;
  if (const fb::SeededWeights *seeded = m->seeded_weights()) {
    if (h.version < bundle::kFirstSeededVersion || h.weightsSize != 0)
      fail(src, "a seeded bundle must be format version " +
                    std::to_string(bundle::kFirstSeededVersion) +
                    " or later with no weight bytes in the file");
    makeSeededWeights(b, *seeded, m->weights_size());
    b.weights = b.generatedWeights.data();
    b.weightsSize = b.generatedWeights.size();
  } else if (m->weights_size() != h.weightsSize) {
    fail(src, "the manifest's weight size does not match the header");
  }
  if (!m->kernels() || !m->stages() || m->stages()->size() == 0)
    fail(src, "the manifest has no kernels or no stages");

  std::vector<int64_t> bindingsOfKernel(m->kernels()->size(), -1);
  for (size_t k = 0; k < m->kernels()->size(); ++k)
    checkSpirv(src, k, *m->kernels()->Get(k));
  b.name = m->name() ? m->name()->str() : "model";
  b.batch = m->batch();
  if (b.batch != -1 && b.batch < 1)
    fail(src, "invalid batch " + std::to_string(b.batch));
  Symbols symbols = readSizes(b);

  for (size_t s = 0; s < m->stages()->size(); ++s) {
    const fb::Stage *stage = m->stages()->Get(s);
    std::string where = "stage " + std::to_string(s);
    if (!stage->dispatches() || !stage->name())
      fail(src, where + " has no name or dispatch list");
    uint64_t arena = stage->arena_size();
    StageInfo info;
    info.name = stage->name()->str();
    info.inputs = readTensors(b, symbols, stage->inputs(), where + " input", arena, true);
    info.outputs = readTensors(b, symbols, stage->outputs(), where + " output", arena, true);
    info.dispatchCount = std::count_if(
        stage->dispatches()->begin(), stage->dispatches()->end(),
        [](const fb::Dispatch *d) { return !d->when() || d->when()->otherwise(); });
    info.arenaBytesPerSample = arena;
    for (size_t d = 0; d < stage->dispatches()->size(); ++d) {
      const fb::Dispatch *dispatch = stage->dispatches()->Get(d);
      std::string what = "dispatch " + std::to_string(d) + " of " + where;
      if (dispatch->kernel() >= m->kernels()->size())
        fail(src, what + " uses kernel " + std::to_string(dispatch->kernel()) + " of " +
                      std::to_string(m->kernels()->size()));
      if (!dispatch->grid() || dispatch->grid()->size() != 3 || !dispatch->bindings() ||
          dispatch->bindings()->size() == 0)
        fail(src, what + " has no grid or no bindings");
      for (uint32_t g : *dispatch->grid())
        if (g == 0)
          fail(src, what + " has an empty grid");
      uint32_t pushed = dispatch->push_constants() ? dispatch->push_constants()->size() : 0;
      if (uint32_t reads = m->kernels()->Get(dispatch->kernel())->push_constants(); pushed != reads)
        fail(src, what + " passes " + std::to_string(pushed) + " push constants to a kernel that reads " +
                      std::to_string(reads));
      if (const auto *sizes = dispatch->grid_sizes()) {
        if (sizes->size() != 3)
          fail(src, what + " has " + std::to_string(sizes->size()) +
                        " grid size expressions, not 3");
        for (size_t i = 0; i < 3; ++i)
          readProgram(b, symbols, sizes->Get(i), what + " grid " + "xyz"[i], 0, UINT32_MAX);
      }
      if (const fb::SizeCase *when = dispatch->when()) {
        if (b.sizes.empty())
          fail(src, what + " runs at some sizes only, but the bundle has no size symbols");
        readProgram(b, symbols, when->key(), what + "'s size case", 1, kMaxDim);
        const auto *values = when->values();
        if (!values || values->size() > kMaxSizeCaseValues || !elementsAligned(values) ||
            !std::is_sorted(values->begin(), values->end(), std::less_equal<int64_t>()))
          fail(src, what + "'s size case has no values, over " +
                        std::to_string(kMaxSizeCaseValues) +
                        ", misaligned, or values not increasing");
      }
      for (const fb::Region *r : *dispatch->bindings())
        if (!regionFits(*r, b.weightsSize, arena))
          fail(src, what + " binds " + regionText(*r) + " outside its " +
                        (r->space() == fb::Space::Weights
                             ? "weights (" + std::to_string(b.weightsSize) + " bytes)"
                             : "arena (" + std::to_string(arena) + " bytes per sample)"));
      int64_t &n = bindingsOfKernel[dispatch->kernel()];
      if (n >= 0 && n != static_cast<int64_t>(dispatch->bindings()->size()))
        fail(src, what + " binds a different number of buffers than another use of its kernel");
      n = dispatch->bindings()->size();
    }
    b.stages.push_back(std::move(info));
  }
  for (size_t k = 0; k < m->kernels()->size(); ++k) {
    const fb::Kernel *kernel = m->kernels()->Get(k);
    if (const auto *texels = kernel->texel_bindings())
      for (uint32_t t : *texels)
        if (static_cast<int64_t>(t) >= bindingsOfKernel[k])
          fail(src, "kernel " + std::to_string(k) + " reads binding " + std::to_string(t) +
                        " as texels but is dispatched with " +
                        std::to_string(std::max<int64_t>(bindingsOfKernel[k], 0)) + " bindings");
    if (const auto *vec4 = kernel->vec4_texel_bindings())
      for (uint32_t t : *vec4)
        if (!listsBinding(kernel->texel_bindings(), t))
          fail(src, "kernel " + std::to_string(k) + " lists binding " + std::to_string(t) +
                        " as vec4 texels but not as texels");
    // Every device holds 128 bytes of push constants.
    if (kernel->push_constants() > kMaxPushConstants)
      fail(src, "kernel " + std::to_string(k) + " reads " +
                    std::to_string(kernel->push_constants()) + " push constants; at most " +
                    std::to_string(kMaxPushConstants) + " fit every device");
    if (const auto *spec = kernel->spec_constants())
      for (uint32_t i : *spec)
        if (i >= b.sizes.size())
          fail(src, "kernel " + std::to_string(k) + " specializes on size symbol " +
                        std::to_string(i) + " of " + std::to_string(b.sizes.size()));
  }
  // A vec4 view needs a 16-byte aligned offset and a whole number of texels.
  for (size_t s = 0; s < m->stages()->size(); ++s)
    for (size_t i = 0; i < m->stages()->Get(s)->dispatches()->size(); ++i) {
      const fb::Dispatch *d = m->stages()->Get(s)->dispatches()->Get(i);
      if (const auto *vec4 = m->kernels()->Get(d->kernel())->vec4_texel_bindings())
        for (uint32_t t : *vec4) {
          const fb::Region *r = d->bindings()->Get(t);
          if (r->offset() % 16 != 0 || r->size() % 16 != 0)
            fail(src, "dispatch " + std::to_string(i) + " of stage " + std::to_string(s) +
                          " reads " + regionText(*r) +
                          " four floats a texel, but it is not whole 16-byte texels");
        }
    }
  b.inputs = readTensors(b, symbols, m->inputs(), "model input", 0, false);
  b.outputs = readTensors(b, symbols, m->outputs(), "model output", 0, false);
  if (b.inputs.size() != b.stages.front().inputs.size())
    fail(src, "the model inputs do not match the first stage's inputs");
  if (m->placement()) {
    if (m->placement()->size() != b.stages.size())
      fail(src, "the placement names " + std::to_string(m->placement()->size()) +
                    " device(s) for " + std::to_string(b.stages.size()) + " stage(s)");
    b.placement.assign(m->placement()->begin(), m->placement()->end());
  }
  // Informational (a warning when the device fits another profile), so
  // nothing here needs checking beyond the FlatBuffers verifier's.
  if (const fb::Target *t = m->target(); t && t->name())
    b.target = {t->name()->str(), t->subgroup_size(), t->max_workgroup_invocations(),
                t->shared_memory_bytes(), t->max_texel_buffer_elements(), t->f16(),
                t->vector_width()};
}

} // namespace

Bundle Bundle::fromFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file)
    throw Error(Error::Kind::Bundle, path + ": cannot open the bundle");
  // A directory opens, and its "size" is 2^63 - 1.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(Error::Kind::Bundle, path + ": is a directory, not a bundle");
  auto impl = std::make_unique<Impl>();
  impl->source = path;
  std::streamsize size = file.tellg();
  if (size < 0)
    throw Error(Error::Kind::Bundle, path + ": cannot read the bundle");
  impl->owned.resize(static_cast<size_t>(size));
  file.seekg(0);
  if (size > 0 && !file.read(reinterpret_cast<char *>(impl->owned.data()), size))
    throw Error(Error::Kind::Bundle, path + ": cannot read the bundle");
  impl->data = impl->owned.data();
  impl->size = impl->owned.size();
  verify(*impl);
  return Bundle(std::move(impl));
}

Bundle Bundle::fromMemory(const void *data, size_t size, bool copy) {
  auto impl = std::make_unique<Impl>();
  impl->source = "<memory>";
  // A manifest's 8-byte values must lie at 8-byte addresses
  // (elementsAligned): a caller's unaligned bytes are copied.
  if (copy || reinterpret_cast<uintptr_t>(data) % 8 != 0) {
    impl->owned.assign(static_cast<const uint8_t *>(data),
                       static_cast<const uint8_t *>(data) + size);
    impl->data = impl->owned.data();
  } else {
    impl->data = static_cast<const uint8_t *>(data);
  }
  impl->size = size;
  verify(*impl);
  return Bundle(std::move(impl));
}

} // namespace spire
