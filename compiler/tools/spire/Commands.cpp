#include "Commands.h"

#include "spire/Analysis/Split.h"
#include "spire/Analysis/Summary.h"
#include "spire/Bundle/BundleWriter.h"
#include "spire/Bundle/Embedding.h"
#include "spire/Codegen/Codegen.h"
#include "spire/Driver/Driver.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace spire::cli {
namespace {

// A spec loaded and checked, with diagnostics printed compiler-style
// (file:line:col, the YAML line and a caret) as they are reported.
struct LoadedSpec : SpecSession {
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> handler;
};

// Returns an exit code, or -1 when the spec is loaded and checked.
int loadSpec(const CommonOptions &o, LoadedSpec &loaded) {
  BuildOptions options;
  if (std::optional<std::string> error = parseSizeSettings(o.sets, options.symbolValues)) {
    llvm::errs() << "error: " << *error << "\n";
    return kExitUsage;
  }
  auto file = llvm::MemoryBuffer::getFile(o.spec, /*IsText=*/true);
  if (!file) {
    llvm::errs() << "error: cannot read spec '" << o.spec << "': " << file.getError().message()
                 << "\n";
    return kExitSpec;
  }
  loaded.handler = std::make_unique<mlir::SourceMgrDiagnosticHandler>(loaded.sourceMgr,
                                                                       &loaded.context);
  // A whole-file problem (a weights file, say) has no line: `FILE: error:`
  // reads better than the source manager's `FILE:0:0: error:`. Registered
  // last, so it sees each diagnostic first and passes on the rest.
  loaded.context.getDiagEngine().registerHandler([](mlir::Diagnostic &d) {
    auto file = llvm::dyn_cast<mlir::FileLineColLoc>(d.getLocation());
    if (!file || file.getLine() != 0)
      return mlir::failure();
    const char *kind = d.getSeverity() == mlir::DiagnosticSeverity::Error     ? "error"
                       : d.getSeverity() == mlir::DiagnosticSeverity::Warning ? "warning"
                                                                              : "note";
    llvm::errs() << file.getFilename().getValue() << ": " << kind << ": " << d << "\n";
    for (const mlir::Diagnostic &note : d.getNotes())
      llvm::errs() << "note: " << note << "\n";
    return mlir::success();
  });
  return mlir::succeeded(spire::loadSpec(loaded, std::move(*file), options)) ? -1 : kExitSpec;
}

int runCheck(const CommonOptions &o) {
  LoadedSpec loaded;
  if (int rc = loadSpec(o, loaded); rc >= 0)
    return rc;
  if (o.emit == "mlir")
    loaded.spec->module->print(llvm::outs());
  else if (!o.emit.empty()) {
    llvm::errs() << "error: check --emit takes 'mlir', got '" << o.emit << "'\n";
    return kExitUsage;
  } else
    llvm::outs() << o.spec << ": ok\n";
  return kExitOk;
}

int runSummary(const CommonOptions &o) {
  LoadedSpec loaded;
  if (int rc = loadSpec(o, loaded); rc >= 0)
    return rc;
  ModelSummary summary = summarize(*loaded.spec);
  if (o.json)
    printSummaryJson(summary, llvm::outs());
  else
    printSummary(summary, llvm::outs());
  return kExitOk;
}

// Writes `path` through `write`. A failed open or write is an error line
// (raw_fd_ostream would otherwise end the process at its destruction).
bool writeFile(const std::string &path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (!ec) {
    write(os);
    os.close();
    if (os.has_error()) {
      ec = os.error();
      os.clear_error();
    }
  }
  if (ec)
    llvm::errs() << "error: cannot write '" << path << "': " << ec.message() << "\n";
  return !ec;
}

bool writeFile(const std::string &path, llvm::StringRef text) {
  return writeFile(path, [&](llvm::raw_ostream &os) { os << text; });
}

bool writeBundleFile(const std::string &path, const CompiledModel &model) {
  return writeFile(path, [&](llvm::raw_ostream &os) { writeBundle(model, os); });
}

// --emit=object: the bundle's bytes in an object file, through the system
// C++ compiler ($CXX, else c++) assembling the same `.incbin` source that
// --embed writes. Link it with the --header's API and Spire::runtime.
int emitObject(const CompiledModel &model, const std::string &ns, const std::string &output) {
  llvm::SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("spire-object", dir)) {
    llvm::errs() << "error: cannot create a temporary directory: " << ec.message() << "\n";
    return kExitSpec;
  }
  std::string bundlePath = (dir + "/model.spire").str(), source = (dir + "/embed.cpp").str();
  bool written = writeBundleFile(bundlePath, model) &&
                 writeFile(source, generateEmbedSource(ns, bundlePath));
  const char *cxxEnv = std::getenv("CXX");
  auto cxx = llvm::sys::findProgramByName(cxxEnv && *cxxEnv ? cxxEnv : "c++");
  int rc = kExitSpec;
  if (!written) {
  } else if (!cxx) {
    llvm::errs() << "error: --emit=object needs a C++ compiler (set CXX, or install g++)\n";
  } else {
    llvm::StringRef args[] = {*cxx, "-c", source, "-o", output};
    std::string message;
    if (llvm::sys::ExecuteAndWait(*cxx, args, std::nullopt, {}, 0, 0, &message) == 0)
      rc = kExitOk;
    else
      llvm::errs() << "error: " << *cxx << " could not assemble the bundle " << message << "\n";
  }
  llvm::sys::fs::remove(bundlePath);
  llvm::sys::fs::remove(source);
  llvm::sys::fs::remove(dir);
  if (rc == kExitOk)
    llvm::outs() << "wrote " << output << ": the bundle of '" << model.name << "' as symbols spire_"
                 << ns << "_bundle[_end]\n";
  return rc;
}

