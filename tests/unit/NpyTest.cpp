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

// Format 1.0 (a 2-byte header length) or, for a longer dict, 2.0 (4 bytes).
std::string npyHeader(const std::string &dict) {
  bool v2 = dict.size() > 65000;
  size_t preamble = v2 ? 12 : 10;
  std::string header = dict;
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out(v2 ? "\x93NUMPY\x02\x00" : "\x93NUMPY\x01\x00", 8);
  for (size_t i = 0; i < preamble - 8; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header;
}

std::string f4Header(const std::string &shape) {
  return npyHeader("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }");
}

// readNpy's message for a file with this header and `dataBytes` zero bytes.
std::string npyErrorFor(const std::string &header, size_t dataBytes) {
  writeBytes(tempPath("case.npy"), header + std::string(dataBytes, '\0'));
  try {
    readNpy(tempPath("case.npy"));
  } catch (const Error &e) {
    CHECK(e.kind() == Error::Kind::Input);
    return e.what();
  }
  return "no error";
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
  CHECK_THROWS_WITH(readNpy(SPIRE_TEST_TMP_DIR),
                    std::string(SPIRE_TEST_TMP_DIR) + ": is a directory, not a .npy file");
}

TEST_CASE("npy_refuses_bad_shapes", "[npy]") {
  std::string path = tempPath("case.npy") + ": ";
  // (-1, 16) was once read as (1, 16).
  CHECK(npyErrorFor(f4Header("(-1, 16)"), 64) ==
        path + "dimension '-1' is not a non-negative integer");
  CHECK(npyErrorFor(f4Header("(2.5, 2)"), 20) ==
        path + "dimension '2.5' is not a non-negative integer");
  CHECK(npyErrorFor(f4Header("(n, 2)"), 8) == path + "dimension 'n' is not a non-negative integer");
  CHECK(npyErrorFor(f4Header("(99999999999999999999,)"), 0) ==
        path + "dimension 99999999999999999999 is too large");
  CHECK(npyErrorFor(f4Header("(4294967296, 4294967296)"), 0) ==
        path + "the shape [4294967296, 4294967296] has more elements than fit in 64 bits");
  CHECK(npyErrorFor(f4Header("(1099511627776, 1024)"), 16) ==
        path + "truncated data: the shape needs 4503599627370496 bytes, the file has 16");
  CHECK(npyErrorFor(f4Header("(2, 2)"), 20) ==
        path + "the shape needs 16 bytes of data but the file has 20 (trailing bytes)");
}

TEST_CASE("npy_refuses_malformed_headers", "[npy]") {
  std::string path = tempPath("case.npy") + ": ";
  CHECK(npyErrorFor(npyHeader("{'descr': '<f4', 'fortran_order': False}"), 0) ==
        path + "header has no 'shape'");
  CHECK(npyErrorFor(npyHeader("{'shape': (1,), 'shape': (1,)}"), 4) ==
        path + "malformed header: unexpected or repeated key 'shape' at offset 16");
  CHECK(npyErrorFor(npyHeader("{'descr': '<f4', 'shape': (1,), 'fortran_order': Maybe}"), 4) ==
        path + "malformed header: fortran_order is not True or False at offset 49");
  CHECK(npyErrorFor(npyHeader("{'descr': '<f4' 'shape': (1,)}"), 4) ==
        path + "malformed header: expected '}' at offset 16");
  CHECK(npyErrorFor(npyHeader("{'descr': '<f4', 'shape': (1,)} x"), 4) ==
        path + "malformed header: text after the dict at offset 32");
  // A header of about 1 MB once overflowed the stack in std::regex; now it
  // is read like any other: 250000 dimensions of 1, one float.
  std::string ones;
  for (int i = 0; i < 250000; ++i)
    ones += "1, ";
  writeBytes(tempPath("long.npy"), f4Header("(" + ones + ")") + std::string("\0\0\x80\x3f", 4));
  Tensor t = readNpy(tempPath("long.npy"));
  CHECK(t.shape == std::vector<int64_t>(250000, 1));
  CHECK(t.data == std::vector<float>{1.0f});
  CHECK(npyErrorFor(f4Header("(" + ones + "-1)"), 4) ==
        path + "dimension '-1' is not a non-negative integer");
}
