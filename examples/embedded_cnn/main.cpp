// Classifies a 32x32 image with the small CNN embedded at build time.
// Usage: spire-example-embedded-cnn [image.npy]   ([1, 3, 32, 32] float32)
#include "small_cnn_model.h"

#include "spire/Npy.h"

#include <algorithm>
#include <cstdio>

int main(int argc, char **argv) {
  try {
    spire::Tensor image;
    if (argc > 1) {
      image = spire::readNpy(argv[1]);
    } else {
      // A deterministic stand-in: a diagonal gradient.
      image.shape = {1, 3, 32, 32};
      image.data.resize(image.numel());
      for (size_t i = 0; i < image.data.size(); ++i)
        image.data[i] = static_cast<float>((i % 32) + (i / 32) % 32) / 62.0f - 0.5f;
    }
    spire::Context context;
    small_cnn::Model model(context); // pipelines and weights are set up here
    spire::Tensor scores = model.run(image).at(small_cnn::kFc2);
    auto best = std::max_element(scores.data.begin(), scores.data.end());
    std::printf("%s (%s): class %ld of %ld, score %.5f\n", small_cnn::kModelName,
                model.runtime().device().name.c_str(), static_cast<long>(best - scores.data.begin()),
                static_cast<long>(small_cnn::kFc2Shape[1]), *best);
  } catch (const spire::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
