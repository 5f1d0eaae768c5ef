// Runs ResNet-18 in two halves with a checkpoint between them, and checks
// the result against the whole model. Usage: spire-example-split-resnet18 DIR
#include "resnet18_model.h"

#include "spire/Npy.h"

#include <cstdio>
#include <filesystem>

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "resnet18_checkpoint";
  try {
    std::filesystem::create_directories(dir);
    spire::Tensor image{{1, 3, 224, 224}, {}};
    image.data.resize(image.numel());
    for (size_t i = 0; i < image.data.size(); ++i)
      image.data[i] = static_cast<float>(i % 251) / 125.0f - 1.0f;

    spire::Context context;
    resnet18::Model model(context);
    // Stage 0, then save its interface: every tensor crossing the cut.
    spire::TensorMap cut = model.runStages(0, 0, {{resnet18::kImage, image}});
    for (const auto &[name, tensor] : cut)
      spire::writeNpy(dir + "/" + name + ".npy", tensor);
    std::printf("stage 0 saved %zu tensor(s) to %s\n", cut.size(), dir.c_str());

    // Later: resume stages 1..2 from the files.
    spire::TensorMap resumed;
    for (const spire::TensorInfo &t : model.runtime().bundle().stages()[1].inputs)
      resumed[t.name] = spire::readNpy(dir + "/" + t.name + ".npy");
    spire::Tensor split = model.runStages(1, resnet18::kStageCount - 1, resumed).at(resnet18::kFc);
    spire::Tensor whole = model.run(image).at(resnet18::kFc);
    bool same = split.data == whole.data;
    std::printf("stages 1..%zu from the checkpoint %s the whole model (%zu logits)\n",
                resnet18::kStageCount - 1, same ? "equal" : "DIFFER FROM", split.data.size());
    return same ? 0 : 1;
  } catch (const spire::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
