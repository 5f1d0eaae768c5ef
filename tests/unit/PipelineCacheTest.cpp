// The on-disk pipeline cache on the default device (lavapipe in CI),
// validation layer on: a second load is warm, a damaged or foreign file is
// ignored (and replaced), and "off" writes nothing.
#include "TestSupport.h"

#include "PipelineCache.h"
#include "spire/Runtime.h"

#include <catch2/catch.hpp>

#include <atomic>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

using namespace spire;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory for one test.
std::string freshDir(const std::string &name) {
  fs::path dir = fs::path(SPIRE_TEST_TMP_DIR) / "pipeline-cache-tests" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::vector<uint8_t> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void writeFile(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
}

Tensor image() {
  Tensor t{{1, 3, 32, 32}, {}};
  t.data.resize(t.numel());
  for (size_t i = 0; i < t.data.size(); ++i)
    t.data[i] = static_cast<float>(static_cast<int>(i % 17) - 8) / 8.0f;
  return t;
}

ContextOptions withCache(const std::string &cache) {
  ContextOptions options;
  options.validation = true;
  options.pipelineCache = cache;
  return options;
}

// Sets an environment variable for one scope, then puts it back.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const char *value) : name(std::move(n)) {
    if (const char *v = std::getenv(name.c_str()))
      old = v;
    if (value)
      setenv(name.c_str(), value, 1);
    else
      unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (old)
      setenv(name.c_str(), old->c_str(), 1);
    else
      unsetenv(name.c_str());
  }
};

} // namespace

TEST_CASE("pipeline_cache_warm_load_uses_the_file", "[pipeline-cache]") {
  std::string dir = freshDir("warm");
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  TensorMap inputs{{"image", image()}};
  TensorMap cold, warm;
  std::string file;
  {
    Context context(withCache(dir));
    Model model(context, bundle, context.defaultDevice());
    CHECK_FALSE(model.pipelineCacheWarm());
    file = model.pipelineCacheFile();
    REQUIRE(fs::path(file).parent_path() == fs::path(dir));
    REQUIRE(fs::is_regular_file(file));
    cold = model.run(inputs);
  }
  // A new instance, as a new process would make: it reads the file.
  Context context(withCache(dir));
  Model model(context, bundle, context.defaultDevice());
  CHECK(model.pipelineCacheWarm());
  CHECK(model.pipelineCacheFile() == file);
  warm = model.run(inputs);
  CHECK(warm.at("fc2").data == cold.at("fc2").data);
  // One file for the bundle and device, and no temporary left behind.
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  CHECK(context.validationMessages().empty());
}

TEST_CASE("pipeline_cache_ignores_a_damaged_or_foreign_file", "[pipeline-cache]") {
  std::string dir = freshDir("damaged");
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  Context context(withCache(dir));
  std::string file = Model(context, bundle, context.defaultDevice()).pipelineCacheFile();
  const std::vector<uint8_t> good = readFile(file);
  // Spire's 24-byte header, then the driver's VkPipelineCacheHeaderVersionOne.
  REQUIRE(good.size() >= 24 + sizeof(VkPipelineCacheHeaderVersionOne));

  std::vector<uint8_t> truncated(good.begin(), good.begin() + good.size() / 2);
  std::vector<uint8_t> flipped = good;
  flipped.back() ^= 0x5a;
  std::vector<uint8_t> garbage(good.size(), 0xcd);
  // Whole and checksummed, but made by another device: the header check
  // behind Spire's own must refuse it before the driver sees it.
  std::vector<uint8_t> foreign = good;
  foreign[24 + 16] ^= 0xff; // first byte of pipelineCacheUUID
  uint64_t sum = bundle::fnv1a(foreign.data() + 24, foreign.size() - 24);
  std::memcpy(foreign.data() + 16, &sum, sizeof(sum));

  for (auto [what, bytes] : {std::pair{"truncated", truncated}, std::pair{"flipped", flipped},
                             std::pair{"garbage", garbage}, std::pair{"empty", std::vector<uint8_t>{}},
                             std::pair{"foreign", foreign}}) {
    INFO(what);
    writeFile(file, bytes);
    Model model(context, bundle, context.defaultDevice());
    CHECK_FALSE(model.pipelineCacheWarm());
    CHECK(model.run({{"image", image()}}).at("fc2").data.size() == 10);
    // The load replaced the bad file with a good one.
    CHECK(Model(context, bundle, context.defaultDevice()).pipelineCacheWarm());
  }
  CHECK(context.validationMessages().empty());
}

TEST_CASE("pipeline_cache_concurrent_loads_leave_one_valid_file", "[pipeline-cache]") {
  // Loads in several threads, each with its own instance as separate
  // processes would have, all write the same file: each through its own
  // temporary and a rename, so the file is always whole and none is left.
  std::string dir = freshDir("concurrent");
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  std::vector<std::thread> threads;
  std::atomic<int> loaded{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        Context context(withCache(dir));
        Model model(context, bundle, context.defaultDevice());
        ++loaded;
      } catch (const std::exception &) {
      }
    });
  for (std::thread &t : threads)
    t.join();
  CHECK(loaded == 4);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  Context context(withCache(dir));
  CHECK(Model(context, bundle, context.defaultDevice()).pipelineCacheWarm());
}

TEST_CASE("pipeline_cache_off_writes_nothing", "[pipeline-cache]") {
  std::string dir = freshDir("off");
  Bundle bundle = Bundle::fromFile(test::smallCnnBundle());
  {
    Context context(withCache("off"));
    Model model(context, bundle, context.defaultDevice());
    CHECK(model.pipelineCacheFile().empty());
    CHECK_FALSE(model.pipelineCacheWarm());
  }
  {
    // The environment's "off" when the option says nothing.
    ScopedEnv env("SPIRE_PIPELINE_CACHE", "off");
    Context context(withCache(""));
    CHECK(Model(context, bundle, context.defaultDevice()).pipelineCacheFile().empty());
  }
  // A directory that cannot be made (under a file) costs the cache, not the load.
  writeFile(dir + "/file", {1, 2, 3});
  Context context(withCache(dir + "/file/cache"));
  Model model(context, bundle, context.defaultDevice());
  CHECK_FALSE(model.pipelineCacheWarm());
  CHECK(model.run({{"image", image()}}).at("fc2").data.size() == 10);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
}

TEST_CASE("pipeline_cache_directory_follows_option_env_and_xdg", "[pipeline-cache]") {
  ScopedEnv spire("SPIRE_PIPELINE_CACHE", nullptr);
  ScopedEnv xdg("XDG_CACHE_HOME", "/x/cache");
  ScopedEnv home("HOME", "/home/u");
  CHECK(pipelineCacheDir("/opt/pc") == "/opt/pc");
  CHECK(pipelineCacheDir("off").empty());
  CHECK(pipelineCacheDir("") == "/x/cache/spire");
  {
    ScopedEnv relative("XDG_CACHE_HOME", "relative"); // invalid under XDG: ignored
    CHECK(pipelineCacheDir("") == "/home/u/.cache/spire");
  }
  {
    ScopedEnv env("SPIRE_PIPELINE_CACHE", "/tmp/pc");
    CHECK(pipelineCacheDir("") == "/tmp/pc");
    CHECK(pipelineCacheDir("/opt/pc") == "/opt/pc"); // the option wins
  }
}
