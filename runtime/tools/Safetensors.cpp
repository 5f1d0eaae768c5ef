#include "spire/tools/Safetensors.h"

#include "spire/Checked.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace spire::safetensors {

static std::string shapeStr(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string read(const std::string &path, std::vector<NamedTensor> &tensors) {
  // stdio, not a stream: reading a directory is an error (EISDIR) here,
  // where libstdc++'s stream throws.
  std::unique_ptr<FILE, int (*)(FILE *)> file(std::fopen(path.c_str(), "rb"), std::fclose);
  std::string bytes;
  char chunk[1 << 16];
  size_t got = 0;
  while (file && (got = std::fread(chunk, 1, sizeof(chunk), file.get())) > 0)
    bytes.append(chunk, got);
  if (!file || std::ferror(file.get()))
    return "cannot read: " + std::string(std::strerror(errno));
  return parse(bytes, tensors);
}

std::string parse(std::string_view bytes, std::vector<NamedTensor> &tensors) {
  tensors.clear();
  uint64_t headerSize = 0;
  if (bytes.size() < 8)
    return std::string("not a .safetensors file: " + std::to_string(bytes.size()) + " bytes");
  std::memcpy(&headerSize, bytes.data(), 8);
  if (headerSize > bytes.size() - 8)
    return std::string("truncated .safetensors file: the header says " + std::to_string(headerSize) +
                " bytes of JSON but the file has " + std::to_string(bytes.size() - 8));
  // The parsed object keeps one value per key; a repeated tensor name is
  // caught while parsing, before the second value replaces the first.
  std::set<std::string> names;
  std::string repeated;
  auto noteKey = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json &key) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key &&
        !names.insert(key.get<std::string>()).second && repeated.empty())
      repeated = key.get<std::string>();
    return true;
  };
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, headerSize), noteKey,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return std::string("the .safetensors header is not a JSON object");
  if (!repeated.empty())
    return std::string("tensor '" + repeated + "': named twice in the header");
  uint64_t dataSize = bytes.size() - 8 - headerSize;
  const char *data = bytes.data() + 8 + headerSize;

  std::vector<std::tuple<uint64_t, uint64_t, std::string>> extents; // non-empty [begin, end)
  for (auto &[name, info] : header.items()) {
    if (name == "__metadata__")
      continue;
    auto bad = [&](const std::string &why) { return std::string("tensor '" + name + "': " + why); };
    if (!info.is_object() || !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
      return bad("malformed entry (needs dtype, shape, data_offsets)");
    std::string dtype = info["dtype"];
    NamedTensor t{name, {}, {}};
    for (auto &d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        return bad("malformed shape");
      t.shape.push_back(d.get<int64_t>());
    }
    auto &offsets = info["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      return bad("malformed data_offsets");
    uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > dataSize)
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 ") outside the data (" + std::to_string(dataSize) + " bytes)");
    if (begin != end)
      extents.emplace_back(begin, end, name);
    bool counter = dtype == "I64" && std::string_view(name).ends_with("num_batches_tracked");
    if (dtype != "F32" && dtype != "F64" && !counter)
      return bad("dtype " + dtype + " is not supported (F32 or F64)");
    uint64_t elemSize = dtype == "F32" ? 4 : 8;
    std::optional<uint64_t> size = checkedProduct(t.shape, elemSize);
    if (!size)
      return bad(dtype + " " + shapeStr(t.shape) + " has more bytes than fit in 64 bits");
    if (end - begin != *size)
      return bad("holds " + std::to_string(end - begin) + " bytes but " + dtype + " " +
                 shapeStr(t.shape) + " needs " + std::to_string(*size));
    if (counter)
      continue;
    int64_t numel = *size / elemSize;
    t.data.resize(numel);
    if (dtype == "F32") {
      // An empty tensor's vector may have no storage, and memcpy to null is
      // undefined even for 0 bytes.
      if (numel > 0)
        std::memcpy(t.data.data(), data + begin, numel * 4);
    } else {
      for (int64_t i = 0; i < numel; ++i) {
        double d;
        std::memcpy(&d, data + begin + i * 8, 8);
        t.data[i] = static_cast<float>(d);
      }
    }
    tensors.push_back(std::move(t));
  }
  // The format leaves no byte of the data to no tensor or to two of them.
  std::sort(extents.begin(), extents.end());
  uint64_t covered = 0;
  std::string previous;
  for (const auto &[begin, end, name] : extents) {
    if (begin < covered)
      return std::string("tensor '" + name + "': data_offsets [" + std::to_string(begin) + ", " +
                  std::to_string(end) + ") overlap tensor '" + previous + "'");
    if (begin > covered)
      return std::string("tensor '" + name + "': data_offsets start at " + std::to_string(begin) +
                  " but the tensors before it end at " + std::to_string(covered) +
                  ": bytes [" + std::to_string(covered) + ", " + std::to_string(begin) +
                  ") belong to no tensor");
    covered = end;
    previous = name;
  }
  if (covered != dataSize)
    return std::string("data bytes [" + std::to_string(covered) + ", " + std::to_string(dataSize) + ")" +
                (previous.empty() ? "" : " after tensor '" + previous + "'") +
                " belong to no tensor");
  return "";
}

std::string write(const std::string &path, const std::vector<NamedTensor> &tensors) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const NamedTensor &t : tensors) {
    uint64_t size = t.data.size() * 4;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream os(path, std::ios::binary);
  uint64_t size = text.size();
  os.write(reinterpret_cast<const char *>(&size), 8);
  os << text;
  for (const NamedTensor &t : tensors)
    os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
  os.close();
  if (!os)
    return path + ": cannot write: " + std::strerror(errno);
  return "";
}

} // namespace spire::safetensors
