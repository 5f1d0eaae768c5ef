// Classifies an image with a compiled Spire bundle: the runtime API in ~50
// lines. Usage: spire-example-classify model.spire [image.npy]
#include "spire/Npy.h"
#include "spire/Runtime.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s model.spire [image.npy]\n", argv[0]);
    return 2;
  }
  try {
    spire::Bundle bundle = spire::Bundle::fromFile(argv[1]);
    spire::Context context;
    spire::Model model(context, bundle, context.defaultDevice());

    const spire::TensorInfo &input = bundle.inputs().at(0);
    spire::Tensor image;
    if (argc == 3) {
      image = spire::readNpy(argv[2]);
    } else {
      // A deterministic stand-in image: a smooth gradient.
      image.shape = input.shape;
      image.shape[0] = 1;
      image.data.resize(image.numel());
      for (size_t i = 0; i < image.data.size(); ++i)
        image.data[i] = static_cast<float>(i % 97) / 97.0f - 0.5f;
    }

    spire::TensorMap outputs = model.run({{input.name, image}});
    const spire::Tensor &scores = outputs.at(bundle.outputs().at(0).name);
    size_t classes = scores.shape.back();
    std::vector<size_t> order(classes);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + std::min<size_t>(3, classes), order.end(),
                      [&](size_t a, size_t b) { return scores.data[a] > scores.data[b]; });
    std::printf("%s on %s: top classes", bundle.name().c_str(), model.device().name.c_str());
    for (size_t i = 0; i < std::min<size_t>(3, classes); ++i)
      std::printf("  #%zu (%.4f)", order[i], scores.data[order[i]]);
    std::printf("\n");
  } catch (const spire::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.kind() == spire::Error::Kind::Device ? 3 : 1;
  }
  return 0;
}
