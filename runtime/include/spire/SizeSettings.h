// `--set SYMBOL=SIZE`: a value for a size symbol, read the same way by the
// compiler's commands (and its Python API) and by `spire run` and `bench`.
// Header-only, shared by compiler and runtime.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spire {

// Adds each `SYMBOL=SIZE` of `sets` to `sizes`, SIZE a whole decimal number
// from 1 up (no sign, no prefix); returns the error message for the first
// malformed one.
inline std::optional<std::string> parseSizeSettings(const std::vector<std::string> &sets,
                                                    std::map<std::string, int64_t> &sizes) {
  for (const std::string &set : sets) {
    size_t eq = set.find('=');
    const char *end = set.data() + set.size();
    const char *digits = eq == std::string::npos ? end : set.data() + eq + 1;
    int64_t value = 0;
    auto [stop, ec] = std::from_chars(digits, end, value);
    if (eq == 0 || digits == end || ec != std::errc() || stop != end || value < 1)
      return "--set expects SYMBOL=SIZE with SIZE >= 1, got '" + set + "'";
    sizes[set.substr(0, eq)] = value;
  }
  return std::nullopt;
}

} // namespace spire
