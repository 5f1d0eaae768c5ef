// NumPy .npy reading and writing (little-endian float32, C order).
#include "spire/Npy.h"

#include "Internal.h"
#include "spire/Checked.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>

namespace spire {

static Error npyError(const std::string &path, const std::string &why) {
  return Error(Error::Kind::Input, path + ": " + why);
}

namespace {

struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

// The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// read by one left-to-right scan (no regex: its recursion overflows the
// stack on a long header). Like NumPy, it takes exactly these three keys.
NpyHeader parseHeader(const std::string &path, std::string_view text) {
  size_t at = 0;
  auto skipSpace = [&] {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n'))
      ++at;
  };
  auto bad = [&](const std::string &what) -> Error {
    return npyError(path, "malformed header: " + what + " at offset " + std::to_string(at));
  };
  auto expect = [&](char c) {
    skipSpace();
    if (at >= text.size() || text[at] != c)
      throw bad(std::string("expected '") + c + "'");
    ++at;
  };
  auto next = [&](char c) { // skips spaces; consumes `c` if it comes next
    skipSpace();
    bool found = at < text.size() && text[at] == c;
    at += found;
    return found;
  };
  auto quoted = [&] {
    skipSpace();
    char quote = at < text.size() ? text[at] : 0;
    if (quote != '\'' && quote != '"')
      throw bad("expected a quoted string");
    size_t end = text.find(quote, at + 1);
    if (end == std::string_view::npos)
      throw bad("unterminated string");
    std::string s(text.substr(at + 1, end - at - 1));
    at = end + 1;
    return s;
  };
  auto dim = [&] {
    skipSpace();
    size_t begin = at;
    std::optional<int64_t> v = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (v)
        v = checkedMul(*v, int64_t(10));
      if (v)
        v = checkedAdd(*v, int64_t(text[at] - '0'));
      ++at;
    }
    if (at < text.size() && text[at] == 'L') // Python 2's long literal
      ++at;
    size_t end = at;
    skipSpace();
    if (begin == end || (at < text.size() && text[at] != ',' && text[at] != ')')) {
      size_t stop = text.find_first_of(",)", begin);
      std::string token(text.substr(begin, stop == std::string_view::npos ? 20 : stop - begin));
      throw npyError(path, "dimension '" + token + "' is not a non-negative integer");
    }
    if (!v)
      throw npyError(path, "dimension " + std::string(text.substr(begin, end - begin)) +
                               " is too large");
    return *v;
  };

  NpyHeader h;
  bool seen[3] = {false, false, false};
  expect('{');
  while (!next('}')) {
    skipSpace();
    size_t keyAt = at;
    std::string key = quoted();
    expect(':');
    if (key == "descr" && !seen[0]) {
      h.descr = quoted();
      seen[0] = true;
    } else if (key == "fortran_order" && !seen[1]) {
      skipSpace();
      if (text.substr(at, 4) == "True" || text.substr(at, 5) == "False")
        h.fortranOrder = text[at] == 'T';
      else
        throw bad("fortran_order is not True or False");
      at += h.fortranOrder ? 4 : 5;
      seen[1] = true;
    } else if (key == "shape" && !seen[2]) {
      expect('(');
      while (!next(')')) {
        h.shape.push_back(dim());
        if (!next(',')) {
          expect(')');
          break;
        }
      }
      seen[2] = true;
    } else {
      at = keyAt;
      throw bad("unexpected or repeated key '" + key + "'");
    }
    if (!next(',')) {
      expect('}');
      break;
    }
  }
  skipSpace();
  if (at != text.size())
    throw bad("text after the dict");
  if (!seen[0])
    throw npyError(path, "header has no 'descr'");
  if (!seen[2])
    throw npyError(path, "header has no 'shape'");
  return h;
}

} // namespace

Tensor readNpy(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw npyError(path, "cannot open the file");
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw npyError(path, "is a directory, not a .npy file");
  return readNpy(file, path);
}

Tensor readNpy(std::istream &file, const std::string &path) {
  char magic[8];
  if (!file.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw npyError(path, "not a .npy file (bad magic)");
  uint8_t major = static_cast<uint8_t>(magic[6]);
  uint32_t headerLen = 0;
  if (major == 1) {
    uint8_t len[2];
    if (!file.read(reinterpret_cast<char *>(len), 2))
      throw npyError(path, "truncated header");
    headerLen = len[0] | (len[1] << 8);
  } else if (major == 2 || major == 3) {
    uint8_t len[4];
    if (!file.read(reinterpret_cast<char *>(len), 4))
      throw npyError(path, "truncated header");
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<uint32_t>(len[3]) << 24);
  } else {
    throw npyError(path, "unsupported .npy version " + std::to_string(major));
  }
  if (headerLen > (1u << 20))
    throw npyError(path, "header too large");
  std::string header(headerLen, '\0');
  if (!file.read(header.data(), headerLen))
    throw npyError(path, "truncated header");

  NpyHeader parsed = parseHeader(path, header);
  const std::string &descr = parsed.descr;
  if (descr != "<f4" && descr != "=f4" && descr != "|f4")
    throw npyError(path, "dtype '" + descr + "' is not supported; save the array as float32 "
                         "(np.float32, '<f4')");
  if (parsed.fortranOrder)
    throw npyError(path, "Fortran-ordered arrays are not supported; save a C-ordered array "
                         "(np.ascontiguousarray)");
  Tensor t{std::move(parsed.shape), {}};
  std::optional<int64_t> bytes = checkedProduct(t.shape, int64_t(4));
  if (!bytes)
    throw npyError(path, "the shape " + shapeText(t.shape) + " has more elements than fit in 64 bits");
  // The data must fill the rest of the file exactly; checked before any
  // allocation, so a small file cannot ask for a huge one.
  std::streamoff at = file.tellg();
  file.seekg(0, std::ios::end);
  std::streamoff left = file.tellg() - at;
  file.seekg(at);
  if (left < *bytes)
    throw npyError(path, "truncated data: the shape needs " + std::to_string(*bytes) +
                             " bytes, the file has " + std::to_string(left));
  if (left > *bytes)
    throw npyError(path, "the shape needs " + std::to_string(*bytes) + " bytes of data but the "
                         "file has " + std::to_string(left) + " (trailing bytes)");
  t.data.resize(*bytes / 4);
  if (*bytes > 0 && !file.read(reinterpret_cast<char *>(t.data.data()), *bytes))
    throw npyError(path, "cannot read the data");
  return t;
}

void writeNpy(const std::string &path, const Tensor &tensor) {
  std::string shape = "(";
  for (int64_t d : tensor.shape)
    shape += std::to_string(d) + ", ";
  if (tensor.shape.size() > 1)
    shape.erase(shape.size() - 2); // (3,) keeps its comma; (2, 3) does not
  else if (tensor.shape.size() == 1)
    shape.pop_back();
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n', padded to 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream file(path, std::ios::binary);
  if (!file)
    throw Error(Error::Kind::Input, path + ": cannot write the file");
  uint16_t len = static_cast<uint16_t>(header.size());
  file.write("\x93NUMPY\x01\x00", 8);
  file.put(static_cast<char>(len & 0xff));
  file.put(static_cast<char>(len >> 8));
  file << header;
  file.write(reinterpret_cast<const char *>(tensor.data.data()), tensor.data.size() * 4);
  if (!file)
    throw Error(Error::Kind::Input, path + ": cannot write the file");
}

} // namespace spire
