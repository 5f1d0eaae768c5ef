#include "spire/Bundle/BundleWriter.h"

#include "spire/BundleFormat.h"
#include "spire/bundle_generated.h"

#include <cstring>
#include <map>

namespace spire {

namespace fb = spire::bundle;

static fb::Region toRegion(const BufferRegion &r) {
  return fb::Region(r.space == BufferRegion::Space::Weights ? fb::Space::Weights
                                                            : fb::Space::Arena,
                    r.offset, r.size);
}

// Absent (0) when there are none, as in a bundle without size symbols.
static flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<fb::SizeExpr>>>
writeSizes(flatbuffers::FlatBufferBuilder &b, const std::vector<SizeProgram> &programs) {
  if (programs.empty())
    return 0;
  std::vector<flatbuffers::Offset<fb::SizeExpr>> out;
  for (const SizeProgram &p : programs)
    out.push_back(fb::CreateSizeExpr(b, b.CreateVector(p)));
  return b.CreateVector(out);
}

static flatbuffers::Offset<fb::Tensor> writeTensor(flatbuffers::FlatBufferBuilder &b,
                                                   const TensorPlan &t) {
  fb::Region region = toRegion(t.region);
  auto dims = writeSizes(b, t.dims);
  return fb::CreateTensor(b, b.CreateString(t.name), b.CreateVector(t.shape), fb::DType::f32,
                          &region, dims);
}

static auto writeTensors(flatbuffers::FlatBufferBuilder &b, const std::vector<TensorPlan> &ts) {
  std::vector<flatbuffers::Offset<fb::Tensor>> out;
  for (const TensorPlan &t : ts)
    out.push_back(writeTensor(b, t));
  return b.CreateVector(out);
}

static flatbuffers::Offset<fb::SeededWeights> writeSeededWeights(flatbuffers::FlatBufferBuilder &b,
                                                                 const weights::Recipe &r) {
  std::vector<flatbuffers::Offset<fb::SeededTensor>> tensors;
  for (const weights::SeededTensor &t : r.tensors)
    tensors.push_back(fb::CreateSeededTensor(b, b.CreateString(t.name), t.numel, t.lo, t.hi));
  std::vector<flatbuffers::Offset<fb::WeightPack>> packs;
  for (const weights::Pack &p : r.packs) {
    std::vector<flatbuffers::Offset<fb::FoldedLayer>> layers;
    for (const weights::Folded &l : p.layers) {
      auto norm = l.norm[0] < 0 ? 0 : b.CreateVector(l.norm.data(), l.norm.size());
      layers.push_back(fb::CreateFoldedLayer(b, l.weight, l.bias, norm, l.eps, l.out));
    }
    packs.push_back(fb::CreateWeightPack(b, static_cast<fb::WeightPackKind>(p.kind),
                                         b.CreateVector(layers), b.CreateVector(p.sources), p.eps,
                                         p.size, b.CreateVector(p.offsets)));
  }
  return fb::CreateSeededWeights(b, r.seed, b.CreateVector(tensors), b.CreateVector(packs));
}

void writeBundle(const CompiledModel &model, llvm::raw_ostream &os) {
  flatbuffers::FlatBufferBuilder b(1 << 16);
  std::vector<flatbuffers::Offset<fb::Kernel>> kernels;
  for (const KernelCode &k : model.kernels) {
    std::vector<uint32_t> wg(k.workgroupSize.begin(), k.workgroupSize.end());
    kernels.push_back(fb::CreateKernel(
        b, b.CreateString(k.name), b.CreateString("main"), b.CreateVector(k.spirv),
        b.CreateVector(wg), k.subgroupLanes, b.CreateVector(k.texelBindings),
        b.CreateVector(k.vec4TexelBindings),
        k.specConstants.empty() ? 0 : b.CreateVector(k.specConstants), k.pushConstants));
  }
  std::vector<flatbuffers::Offset<fb::Stage>> stages;
  for (const StagePlan &s : model.stages) {
    std::vector<flatbuffers::Offset<fb::Dispatch>> dispatches;
    for (const DispatchPlan &d : s.dispatches) {
      std::vector<fb::Region> bindings;
      for (const BufferRegion &r : d.bindings)
        bindings.push_back(toRegion(r));
      std::vector<uint32_t> grid(d.grid.begin(), d.grid.end());
      flatbuffers::Offset<fb::SizeCase> when;
      if (d.when)
        when = fb::CreateSizeCase(b, fb::CreateSizeExpr(b, b.CreateVector(d.when->key)),
                                  b.CreateVector(d.when->values), d.when->otherwise);
      dispatches.push_back(fb::CreateDispatch(b, d.kernel, b.CreateVectorOfStructs(bindings),
                                              b.CreateVector(grid), b.CreateString(d.layer),
                                              writeSizes(b, d.gridSizes),
                                              d.pushConstants.empty()
                                                  ? 0
                                                  : b.CreateVector(d.pushConstants),
                                              when));
    }
    stages.push_back(fb::CreateStage(b, b.CreateString(s.name), writeTensors(b, s.inputs),
                                     writeTensors(b, s.outputs), b.CreateVector(dispatches),
                                     s.arenaSize));
  }
  const TargetDescription &t = model.target;
  auto target = t.name.empty()
                    ? 0
                    : fb::CreateTarget(b, b.CreateString(t.name), t.subgroupSize,
                                       t.maxWorkgroupInvocations, t.sharedMemoryBytes,
                                       t.maxTexelBufferElements, t.f16, t.vectorWidth);
  std::vector<flatbuffers::Offset<fb::SizeSymbol>> sizes;
  for (const SizeSymbolPlan &s : model.sizes)
    sizes.push_back(fb::CreateSizeSymbol(b, b.CreateString(s.name), s.min, s.max, s.multipleOf));
  auto root = fb::CreateModel(b, b.CreateString(model.name), b.CreateString(SPIRE_VERSION),
                              model.batch, writeTensors(b, model.inputs),
                              writeTensors(b, model.outputs), b.CreateVector(stages),
                              b.CreateVector(kernels), model.weights.size(),
                              model.placement.empty() ? 0 : b.CreateVector(model.placement),
                              target,
                              model.seededWeights ? writeSeededWeights(b, *model.seededWeights) : 0,
                              sizes.empty() ? 0 : b.CreateVector(sizes));
  fb::FinishModelBuffer(b, root);

  bundle::Header header{};
  std::memcpy(header.magic, bundle::kMagic, sizeof(header.magic));
  header.version = bundle::kFormatVersion;
  header.headerSize = sizeof(bundle::Header);
  header.manifestOffset = sizeof(bundle::Header);
  header.manifestSize = b.GetSize();
  uint64_t a = bundle::kWeightsAlignment;
  header.weightsOffset = (header.manifestOffset + header.manifestSize + a - 1) / a * a;
  // A seeded bundle's runtime makes the blob: the file holds none of it.
  header.weightsSize = model.seededWeights ? 0 : model.weights.size();
  header.fileSize = header.weightsOffset + header.weightsSize;

  // Between the manifest and the weights: zeros up to the weights' alignment.
  std::vector<unsigned char> padding(header.weightsOffset - header.manifestOffset -
                                         header.manifestSize,
                                     0);
  bundle::Checksum sum;
  sum.update(b.GetBufferPointer(), b.GetSize());
  sum.update(padding.data(), padding.size());
  if (header.weightsSize)
    sum.update(model.weights.data(), model.weights.size());
  header.checksum = sum.value();
  os.write(reinterpret_cast<const char *>(&header), sizeof(header));
  os.write(reinterpret_cast<const char *>(b.GetBufferPointer()), b.GetSize());
  os.write(reinterpret_cast<const char *>(padding.data()), padding.size());
  if (header.weightsSize)
    os.write(reinterpret_cast<const char *>(model.weights.data()), model.weights.size());
}

std::vector<uint8_t> serializeBundle(const CompiledModel &model) {
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  writeBundle(model, os);
  os.flush();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

CompiledModel selectStages(const CompiledModel &model, size_t first, size_t last) {
  CompiledModel out;
  out.name = model.name;
  out.batch = model.batch;
  out.target = model.target;
  // The stages' shapes, grids and kernels refer to the symbols by index.
  out.sizes = model.sizes;
  // Only these stages' kernels and weights, renumbered and repacked.
  std::vector<int64_t> remap(model.kernels.size(), -1);
  std::map<uint64_t, uint64_t> weightOffsets; // old offset -> new offset
  for (size_t k = first; k <= last; ++k) {
    StagePlan s = model.stages[k];
    for (DispatchPlan &d : s.dispatches) {
      if (remap[d.kernel] < 0) {
        remap[d.kernel] = out.kernels.size();
        out.kernels.push_back(model.kernels[d.kernel]);
      }
      d.kernel = remap[d.kernel];
      for (BufferRegion &r : d.bindings) {
        if (r.space != BufferRegion::Space::Weights)
          continue;
        auto [it, inserted] = weightOffsets.try_emplace(r.offset, 0);
        if (inserted) {
          uint64_t a = bundle::kRegionAlignment;
          it->second = (out.weights.size() + a - 1) / a * a;
          out.weights.resize(it->second + r.size);
          std::memcpy(out.weights.data() + it->second, model.weights.data() + r.offset, r.size);
        }
        r.offset = it->second;
      }
    }
    out.stages.push_back(std::move(s));
  }
  // A seeded recipe keeps the packs of the buffers kept, at their new
  // offsets, and the tensors they use, renumbered.
  if (const std::optional<weights::Recipe> &recipe = model.seededWeights) {
    out.seededWeights = weights::Recipe{recipe->seed, {}, {}};
    std::map<int32_t, int32_t> tensorIndices; // old index -> new index
    auto keep = [&](int32_t &index) {
      if (index < 0)
        return;
      auto [it, inserted] = tensorIndices.try_emplace(index, out.seededWeights->tensors.size());
      if (inserted)
        out.seededWeights->tensors.push_back(recipe->tensors[index]);
      index = it->second;
    };
    for (weights::Pack p : recipe->packs) {
      if (!weightOffsets.count(p.offsets.front()))
        continue;
      for (uint64_t &offset : p.offsets)
        offset = weightOffsets.at(offset);
      for (weights::Folded &l : p.layers) {
        keep(l.weight);
        keep(l.bias);
        for (int32_t &n : l.norm)
          keep(n);
      }
      for (int32_t &source : p.sources)
        keep(source);
      out.seededWeights->packs.push_back(std::move(p));
    }
  }
  if (!model.placement.empty())
    out.placement.assign(model.placement.begin() + first, model.placement.begin() + last + 1);
  out.inputs = out.stages.front().inputs;
  // The last stage's outputs: the model outputs when it is the last stage.
  out.outputs = last + 1 == model.stages.size() ? model.outputs : out.stages.back().outputs;
  return out;
}

} // namespace spire