int runCompile(const CommonOptions &o) {
  // A bad --target is a usage error, found before the spec is read.
  if (o.target != "native")
    if (std::optional<std::string> why = checkTarget(o.target)) {
      llvm::errs() << "error: --target: " << *why << "\n";
      return kExitUsage;
    }
  // --timings: every phase and pass, printed when the timing manager ends.
  mlir::DefaultTimingManager timingManager;
  timingManager.setEnabled(o.timings);
  mlir::TimingScope timing = timingManager.getRootScope();
  mlir::TimingScope loading = timing.nest("load and check the spec");
  LoadedSpec loaded;
  if (int rc = loadSpec(o, loaded); rc >= 0)
    return rc;
  loading.stop();
  SpecModule &spec = *loaded.spec;
  if (o.emit == "mlir") {
    spec.module->print(llvm::outs());
    return kExitOk;
  }
  std::string target = o.target;
  if (target == "native")
    if (int rc = nativeTarget(target); rc >= 0)
      return rc;
  CodegenOptions options;
  options.config = {target, o.tileChannels, o.tilePixels, o.tileStep, o.broadcastLanes,
                    o.noTexelInputs};
  options.printIRAfterAll = o.printIRAfterAll;
  options.timing = &timing;
  options.seededWeights = isSeededWeights(o.weights);
  if (o.emit == "kernels" || o.emit == "gpu" || o.emit == "spirv") {
    options.dump = o.emit == "kernels" ? CodegenOptions::Dump::Kernels
                   : o.emit == "gpu"   ? CodegenOptions::Dump::Gpu
                                       : CodegenOptions::Dump::Spirv;
    options.dumpStream = &llvm::outs();
  } else if (!o.emit.empty() && o.emit != "bundle" && o.emit != "header" && o.emit != "object") {
    llvm::errs() << "error: --emit takes bundle, header, object, mlir, kernels, gpu or spirv, "
                    "got '"
                 << o.emit << "'\n";
    return kExitUsage;
  }

  mlir::TimingScope weighing = timing.nest("weights");
  mlir::FailureOr<WeightStore> weights = specWeights(loaded, o.weights);
  if (mlir::failed(weights))
    return kExitSpec;
  weighing.stop();
  mlir::FailureOr<CompiledModel> model = compileSpec(loaded, *weights, options);
  if (mlir::failed(model))
    return kExitSpec;
  if (options.dump != CodegenOptions::Dump::None)
    return kExitOk;

  if (!o.stage.empty()) {
    // "K" or "A..B", 0-based.
    llvm::StringRef text(o.stage);
    auto [a, b] = text.split("..");
    size_t first = 0, last = 0;
    if (a.getAsInteger(10, first) || (b.empty() ? (last = first, false) : b.getAsInteger(10, last)) ||
        first > last || last >= model->stages.size()) {
      llvm::errs() << "error: --stage '" << o.stage << "': expected K or A..B with 0 <= A <= B < "
                   << model->stages.size() << "\n";
      return kExitUsage;
    }
    *model = selectStages(*model, first, last);
  }
  if (!o.spirvDir.empty()) {
    llvm::sys::fs::create_directories(o.spirvDir);
    for (const KernelCode &k : model->kernels) {
      std::error_code ec;
      llvm::raw_fd_ostream os(o.spirvDir + "/" + k.name + ".spv", ec, llvm::sys::fs::OF_None);
      if (ec) {
        llvm::errs() << "error: cannot write " << o.spirvDir << ": " << ec.message() << "\n";
        return kExitSpec;
      }
      os.write(reinterpret_cast<const char *>(k.spirv.data()), k.spirv.size() * 4);
    }
  }
  std::string output = o.output;
  std::string ns = cppIdentifier(o.cppNamespace.empty() ? model->name : o.cppNamespace);
  // Make-style dependencies of what this run writes: the spec and the weights.
  auto writeDepfile = [&](const std::string &target) {
    return o.depfile.empty() ||
           writeFile(o.depfile, target + ": " + o.spec +
                                    (o.weights.empty() || options.seededWeights ? "" : " " + o.weights) +
                                    "\n");
  };
  if (o.emit == "header") {
    std::string header = generateHeader(*model, ns, o.spec);
    if (output.empty()) {
      llvm::outs() << header;
      return kExitOk;
    }
    return writeFile(output, header) && writeDepfile(output) ? kExitOk : kExitSpec;
  }
  if (o.emit == "object") {
    if (output.empty())
      output = llvm::sys::path::stem(o.spec).str() + ".o";
    int rc = emitObject(*model, ns, output);
    return rc == kExitOk && !writeDepfile(output) ? kExitSpec : rc;
  }
  if (output.empty())
    output = llvm::sys::path::stem(o.spec).str() + ".spire";
  mlir::TimingScope writing = timing.nest("write the bundle");
  if (!writeBundleFile(output, *model))
    return kExitSpec;
  writing.stop();
  if (!o.header.empty() && !writeFile(o.header, generateHeader(*model, ns, o.spec)))
    return kExitSpec;
  if (!o.embed.empty()) {
    llvm::SmallString<256> absolute(output);
    llvm::sys::fs::make_absolute(absolute);
    if (!writeFile(o.embed, generateEmbedSource(ns, absolute.str().str())))
      return kExitSpec;
  }
  if (!writeDepfile(output))
    return kExitSpec;
  // A run makes one dispatch of each size-class group (DispatchPlan::when).
  size_t dispatches = 0, alternatives = 0;
  uint64_t arena = 0;
  for (const StagePlan &s : model->stages) {
    for (const DispatchPlan &d : s.dispatches)
      ++(d.when && !d.when->otherwise ? alternatives : dispatches);
    arena = std::max(arena, s.arenaSize);
  }
  llvm::outs() << "wrote " << output << ": " << model->stages.size() << " stage(s), "
               << model->kernels.size() << " kernels, " << dispatches << " dispatches"
               << (alternatives ? " (and " + std::to_string(alternatives) +
                                      " for size classes, run in their place at their sizes)"
                                : std::string())
               << ", "
               << model->weights.size() << " bytes of weights ("
               << (o.weights.empty() ? "seeded random, seed 0"
                   : options.seededWeights
                       ? "seeded random, seed " + std::to_string(*weights->seed()) +
                             ", stored as the seed"
                       : o.weights)
               << "), activation arena " << arena << " bytes per sample, target "
               << model->target.name << "\n";
  return kExitOk;
}

