// `spire summary`: per layer shape, parameters, FLOPs and stage; per stage
// totals and interfaces; model totals and the activation-memory lower bound.
#pragma once

#include "spire/FrontEnd/ModuleBuilder.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spire {

struct SummaryTensor {
  std::string name;
  std::string shape;
  Dim bytes; // per sample: a number, or an expression of the size symbols
};

struct SummaryLayer {
  std::string name, kind, shape;
  int64_t params = 0;
  Dim flops; // per sample: a number, or an expression of the size symbols
  size_t stage = 0;
};

struct SummaryStage {
  std::string name;
  int64_t params = 0;
  Dim flops;
  std::vector<SummaryTensor> inputs, outputs;
  std::string split; // the split point ending this stage ("" for the last)
};

struct ModelSummary {
  std::string model;
  std::vector<std::string> symbols;
  std::map<std::string, SizeRange> ranges; // declared in `sizes`
  std::vector<SummaryLayer> layers;
  std::vector<SummaryStage> stages;
  int64_t params = 0;
  Dim flops;
  // Where `flops` depends on ranged size symbols: its value with every
  // symbol at the smallest and at the largest value of its range.
  std::optional<int64_t> minFlops, maxFlops;
  // Largest set of activations alive at once, per sample (reshapes share
  // their input's storage): the lower bound for any memory plan. With size
  // ranges, at the largest sizes (which bound the others).
  std::optional<int64_t> peakActivationBytes;
};

ModelSummary summarize(SpecModule &spec);
void printSummary(const ModelSummary &summary, llvm::raw_ostream &os);
// A byte count as the summary prints it: "512 B", "1.5 KiB", "2.25 MiB"; "?"
// when unknown (a symbolic size).
std::string formatBytes(std::optional<int64_t> bytes);
void printSummaryJson(const ModelSummary &summary, llvm::raw_ostream &os);

// Emits a note at each split point for every tensor it carries besides the
// output of the layer just before it (skip tensors of residual edges).
void noteSplitInterfaces(SpecModule &spec);

// Ops whose result shares its operand's storage (no kernel, no memory).
bool isAlias(mlir::Operation *op);

} // namespace spire
