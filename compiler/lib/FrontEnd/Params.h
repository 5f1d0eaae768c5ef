// Typed access to one layer's keys in the spec, with block parameter
// substitution (`$planes`) and errors at the YAML location of the value.
#pragma once

#include "spire/FrontEnd/Spec.h"

#include "mlir/IR/Location.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>
#include <string>

namespace spire {

// Block parameters of the instance being expanded: name -> value node.
using ParamEnv = llvm::StringMap<const SpecNode *>;

class Params {
public:
  using LocFn = std::function<mlir::Location(const SourceLoc &)>;

  // `node` is the layer's parameter map (or null for `- relu`); `what` names
  // the layer in messages ("conv2d 'conv1'").
  Params(const SpecNode *node, const ParamEnv *env, LocFn loc, std::string what)
      : node_(node), env_(env), loc_(std::move(loc)), what_(std::move(what)) {}

  bool has(llvm::StringRef key) const;
  // The value node of `key` after `$param` substitution, or nullptr.
  const SpecNode *get(llvm::StringRef key) const;
  mlir::Location locOf(llvm::StringRef key) const;

  std::optional<int64_t> getInt(llvm::StringRef key);
  int64_t getInt(llvm::StringRef key, int64_t fallback);
  int64_t requireInt(llvm::StringRef key);
  double getFloat(llvm::StringRef key, double fallback);
  bool getBool(llvm::StringRef key, bool fallback);
  // An integer or a list of `n` integers (`kernel: 3` or `kernel: [3, 1]`).
  llvm::SmallVector<int64_t> getInts(llvm::StringRef key, size_t n, int64_t fallback);
  // A number or a list of `n` numbers (`scale: 2` or `scale: [2, 1.5]`).
  llvm::SmallVector<double> getFloats(llvm::StringRef key, size_t n, double fallback);
  // A list of integers of any length.
  std::optional<llvm::SmallVector<int64_t>> getIntList(llvm::StringRef key);
  std::optional<std::string> getString(llvm::StringRef key);
  // One of `choices` (the first when the key is absent); anything else is
  // an error listing them.
  std::string getChoice(llvm::StringRef key, llvm::ArrayRef<llvm::StringRef> choices);
  // One name or a list of names.
  llvm::SmallVector<std::pair<std::string, SourceLoc>> getNames(llvm::StringRef key);

  // Resolves `$name` in a scalar against the block parameters.
  const SpecNode *substitute(const SpecNode *value) const;
  bool failed() const { return failed_; }
  void error(const SpecNode *at, const llvm::Twine &message);

private:
  std::optional<int64_t> parseInt(const SpecNode *value, llvm::StringRef key);
  std::optional<double> parseFloat(const SpecNode *value, llvm::StringRef key);
  template <typename T>
  using Parser = std::optional<T> (Params::*)(const SpecNode *, llvm::StringRef);
  // One value for all `n`, or a list of `n` (getInts, getFloats); `one` and
  // `many` name the value in messages ("an integer", "integers").
  template <typename T>
  llvm::SmallVector<T> getOneOrList(llvm::StringRef key, size_t n, T fallback, Parser<T> parse,
                                    llvm::StringRef one, llvm::StringRef many);

  const SpecNode *node_;
  const ParamEnv *env_;
  LocFn loc_;
  std::string what_;
  bool failed_ = false;
};

// Integer value of a scalar (decimal, optional sign), if it is one.
std::optional<int64_t> scalarToInt(const SpecNode &node);

} // namespace spire
