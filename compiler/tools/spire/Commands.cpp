#include "Commands.h"

#include "spire/Analysis/Summary.h"
#include "spire/FrontEnd/ModuleBuilder.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace spire::cli {
namespace {

// A spec loaded and checked, with diagnostics printed compiler-style
// (file:line:col, the YAML line and a caret) as they are reported.
struct LoadedSpec {
  mlir::MLIRContext context;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> handler;
  mlir::FailureOr<SpecModule> spec = mlir::failure();
};

bool parseSets(const std::vector<std::string> &sets, BuildOptions &options) {
  for (const std::string &s : sets) {
    size_t eq = s.find('=');
    int64_t value = 0;
    if (eq == std::string::npos || eq == 0 ||
        llvm::StringRef(s).substr(eq + 1).getAsInteger(10, value) || value < 1) {
      llvm::errs() << "error: --set expects SYMBOL=SIZE with SIZE >= 1, got '" << s << "'\n";
      return false;
    }
    options.symbolValues[s.substr(0, eq)] = value;
  }
  return true;
}

// Returns an exit code, or -1 when the spec is loaded and checked.
int loadSpec(const CommonOptions &o, LoadedSpec &loaded) {
  BuildOptions options;
  if (!parseSets(o.sets, options))
    return kExitUsage;
  auto file = llvm::MemoryBuffer::getFile(o.spec, /*IsText=*/true);
  if (!file) {
    llvm::errs() << "error: cannot read spec '" << o.spec << "': " << file.getError().message()
                 << "\n";
    return kExitSpec;
  }
  llvm::StringRef text = (*file)->getBuffer();
  std::string copy = text.str();
  loaded.sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  loaded.context.printOpOnDiagnostic(false);
  loaded.handler = std::make_unique<mlir::SourceMgrDiagnosticHandler>(loaded.sourceMgr,
                                                                       &loaded.context);
  loaded.spec = buildSpecModule(loaded.context, o.spec, copy, options);
  if (mlir::failed(loaded.spec))
    return kExitSpec;
  noteSplitInterfaces(*loaded.spec);
  return -1;
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
}

int runSelected(CLI::App &app, const CommonOptions &o) {
  if (app.got_subcommand("check"))
    return runCheck(o);
  if (app.got_subcommand("summary"))
    return runSummary(o);
  return kExitUsage;
}

} // namespace spire::cli
