// One embedded bundle for every length L of conv1d_sequence's `sizes` range:
// the generated header's size constants, an input made at each length, the
// length the run inferred from it. A length outside the range is refused.
// Usage: spire-example-any-size [L...]   (default: the smallest, 128, the largest)
#include "conv1d_sequence_model.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace seq = conv1d_sequence;

// The range is known at compile time.
static_assert(seq::kSizes.size() == 1 && seq::kSizeL.contains(128) && !seq::kSizeL.contains(4097));

int main(int argc, char **argv) {
  std::vector<int64_t> lengths;
  for (int i = 1; i < argc; ++i)
    lengths.push_back(std::atoll(argv[i]));
  if (lengths.empty())
    lengths = {seq::kSizeL.min, 128, seq::kSizeL.max};
  try {
    spire::Context context;
    seq::Model model(context); // pipelines for a new L are made at its first run
    std::printf("%s: %s in [%lld, %lld]\n", seq::kModelName, seq::kSizeL.name,
                static_cast<long long>(seq::kSizeL.min), static_cast<long long>(seq::kSizeL.max));
    for (int64_t length : lengths) {
      spire::Tensor signal;
      signal.shape = model.shape(seq::kSignal, {{seq::kSizeL.name, length}});
      signal.data.resize(signal.numel());
      for (size_t i = 0; i < signal.data.size(); ++i)
        signal.data[i] = std::sin(0.01f * static_cast<float>(i));
      spire::Tensor fc = model.run(signal).at(seq::kFc);
      int64_t inferred = model.runtime().lastSizes().at(seq::kSizeL.name);
      std::printf("L = %lld: fc [%lld, %lld], fc[0] %.5f, run at L = %lld\n",
                  static_cast<long long>(length), static_cast<long long>(fc.shape[0]),
                  static_cast<long long>(fc.shape[1]), fc.data[0], static_cast<long long>(inferred));
      if (inferred != length)
        return 1;
    }
  } catch (const spire::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
