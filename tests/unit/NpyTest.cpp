#include "spire/Npy.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

using namespace spire;

namespace {
std::string tempPath(const char *name) { return std::string(SPIRE_TEST_TMP_DIR) + "/" + name; }

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string npyHeader(const std::string &dict) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header;
}
} // namespace

TEST_CASE("npy_round_trip", "[npy]") {
  for (std::vector<int64_t> shape : {std::vector<int64_t>{2, 3, 4}, {5}, {1, 1}}) {
    Tensor t{shape, {}};
    t.data.resize(t.numel());
    for (size_t i = 0; i < t.data.size(); ++i)
      t.data[i] = 0.25f * static_cast<float>(i) - 1.0f;
    writeNpy(tempPath("round.npy"), t);
    Tensor back = readNpy(tempPath("round.npy"));
    CHECK(back.shape == t.shape);
    CHECK(back.data == t.data);
  }
}

TEST_CASE("npy_reads_numpy_headers", "[npy]") {
  float values[3] = {1.5f, -2.0f, 3.25f};
  writeBytes(tempPath("np.npy"), npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") +
                                     std::string(reinterpret_cast<char *>(values), 12));
  Tensor t = readNpy(tempPath("np.npy"));
  CHECK(t.shape == std::vector<int64_t>{3});
  CHECK(t.data == std::vector<float>{1.5f, -2.0f, 3.25f});
}

TEST_CASE("npy_refuses_bad_files", "[npy]") {
  writeBytes(tempPath("bad.npy"), "not numpy at all");
  CHECK_THROWS_WITH(readNpy(tempPath("bad.npy")), Catch::Contains("not a .npy file (bad magic)"));
  writeBytes(tempPath("f8.npy"), npyHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }") +
                                     std::string(16, '\0'));
  CHECK_THROWS_WITH(readNpy(tempPath("f8.npy")), Catch::Contains("dtype '<f8' is not supported"));
  writeBytes(tempPath("fortran.npy"),
             npyHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") + std::string(16, '\0'));
  CHECK_THROWS_WITH(readNpy(tempPath("fortran.npy")), Catch::Contains("Fortran-ordered"));
  writeBytes(tempPath("short.npy"),
             npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }") + std::string(8, '\0'));
  CHECK_THROWS_WITH(readNpy(tempPath("short.npy")), Catch::Contains("truncated data: the shape needs 64 bytes"));
  CHECK_THROWS_WITH(readNpy(tempPath("missing.npy")), Catch::Contains("cannot open the file"));
}
