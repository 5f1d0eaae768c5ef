// Size symbols' values from a run's inputs, and the shapes and grids they
// make. A dim that is a lone symbol gives its value; any other symbol is
// searched for among its range's values, which are few (a sequence length's
// range is thousands at most).
#include "Sizes.h"

#include "spire/Checked.h"
#include "spire/Limits.h"
#include "spire/SizeExpr.h"

#include <optional>

namespace spire {

namespace fb = spire::bundle;

namespace {

// The most values a search tries for one symbol: beyond, the caller names it.
constexpr uint64_t kMaxSearch = uint64_t(1) << 20;

bool admissible(const SizeSymbol &s, int64_t v) {
  return v >= s.min && v <= s.max && v % s.multipleOf == 0;
}

// The symbols a program reads.
std::vector<size_t> symbolsOf(const std::vector<int64_t> &code) {
  std::vector<size_t> used;
  for (size_t i = 0; i < code.size(); ++i)
    if (code[i] == size_expr::Constant || code[i] == size_expr::Symbol) {
      if (code[i] == size_expr::Symbol)
        used.push_back(static_cast<size_t>(code[i + 1]));
      ++i;
    }
  return used;
}

// Whether dispatch `d` runs at the symbols' `values`: its size case's key
// is (or, `otherwise`, is not) one of the values it lists, which the reader
// checked are increasing. None where the key does not evaluate.
std::optional<bool> runsAt(const fb::Dispatch &d, std::span<const int64_t> values) {
  const fb::SizeCase *when = d.when();
  if (!when)
    return true;
  const auto &code = *when->key()->code();
  std::optional<int64_t> key = size_expr::evaluate(std::span(code.data(), code.size()), values);
  if (!key)
    return std::nullopt;
  bool listed = std::binary_search(when->values()->begin(), when->values()->end(), *key);
  return listed != when->otherwise();
}

// A symbolic dim of an input the caller gave.
struct Dim {
  const TensorInfo *tensor;
  const std::vector<int64_t> *shape;
  size_t i;

