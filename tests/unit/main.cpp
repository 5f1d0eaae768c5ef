#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char **argv) {
  // Runs outside ctest (which sets its own) must not fill the user's
  // pipeline cache either.
  setenv("SPIRE_PIPELINE_CACHE", SPIRE_TEST_TMP_DIR "/pipeline-cache", /*overwrite=*/0);
  return Catch::Session().run(argc, argv);
}
