// The .safetensors reader on inputs the fuzz harness (tests/fuzz) found or
// that guard what it checks. Run under scripts/sanitize.sh, these catch
// undefined behaviour that a Release build lets pass silently.
#include "spire/Support/Safetensors.h"

#include <catch2/catch.hpp>

#include <cstring>

using namespace spire;

namespace {

// A file: the 8-byte header length, the JSON header, then `data`.
std::string safetensorsFile(const std::string &json, const std::string &data = "") {
  uint64_t size = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &size, 8);
  return out + json + data;
}

std::string errorOf(const std::string &bytes) {
  auto tensors = parseSafetensors(bytes);
  if (tensors)
    return "";
  return llvm::toString(tensors.takeError());
}

} // namespace

TEST_CASE("an empty F32 tensor reads as an empty tensor", "[safetensors]") {
  // Found by spire-fuzz-safetensors: memcpy into an empty vector's null
  // data pointer (UBSan: null passed as a nonnull argument).
  auto tensors = parseSafetensors(safetensorsFile(
      R"({"empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]}})"));
  REQUIRE(bool(tensors));
  REQUIRE(tensors->size() == 1);
  CHECK((*tensors)[0].shape == std::vector<int64_t>{0, 3});
  CHECK((*tensors)[0].data.empty());
}

TEST_CASE("safetensors from bytes refuses what the file reader refuses", "[safetensors]") {
  CHECK(errorOf("short") == "not a .safetensors file: 5 bytes");
  CHECK(errorOf(safetensorsFile("[1]")) == "the .safetensors header is not a JSON object");
  CHECK(errorOf(safetensorsFile(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})",
                            std::string(4, '\0'))) ==
        "tensor 'x': holds 4 bytes but F32 [2] needs 8");
}
