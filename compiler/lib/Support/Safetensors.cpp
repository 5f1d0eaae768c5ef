#include "spire/Support/Safetensors.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <nlohmann/json.hpp>

namespace spire {

static std::string shapeStr(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

llvm::Expected<std::vector<NamedTensor>> readSafetensors(const std::string &path) {
  auto fail = [&](const std::string &why) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), why);
  };
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!file)
    return fail("cannot read: " + file.getError().message());
  llvm::StringRef bytes = (*file)->getBuffer();
  uint64_t headerSize = 0;
  if (bytes.size() < 8)
    return fail("not a .safetensors file: " + std::to_string(bytes.size()) + " bytes");
  std::memcpy(&headerSize, bytes.data(), 8);
  if (headerSize > bytes.size() - 8)
    return fail("truncated .safetensors file: the header says " + std::to_string(headerSize) +
                " bytes of JSON but the file has " + std::to_string(bytes.size() - 8));
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, headerSize).str(), nullptr,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return fail("the .safetensors header is not a JSON object");
  uint64_t dataSize = bytes.size() - 8 - headerSize;
  const char *data = bytes.data() + 8 + headerSize;

  std::vector<NamedTensor> tensors;
  for (auto &[name, info] : header.items()) {
    if (name == "__metadata__")
      continue;
    auto bad = [&](const std::string &why) { return fail("tensor '" + name + "': " + why); };
    if (!info.is_object() || !info["dtype"].is_string() || !info["shape"].is_array() ||
        !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
      return bad("malformed entry (needs dtype, shape, data_offsets)");
    std::string dtype = info["dtype"];
    NamedTensor t{name, {}, {}};
    int64_t numel = 1;
    for (auto &d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() >= (int64_t(1) << 40))
        return bad("malformed shape");
      t.shape.push_back(d.get<int64_t>());
      numel *= t.shape.back();
    }
    auto &offsets = info["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      return bad("malformed data_offsets");
    uint64_t begin = offsets[0], end = offsets[1];
    if (begin > end || end > dataSize)
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                 ") outside the data (" + std::to_string(dataSize) + " bytes)");
    if (dtype == "I64" && llvm::StringRef(name).ends_with("num_batches_tracked"))
      continue;
    if (dtype != "F32" && dtype != "F64")
      return bad("dtype " + dtype + " is not supported (F32 or F64)");
    size_t elemSize = dtype == "F32" ? 4 : 8;
    if (end - begin != static_cast<uint64_t>(numel) * elemSize)
      return bad("holds " + std::to_string(end - begin) + " bytes but " + dtype + " " +
                 shapeStr(t.shape) + " needs " + std::to_string(numel * elemSize));
    t.data.resize(numel);
    if (dtype == "F32") {
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
  return tensors;
}

llvm::Error writeSafetensors(const std::string &path, const std::vector<NamedTensor> &tensors) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const NamedTensor &t : tensors) {
    uint64_t size = t.data.size() * 4;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError(ec, path + ": cannot write: " + ec.message());
  uint64_t size = text.size();
  os.write(reinterpret_cast<const char *>(&size), 8);
  os << text;
  for (const NamedTensor &t : tensors)
    os.write(reinterpret_cast<const char *>(t.data.data()), t.data.size() * 4);
  return llvm::Error::success();
}

} // namespace spire
