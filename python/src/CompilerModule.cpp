// spire._compiler: the compiler for Python, through the same library steps
// as `spire check` and `spire compile` (spire/Driver/Driver.h). Imported
// lazily by spire.compile and spire.check: it loads MLIR and LLVM, which
// running a bundle does not need. Diagnostics are rendered as the CLI
// renders them (file:line:col, the YAML line, a caret, then notes) and also
// kept as structured records for spire.Diagnostic.
#include "spire/Bundle/BundleWriter.h"
#include "spire/Driver/Driver.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

namespace py = pybind11;
using namespace spire;

namespace {

py::object pyClass(const char *name) { return py::module_::import("spire._types").attr(name); }

struct Record {
  std::string file, severity, message;
  unsigned line = 0, column = 0;
  std::vector<Record> notes;
};

const char *severityName(mlir::DiagnosticSeverity s) {
  switch (s) {
  case mlir::DiagnosticSeverity::Error:
    return "error";
  case mlir::DiagnosticSeverity::Warning:
    return "warning";
  case mlir::DiagnosticSeverity::Note:
    return "note";
  case mlir::DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

Record record(const mlir::Diagnostic &d) {
  Record r;
  r.severity = severityName(d.getSeverity());
  r.message = d.str();
  if (auto loc = d.getLocation()->findInstanceOf<mlir::FileLineColLoc>()) {
    r.file = loc.getFilename().str();
    r.line = loc.getLine();
    r.column = loc.getColumn();
  }
  for (const mlir::Diagnostic &note : d.getNotes())
    r.notes.push_back(record(note));
  return r;
}

// A spec session whose diagnostics go to `text`, as the CLI prints them,
// and to `records`. Handlers run newest first until one handles a
// diagnostic: the recorder passes each one on to the printer.
struct Session : SpecSession {
  std::string text;
  llvm::raw_string_ostream stream{text};
  mlir::SourceMgrDiagnosticHandler printer{sourceMgr, &context, stream};
  std::vector<Record> records;
  mlir::ScopedDiagnosticHandler recorder{&context, [this](mlir::Diagnostic &d) {
                                           records.push_back(record(d));
                                           return mlir::failure();
                                         }};

  // Reads the spec (from `path` when `source` is empty) and builds it.
  bool load(const std::optional<std::string> &source, const std::string &path,
            const std::vector<std::string> &sets) {
    BuildOptions options;
    if (std::optional<std::string> error = parseSizeSettings(sets, options.symbolValues)) {
      usageError = *error;
      return false;
    }
    std::unique_ptr<llvm::MemoryBuffer> buffer;
    if (source) {
      buffer = llvm::MemoryBuffer::getMemBufferCopy(*source, path);
    } else {
      auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
      if (!file) {
        readError = "cannot read spec '" + path + "': " + file.getError().message();
        return false;
      }
      buffer = std::move(*file);
    }
    return mlir::succeeded(loadSpec(*this, std::move(buffer), options));
  }

  std::string usageError, readError;
};

py::object diagnostic(const Record &r) {
  py::list notes;
  for (const Record &n : r.notes)
    notes.append(diagnostic(n));
  return pyClass("Diagnostic")(r.file, r.line, r.column, r.severity, r.message, py::tuple(notes));
}

py::list diagnostics(const Session &s) {
  py::list list;
  for (const Record &r : s.records)
    list.append(diagnostic(r));
  return list;
}

// Raises what a failed session reported: a usage error, or spire.SpecError
// with the CLI's text and the diagnostics.
[[noreturn]] void raiseFailure(const Session &s) {
  if (!s.usageError.empty()) {
    PyErr_SetString(pyClass("UsageError").ptr(), s.usageError.c_str());
    throw py::error_already_set();
  }
  std::string message = s.readError.empty() ? s.text : "error: " + s.readError;
  while (!message.empty() && message.back() == '\n')
    message.pop_back();
  py::object error = pyClass("SpecError")(message, diagnostics(s));
  PyErr_SetObject(pyClass("SpecError").ptr(), error.ptr());
  throw py::error_already_set();
}

// spire.check: every diagnostic of building the spec (empty: it is fine).
py::list check(std::optional<std::string> source, const std::string &path,
               const std::vector<std::string> &sets) {
  Session s;
  bool ok;
  {
    py::gil_scoped_release release;
    ok = s.load(source, path, sets);
  }
  if (!ok && (!s.usageError.empty() || !s.readError.empty()))
    raiseFailure(s);
  return diagnostics(s);
}

// spire.compile: the bundle's bytes and the diagnostics (warnings, notes)
// of a successful compile. `weights`: None for seeded random
// ones, a .safetensors path, or (name, float32 array) pairs.
py::tuple compile(std::optional<std::string> source, const std::string &path,
                  const std::vector<std::string> &sets, py::object weights,
                  const std::string &target) {
  std::optional<std::string> weightsPath;
  std::optional<std::vector<NamedTensor>> tensors;
  if (py::isinstance<py::str>(weights)) {
    weightsPath = weights.cast<std::string>();
  } else if (!weights.is_none()) {
    tensors.emplace();
    for (py::handle item : weights) {
      auto pair = item.cast<std::pair<std::string, py::object>>();
      auto array =
          py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(pair.second);
      if (!array)
        throw py::value_error("weights['" + pair.first + "'] is not an array");
      NamedTensor t{pair.first, {array.shape(), array.shape() + array.ndim()}, {}};
      t.data.assign(array.data(), array.data() + array.size());
      tensors->push_back(std::move(t));
    }
  }
  Session s;
  std::vector<uint8_t> bytes;
  bool ok = false;
  {
    py::gil_scoped_release release;
    if (s.load(source, path, sets)) {
      mlir::FailureOr<WeightStore> store =
          tensors ? specWeights(s, &*tensors, "the given weights")
                  : specWeights(s, weightsPath.value_or(""));
      CodegenOptions options;
      options.config.target = target;
      mlir::FailureOr<CompiledModel> model = mlir::failure();
      if (mlir::succeeded(store))
        model = compileSpec(s, *store, options);
      if (mlir::succeeded(model)) {
        bytes = serializeBundle(*model);
        ok = true;
      }
    }
  }
  if (!ok)
    raiseFailure(s);
  return py::make_tuple(py::bytes(reinterpret_cast<const char *>(bytes.data()), bytes.size()),
                        diagnostics(s));
}

} // namespace

PYBIND11_MODULE(_compiler, m) {
  m.doc() = "The Spire compiler (loads MLIR): spec checking and compilation to bundles.";
  m.def("check", &check, py::arg("source"), py::arg("path"), py::arg("sets"));
  m.def("compile", &compile, py::arg("source"), py::arg("path"), py::arg("sets"),
        py::arg("weights"), py::arg("target"));
}