  const std::vector<int64_t> &code() const { return tensor->dimCode[i]; }
  int64_t value() const { return (*shape)[i]; }
  // "input 'y' dim 2 of [1, 4, 148], which must be (L + -5) floordiv 2 + 1"
  std::string must() const {
    return "input '" + tensor->name + "' dim " + std::to_string(i) + " of " + shapeText(*shape) +
           ", which must be " + tensor->dimText[i];
  }
};

} // namespace

std::vector<int64_t> resolveSizes(const Bundle::Impl &bundle, const std::vector<TensorInfo> &wanted,
                                  const std::map<std::string, std::vector<int64_t>> &shapes,
                                  const SizeMap &given) {
  const std::vector<SizeSymbol> &symbols = bundle.sizes;
  std::vector<std::optional<int64_t>> values(symbols.size());
  std::vector<std::string> whence(symbols.size()); // how each value was found, for messages
  for (const auto &[name, v] : given) {
    auto it = std::find_if(symbols.begin(), symbols.end(),
                           [&](const SizeSymbol &s) { return s.name == name; });
    if (it == symbols.end()) {
      std::string known;
      for (const SizeSymbol &s : symbols)
        known += (known.empty() ? "" : ", ") + rangeText(s);
      throw Error(Error::Kind::Input,
                  "unknown size '" + name + "': " +
                      (known.empty() ? "this bundle has no size symbols" : "this bundle's are " + known));
    }
    if (!admissible(*it, v))
      throw Error(Error::Kind::Input, name + " = " + std::to_string(v) +
                                          " was given; the bundle serves " + rangeText(*it));
    values[it - symbols.begin()] = v;
    whence[it - symbols.begin()] = name + " = " + std::to_string(v) + " was given";
  }

  std::vector<Dim> dims;
  for (const TensorInfo &t : wanted) {
    auto it = shapes.find(t.name);
    if (it != shapes.end() && it->second.size() == t.shape.size())
      for (size_t i = 0; i < t.dimCode.size(); ++i)
        if (!t.dimCode[i].empty())
          dims.push_back({&t, &it->second, i});
  }
  for (const Dim &d : dims) {
    if (d.code().size() != 2 || d.code()[0] != size_expr::Symbol)
      continue;
    size_t k = static_cast<size_t>(d.code()[1]);
    std::string has = "input '" + d.tensor->name + "' has " + symbols[k].name + " = " +
                      std::to_string(d.value()) + " (dim " + std::to_string(d.i) + " of " +
                      shapeText(*d.shape) + ")";
    if (values[k] && *values[k] != d.value())
      throw Error(Error::Kind::Input, has + " but " + whence[k]);
    if (!admissible(symbols[k], d.value()))
      throw Error(Error::Kind::Input, has + "; the bundle serves " + rangeText(symbols[k]));
    values[k] = d.value();
    whence[k] = has;
  }

  // A symbol still unknown is searched for with the dims that it alone
  // (among the unknown ones) decides; each value found may decide more.
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t k = 0; k < symbols.size(); ++k) {
      if (values[k])
        continue;
      std::vector<const Dim *> decide;
      for (const Dim &d : dims) {
        std::vector<size_t> used = symbolsOf(d.code());
        if (std::find(used.begin(), used.end(), k) != used.end() &&
            std::all_of(used.begin(), used.end(), [&](size_t j) { return j == k || values[j]; }))
          decide.push_back(&d);
      }
      if (decide.empty())
        continue;
      const SizeSymbol &s = symbols[k];
      std::string musts;
      for (const Dim *d : decide)
        musts += (musts.empty() ? "" : " and ") + d->must();
      int64_t first = (s.min + s.multipleOf - 1) / s.multipleOf * s.multipleOf;
      uint64_t count = static_cast<uint64_t>((s.max - first) / s.multipleOf) + 1;
      if (count > kMaxSearch)
        throw Error(Error::Kind::Input, s.name + " is not given and " + musts + "; " +
                                            std::to_string(count) +
                                            " values are too many to search: give " + s.name +
                                            " explicitly");
      std::vector<int64_t> trial(symbols.size(), 0), fits;
      for (size_t j = 0; j < symbols.size(); ++j)
        trial[j] = values[j].value_or(0);
      for (int64_t v = first; v <= s.max && fits.size() < 2; v += s.multipleOf) {
        trial[k] = v;
        if (std::all_of(decide.begin(), decide.end(), [&](const Dim *d) {
              return size_expr::evaluate(d->code(), trial) == d->value();
            }))
          fits.push_back(v);
      }
      if (fits.empty())
        throw Error(Error::Kind::Input, "no " + rangeText(s) + " fits " + musts);
      if (fits.size() > 1)
        throw Error(Error::Kind::Input, musts + ", fits " + s.name + " = " +
                                            std::to_string(fits[0]) + " and " + s.name + " = " +
                                            std::to_string(fits[1]) + ": give " + s.name +
                                            " explicitly");
      values[k] = fits[0];
      whence[k] = s.name + " = " + std::to_string(fits[0]) + " fits " + musts;
      progress = true;
    }
  }

  std::vector<int64_t> result;
  for (size_t k = 0; k < symbols.size(); ++k) {
    if (!values[k])
      throw Error(Error::Kind::Input, "size " + rangeText(symbols[k]) +
                                          " is neither given nor fixed by the inputs' shapes: "
                                          "give its value");
    result.push_back(*values[k]);
  }
  // Each symbolic dim equals its expression (a lone symbol's does already).
  for (const Dim &d : dims) {
    std::optional<int64_t> v = size_expr::evaluate(d.code(), result);
    if (v == d.value())
      continue;
    std::string with;
    for (size_t j : symbolsOf(d.code()))
      if (with.find(symbols[j].name + " =") == std::string::npos)
        with += (with.empty() ? "" : ", ") + symbols[j].name + " = " + std::to_string(result[j]);
    throw Error(Error::Kind::Input,
                "input '" + d.tensor->name + "' has " + std::to_string(d.value()) + " at dim " +
                    std::to_string(d.i) + " of " + shapeText(*d.shape) + "; with " + with +
                    " it must be " + d.tensor->dimText[d.i] + " = " +
                    (v ? std::to_string(*v) : "a value that does not evaluate (overflow)"));
  }
  return result;
}

std::string rangeText(const SizeSymbol &s) {
  return s.name + " in [" + std::to_string(s.min) + ", " + std::to_string(s.max) + "]" +
         (s.multipleOf > 1 ? " (multiples of " + std::to_string(s.multipleOf) + ")" : "");
}

SizeMap sizeMap(const Bundle::Impl &bundle, std::span<const int64_t> values) {
  SizeMap sizes;
  for (size_t k = 0; k < values.size(); ++k)
    sizes[bundle.sizes[k].name] = values[k];
  return sizes;
}

