#include "Params.h"

#include "spire/Limits.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringExtras.h"

#include <charconv>
#include <cstdlib>

namespace spire {

std::optional<int64_t> scalarToInt(const SpecNode &node) {
  if (!node.isScalar() || node.quoted || node.scalar.empty())
    return std::nullopt;
  const std::string &s = node.scalar;
  int64_t value = 0;
  const char *begin = s.data() + (s[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size())
    return std::nullopt;
  return value;
}

void Params::error(const SpecNode *at, const llvm::Twine &message) {
  failed_ = true;
  mlir::emitError(loc_(at ? at->loc : node_ ? node_->loc : SourceLoc{}))
      << what_ << ": " << message;
}

const SpecNode *Params::substitute(const SpecNode *value) const {
  if (!value || !value->isScalar() || value->quoted || value->scalar.size() < 2 ||
      value->scalar[0] != '$')
    return value;
  std::string name = value->scalar.substr(1);
  if (env_) {
    auto it = env_->find(name);
    if (it != env_->end())
      return it->second;
  }
  return nullptr;
}

bool Params::has(llvm::StringRef key) const {
  return node_ && node_->isMap() && node_->get(key.str());
}

const SpecNode *Params::get(llvm::StringRef key) const {
  if (!node_ || !node_->isMap())
    return nullptr;
  const SpecNode *raw = node_->get(key.str());
  const SpecNode *value = substitute(raw);
  if (raw && !value) {
    // An unknown $param: report it at its use and treat the key as absent.
    const_cast<Params *>(this)->error(raw, "'" + raw->scalar + "' is not a parameter of the enclosing block");
  }
  return value;
}

mlir::Location Params::locOf(llvm::StringRef key) const {
  const SpecNode *raw = node_ && node_->isMap() ? node_->get(key.str()) : nullptr;
  return loc_(raw ? raw->loc : node_ ? node_->loc : SourceLoc{});
}

std::optional<int64_t> Params::parseInt(const SpecNode *value, llvm::StringRef key) {
  if (auto v = scalarToInt(*value)) {
    // Layer arithmetic on values below 2^31 stays far from int64 overflow.
    if (*v > kMaxDim || *v < -kMaxDim) {
      error(value, "'" + key + "' is " + value->scalar + "; integers must be in (-2^31, 2^31)");
      return std::nullopt;
    }
    return v;
  }
  error(value, "'" + key + "' must be an integer, got " +
                   (value->isScalar() ? "'" + value->scalar + "'" : value->kindName()));
  return std::nullopt;
}

std::optional<int64_t> Params::getInt(llvm::StringRef key) {
  const SpecNode *value = get(key);
  if (!value || value->isNull())
    return std::nullopt;
  return parseInt(value, key);
}

int64_t Params::getInt(llvm::StringRef key, int64_t fallback) {
  return getInt(key).value_or(fallback);
}

int64_t Params::requireInt(llvm::StringRef key) {
  if (!get(key)) {
    if (!failed_)
      error(node_, "missing required key '" + key + "'");
    return 1;
  }
  return getInt(key).value_or(1);
}

std::optional<double> Params::parseFloat(const SpecNode *value, llvm::StringRef key) {
  if (value->isScalar() && !value->quoted) {
    char *end = nullptr;
    double d = std::strtod(value->scalar.c_str(), &end);
    if (!value->scalar.empty() && end == value->scalar.c_str() + value->scalar.size())
      return d;
  }
  error(value, "'" + key + "' must be a number, got " +
                   (value->isScalar() ? "'" + value->scalar + "'" : value->kindName()));
  return std::nullopt;
}

double Params::getFloat(llvm::StringRef key, double fallback) {
  const SpecNode *value = get(key);
  if (!value || value->isNull())
    return fallback;
  return parseFloat(value, key).value_or(fallback);
}

bool Params::getBool(llvm::StringRef key, bool fallback) {
  const SpecNode *value = get(key);
  if (!value || value->isNull())
    return fallback;
  if (value->isScalar() && !value->quoted) {
    if (value->scalar == "true")
      return true;
    if (value->scalar == "false")
      return false;
  }
  error(value, "'" + key + "' must be true or false, got " +
                   (value->isScalar() ? "'" + value->scalar + "'" : value->kindName()));
  return fallback;
}

template <typename T>
llvm::SmallVector<T> Params::getOneOrList(llvm::StringRef key, size_t n, T fallback,
                                          Parser<T> parse, llvm::StringRef one,
                                          llvm::StringRef many) {
  llvm::SmallVector<T> out(n, fallback);
  const SpecNode *value = get(key);
  if (!value || value->isNull())
    return out;
  if (value->isScalar()) {
    if (auto v = (this->*parse)(value, key))
      out.assign(n, *v);
    return out;
  }
  if (value->isList() && value->items.size() == n) {
    for (size_t i = 0; i < n; ++i)
      if (auto v = (this->*parse)(substitute(&value->items[i]) ?: &value->items[i], key))
        out[i] = *v;
    return out;
  }
  error(value, "'" + key + "' must be " + one + " or a list of " + std::to_string(n) + " " +
                   many + ", got " + value->kindName() +
                   (value->isList() ? " of " + std::to_string(value->items.size()) : ""));
  return out;
}

llvm::SmallVector<int64_t> Params::getInts(llvm::StringRef key, size_t n, int64_t fallback) {
  return getOneOrList<int64_t>(key, n, fallback, &Params::parseInt, "an integer", "integers");
}

llvm::SmallVector<double> Params::getFloats(llvm::StringRef key, size_t n, double fallback) {
  return getOneOrList<double>(key, n, fallback, &Params::parseFloat, "a number", "numbers");
}

std::optional<llvm::SmallVector<int64_t>> Params::getIntList(llvm::StringRef key) {
  const SpecNode *value = get(key);
  if (!value)
    return std::nullopt;
  if (!value->isList()) {
    error(value, "'" + key + "' must be a list of integers, got " + value->kindName());
    return std::nullopt;
  }
  llvm::SmallVector<int64_t> out;
  for (const SpecNode &item : value->items)
    out.push_back(parseInt(substitute(&item) ?: &item, key).value_or(1));
  return out;
}

std::optional<std::string> Params::getString(llvm::StringRef key) {
  const SpecNode *value = get(key);
  if (!value)
    return std::nullopt;
  if (!value->isScalar()) {
    error(value, "'" + key + "' must be a name, got " + value->kindName());
    return std::nullopt;
  }
  return value->scalar;
}

std::string Params::getChoice(llvm::StringRef key, llvm::ArrayRef<llvm::StringRef> choices) {
  std::optional<std::string> value = getString(key);
  if (!value)
    return choices.front().str();
  if (!llvm::is_contained(choices, *value))
    error(get(key), "'" + key + "' must be one of " + llvm::join(choices, ", ") + ", got '" +
                        *value + "'");
  return *value;
}

llvm::SmallVector<std::pair<std::string, SourceLoc>> Params::getNames(llvm::StringRef key) {
  llvm::SmallVector<std::pair<std::string, SourceLoc>> out;
  const SpecNode *value = get(key);
  if (!value)
    return out;
  if (value->isScalar()) {
    out.push_back({value->scalar, value->loc});
    return out;
  }
  if (value->isList()) {
    for (const SpecNode &item : value->items) {
      if (!item.isScalar())
        error(&item, "'" + key + "' must list tensor names, got " + item.kindName());
      else
        out.push_back({item.scalar, item.loc});
    }
    return out;
  }
  error(value, "'" + key + "' must be a tensor name or a list of names, got " +
                   value->kindName());
  return out;
}

} // namespace spire
