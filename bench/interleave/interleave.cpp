// A/B timing of bundles in one process: loads every bundle given, then runs
// them in turn, one iteration each, so this VM's drifts (up to ~1.5x within
// minutes; two `spire bench` processes on the same bundle differed by 35%)
// hit all of them alike. Prints, per bundle, the minimum device ms of the
// whole run and of each dispatch label (every bundle's labels; "-" where a
// bundle has no such dispatch).
// Backs the before/after figures in docs/PERFORMANCE.md; not part of the
// build. From the repository root, after building (one command line):
//
//   g++ -O2 -std=c++20 -Iruntime/include bench/interleave/interleave.cpp
//   build/runtime/libspire_runtime.a -lvulkan -o interleave
//
//   ./interleave 20 before.spire after.spire
//   ./interleave --batch 8 20 before.spire after.spire
//   ./interleave --set H=224 --set W=224 20 fixed224.spire any.spire
//
// --set gives a size symbol's value to every bundle that has it (a bundle
// compiled for a `sizes` range), so that one can run beside a bundle
// compiled for that size.
#include "spire/Runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  const char *program = argv[0];
  int64_t batch = 1;
  spire::SizeMap sizes;
  bool usage = false;
  while (argc > 2 && (std::string(argv[1]) == "--batch" || std::string(argv[1]) == "--set")) {
    std::string value = argv[2];
    if (std::string(argv[1]) == "--batch") {
      batch = std::atoll(value.c_str());
    } else {
      size_t eq = value.find('=');
      int64_t size = eq == std::string::npos ? 0 : std::atoll(value.c_str() + eq + 1);
      usage |= eq == 0 || size < 1;
      sizes[value.substr(0, eq)] = size;
    }
    argv += 2;
    argc -= 2;
  }
  if (argc < 3 || batch < 1 || usage) {
    std::fprintf(stderr, "usage: %s [--batch B] [--set SYMBOL=SIZE]... ITERATIONS BUNDLE...\n",
                 program);
    return 2;
  }
  int iterations = std::atoi(argv[1]);
  std::vector<std::string> paths(argv + 2, argv + argc);
  try {
    spire::Context context;
    std::vector<spire::Bundle> bundles;
    std::vector<spire::Model> models;
    for (const std::string &p : paths)
      bundles.push_back(spire::Bundle::fromFile(p));
    // Each bundle's own size symbols; a --set no bundle has is a mistake.
    std::vector<spire::SizeMap> bundleSizes(bundles.size());
    for (const auto &[name, size] : sizes) {
      bool used = false;
      for (size_t m = 0; m < bundles.size(); ++m)
        for (const spire::SizeSymbol &s : bundles[m].sizes())
          if (s.name == name) {
            bundleSizes[m][name] = size;
            used = true;
          }
      if (!used)
        throw spire::Error(spire::Error::Kind::Usage,
                           "--set " + name + ": no bundle has a size symbol '" + name + "'");
    }
    std::vector<spire::TensorMap> inputs(bundles.size());
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    for (size_t m = 0; m < bundles.size(); ++m) {
      models.emplace_back(context, bundles[m], context.defaultDevice());
      models.back().setProfiling(true);
      for (const spire::TensorInfo &t : bundles[m].inputs()) {
        spire::Tensor x;
        x.shape = bundles[m].shapeAt(t, bundleSizes[m], batch);
        x.data.resize(x.numel());
        for (float &v : x.data)
          v = normal(rng);
        inputs[m][t.name] = std::move(x);
      }
    }
    std::vector<double> total(models.size(), 1e30);
    std::vector<std::map<std::string, double>> byLabel(models.size());
    std::vector<std::vector<std::string>> order(models.size()); // each bundle's labels, in dispatch order
    for (int it = -2; it < iterations; ++it) // two warm-up rounds
      for (size_t m = 0; m < models.size(); ++m) {
        models[m].run(inputs[m], bundleSizes[m]);
        if (it < 0)
          continue;
        total[m] = std::min(total[m], models[m].lastDeviceMs());
        std::map<std::string, double> run; // attention: several dispatches a label
        for (const spire::DispatchTime &d : models[m].lastProfile()) {
          if (it == 0 && !run.count(d.layer))
            order[m].push_back(d.layer);
          run[d.layer] += d.ms;
        }
        for (const auto &[label, ms] : run)
          byLabel[m][label] = byLabel[m].count(label) ? std::min(byLabel[m][label], ms) : ms;
      }
    // Rows: the first bundle's labels, each later bundle's own (a fused
    // kernel, say) after the label that precedes it there.
    std::vector<std::string> labels = order[0];
    for (size_t m = 1; m < order.size(); ++m)
      for (size_t i = 0; i < order[m].size(); ++i)
        if (std::find(labels.begin(), labels.end(), order[m][i]) == labels.end()) {
          auto before = i == 0 ? labels.end()
                               : std::find(labels.begin(), labels.end(), order[m][i - 1]);
          labels.insert(i == 0 ? labels.begin() : before == labels.end() ? before : before + 1,
                        order[m][i]);
        }
    std::printf("%-44s", "min device ms");
    for (const std::string &p : paths)
      std::printf(" %14.14s", p.substr(p.rfind('/') + 1).c_str());
    std::printf("\n%-44s", "whole run");
    for (double t : total)
      std::printf(" %14.3f", t);
    std::printf("\n%-44s", "sum of the dispatches' minima");
    for (const auto &labelMs : byLabel) {
      double sum = 0;
      for (const auto &[label, ms] : labelMs)
        sum += ms;
      std::printf(" %14.3f", sum);
    }
    std::printf("\n");
    for (const std::string &label : labels) {
      // A fused kernel's label names its ops; its first and last tell it apart.
      size_t first = label.find('+'), last = label.rfind('+');
      std::string shown = label.size() <= 44 || first == last
                              ? label
                              : label.substr(0, first) + "+..." + label.substr(last);
      std::printf("%-44.44s", shown.c_str());
      for (const auto &labelMs : byLabel) {
        auto it = labelMs.find(label);
        if (it == labelMs.end())
          std::printf(" %14s", "-");
        else
          std::printf(" %14.3f", it->second);
      }
      std::printf("\n");
    }
  } catch (const spire::Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
