// NumPy .npy reading and writing (little-endian float32, C order).
#include "spire/Npy.h"

#include <cstring>
#include <fstream>
#include <regex>

namespace spire {

static Error npyError(const std::string &path, const std::string &why) {
  return Error(Error::Kind::Input, path + ": " + why);
}

Tensor readNpy(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw npyError(path, "cannot open the file");
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

  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    throw npyError(path, "header has no 'descr'");
  std::string descr = match[1];
  if (descr != "<f4" && descr != "=f4" && descr != "|f4")
    throw npyError(path, "dtype '" + descr + "' is not supported; save the array as float32 "
                         "(np.float32, '<f4')");
  if (std::regex_search(header, std::regex("'fortran_order'\\s*:\\s*True")))
    throw npyError(path, "Fortran-ordered arrays are not supported; save a C-ordered array "
                         "(np.ascontiguousarray)");
  if (!std::regex_search(header, match, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw npyError(path, "header has no 'shape'");
  Tensor t;
  std::string dims = match[1];
  std::regex number("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number);
       it != std::sregex_iterator(); ++it) {
    int64_t d = std::stoll(it->str());
    if (d > (int64_t(1) << 40))
      throw npyError(path, "dimension " + it->str() + " is too large");
    t.shape.push_back(d);
  }
  int64_t n = t.numel();
  if (n > (int64_t(1) << 34))
    throw npyError(path, "the array is too large");
  t.data.resize(n);
  if (n > 0 && !file.read(reinterpret_cast<char *>(t.data.data()), n * 4))
    throw npyError(path, "truncated data: the shape needs " + std::to_string(n * 4) + " bytes");
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