RunSizes evaluateSizes(const Bundle::Impl &bundle, std::vector<int64_t> values) {
  RunSizes run{std::move(values), {}};
  std::string at;
  for (size_t k = 0; k < run.values.size(); ++k)
    at += (at.empty() ? " at " : ", ") + bundle.sizes[k].name + " = " + std::to_string(run.values[k]);
  auto fail = [&](const std::string &why) {
    throw Error(Error::Kind::Bundle, bundle.source + ": " + why + at + " (the bundle is corrupt)");
  };
  auto tensors = [&](const std::string &where, const std::vector<TensorInfo> &infos,
                     const flatbuffers::Vector<flatbuffers::Offset<fb::Tensor>> &stored,
                     std::vector<TensorInfo> &shapes, std::vector<uint64_t> &bytes) {
    for (size_t i = 0; i < infos.size(); ++i) {
      TensorInfo t = infos[i];
      std::string what = where + " '" + t.name + "' " + shapeText(t);
      for (size_t d = 0; d < t.dimCode.size(); ++d)
        if (!t.dimCode[d].empty()) {
          std::optional<int64_t> v = size_expr::evaluate(t.dimCode[d], run.values);
          if (!v || *v < 1 || *v > kMaxDim)
            fail(what + " has dim " + std::to_string(d) + " = " +
                 (v ? std::to_string(*v) : "an overflow"));
          t.shape[d] = *v;
        }
      t.dimText.clear();
      t.dimCode.clear();
      uint64_t region = stored.Get(i)->region()->size();
      std::optional<uint64_t> perSample = checkedProduct(std::span(t.shape).subspan(1), uint64_t(4));
      if (!perSample || *perSample > region)
        fail(what + " is " + shapeText(t.shape) + ", over its " + std::to_string(region) +
             "-byte region");
      shapes.push_back(std::move(t));
      bytes.push_back(*perSample);
    }
  };
  for (size_t s = 0; s < bundle.stages.size(); ++s) {
    const fb::Stage &stage = *bundle.manifest->stages()->Get(s);
    std::string where = "stage " + std::to_string(s);
    StageSizes sizes;
    tensors(where + " input", bundle.stages[s].inputs, *stage.inputs(), sizes.inputs,
            sizes.inputBytes);
    tensors(where + " output", bundle.stages[s].outputs, *stage.outputs(), sizes.outputs,
            sizes.outputBytes);
    for (const fb::Dispatch *d : *stage.dispatches()) {
      std::array<uint32_t, 3> grid{d->grid()->Get(0), d->grid()->Get(1), d->grid()->Get(2)};
      std::optional<bool> runs = runsAt(*d, run.values);
      if (!runs)
        fail("layer '" + d->layer()->str() + "' has a size case that overflows at these sizes");
      sizes.runs.push_back(*runs);
      if (const auto *exprs = d->grid_sizes(); exprs && sizes.runs.back())
        for (size_t i = 0; i < 3; ++i) {
          const auto &code = *exprs->Get(i)->code();
          std::optional<int64_t> v =
              size_expr::evaluate(std::span(code.data(), code.size()), run.values);
          if (!v || *v < 0 || *v > UINT32_MAX)
            fail("layer '" + d->layer()->str() + "' has a grid " + "xyz"[i] + " of " +
                 (v ? std::to_string(*v) : "an overflow"));
          grid[i] = static_cast<uint32_t>(*v);
        }
      sizes.grids.push_back(grid);
    }
    run.stages.push_back(std::move(sizes));
  }
  return run;
}

std::vector<int64_t> Bundle::shapeAt(const TensorInfo &tensor, const SizeMap &sizes,
                                     int64_t batch) const {
  std::vector<int64_t> values = resolveSizes(*impl_, {}, {}, sizes);
  std::vector<int64_t> shape = tensor.shape;
  if (!shape.empty() && shape[0] < 0)
    shape[0] = batch;
  for (size_t d = 0; d < tensor.dimCode.size(); ++d)
    if (!tensor.dimCode[d].empty()) {
      std::optional<int64_t> v = size_expr::evaluate(tensor.dimCode[d], values);
      if (!v || *v < 1)
        throw Error(Error::Kind::Input, "tensor '" + tensor.name + "' dim " + std::to_string(d) +
                                            ", " + tensor.dimText[d] +
                                            ", has no valid value for these sizes");
      shape[d] = *v;
    }
  return shape;
}

} // namespace spire