int runGraph(const CommonOptions &o) {
  if (isBundlePath(o.spec))
    return runGraphOfBundle(o);
  LoadedSpec loaded;
  if (int rc = loadSpec(o, loaded); rc >= 0)
    return rc;
  return runGraphOfSpec(*loaded.spec, o);
}

int runSplit(const CommonOptions &o) {
  LoadedSpec loaded;
  if (int rc = loadSpec(o, loaded); rc >= 0)
    return rc;
  return mlir::succeeded(proposeSplit(*loaded.spec, o.splitStages, llvm::outs())) ? kExitOk
                                                                                 : kExitSpec;
}

void addSpecArgs(CLI::App *cmd, CommonOptions &o) {
  cmd->add_option("spec", o.spec, "model spec (YAML)")->required();
  cmd->add_option("--set", o.sets, "bind a size symbol, e.g. --set L=128 (repeatable)");
}

} // namespace

void addCommands(CLI::App &app, CommonOptions &o) {
  CLI::App *check = app.add_subcommand("check", "check a spec; print every error");
  addSpecArgs(check, o);
  check->add_option("--emit", o.emit, "print the checked module: mlir");

  CLI::App *summary = app.add_subcommand(
      "summary", "per-layer shapes, parameters, FLOPs and stages; stage interfaces");
  addSpecArgs(summary, o);
  summary->add_flag("--json", o.json, "machine-readable output");

  CLI::App *split = app.add_subcommand(
      "split", "propose split points that balance FLOPs and interface sizes");
  addSpecArgs(split, o);
  split->add_option("--stages", o.splitStages, "number of stages")->required()->check(CLI::Range(1, 64));

  CLI::App *graph = app.add_subcommand(
      "graph", "draw a spec or a bundle: layers or dispatches, blocks, stages and cut tensors");
  graph->add_option("model", o.spec, "model spec (YAML) or compiled bundle (.spire)")->required();
  graph->add_option("--set", o.sets, "bind a size symbol, e.g. --set L=128 (repeatable)");
  graph->add_option("-o,--output", o.output,
                    "picture to write: .svg or .png (through Graphviz's dot) or .dot "
                    "(default: DOT on stdout)");
  graph->add_option("--depth", o.graphDepth,
                    "open blocks only this many levels deep; deeper ones are one node each")
      ->check(CLI::Range(0, 64));

  CLI::App *compile = app.add_subcommand("compile", "compile a spec to a .spire bundle");
  addSpecArgs(compile, o);
  compile->add_option("-o,--output", o.output, "bundle to write (default: <spec>.spire)");
  compile->add_option("--weights", o.weights,
                      "weights as .safetensors, by layer name; seeded[:SEED] for seeded random "
                      "weights the bundle stores as their seed, the runtime making them at load "
                      "(default: seeded random, seed 0, stored whole)");
  compile->add_option("--emit", o.emit,
                      "what to produce: bundle (default), header, object, mlir, kernels "
                      "(the spire.kernel IR with configs and memory plan), gpu, spirv");
  compile->add_option("--target", o.target,
                      "target profile the kernels are configured for: lavapipe (default), nvidia, "
                      "amd, intel, arm-mali, qualcomm-adreno, generic, or native (the profile "
                      "that fits this machine's default Vulkan device)");
  compile->add_flag("--print-ir-after-all", o.printIRAfterAll,
                    "print the module after every pass of the codegen pipeline (to stderr)");
  compile->add_flag("--timings", o.timings, "print the time of every phase and pass (to stderr)");
  compile->add_option("--stage", o.stage, "write a bundle with only stage K, or stages A..B (0-based)");
  compile->add_option("--spirv-dir", o.spirvDir, "also write each kernel's SPIR-V here");
  compile->add_option("--tile-channels", o.tileChannels, "output channels per invocation (tuning)")
      ->check(CLI::Range(1, 16));
  compile->add_option("--tile-pixels", o.tilePixels, "conv output positions per invocation (tuning)")
      ->check(CLI::Range(1, 16));
  compile->add_option("--tile-step", o.tileStep,
                      "input channels per loop iteration of 1x1 convs and linear layers (tuning)")
      ->check(CLI::Range(1, 16));
  compile->add_option("--broadcast-lanes", o.broadcastLanes,
                      "subgroup lanes that share weight loads; the device's subgroups need at "
                      "least this many (1: no subgroup operations)")
      ->check(CLI::IsMember({1, 2, 4, 8, 16, 32, 64}));
  compile->add_flag("--no-texel-inputs", o.noTexelInputs,
                    "read kernel inputs from storage buffers, not texel buffers (for devices "
                    "with a small maxTexelBufferElements)");
  compile->add_option("--header", o.header, "also write the C++ header of the model's typed API");
  compile->add_option("--embed", o.embed, "also write a C++ source that embeds the bundle");
  compile->add_option("--depfile", o.depfile, "also write make-style dependencies of the bundle");
  compile->add_option("--namespace", o.cppNamespace, "C++ namespace of the header (default: the model name)");

  addRunCommands(app, o);
  // --mpi lives here, not in runtime/tools, so that spire-run needs no MPI.
  addMpiOptions(app.get_subcommand("run"), o);
}

int runSelected(CLI::App &app, const CommonOptions &o) {
  if (app.got_subcommand("check"))
    return runCheck(o);
  if (app.got_subcommand("summary"))
    return runSummary(o);
  if (app.got_subcommand("compile"))
    return runCompile(o);
  if (app.got_subcommand("split"))
    return runSplit(o);
  if (app.got_subcommand("graph"))
    return runGraph(o);
  if (app.got_subcommand("run") && o.mpi.on)
    return runMpi(o);
  return runRunCommand(app, o);
}

} // namespace spire::cli
