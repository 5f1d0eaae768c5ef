# lit configuration for Spire's compiler tests (see lit.site.cfg.py.in).
import os

import lit.formats

config.name = "Spire"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".yaml", ".test"]
# Inputs/ holds helpers and data for the tests beside it.
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(os.path.dirname(config.spire_tools_dir), "lit-out")

config.environment["PATH"] = os.pathsep.join(
    [config.spire_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
# Every Vulkan use in these tests runs under the validation layer, and any
# message it reports is an error (see ContextOptions::validation).
config.environment["SPIRE_VALIDATION"] = "1"
config.substitutions.append(("%specs", os.path.join(config.spire_source_dir, "specs")))
# Bundles the tests load keep their pipelines in the build tree, not in the
# user's cache (tests that check the cache point it elsewhere themselves).
config.environment["SPIRE_PIPELINE_CACHE"] = os.path.join(config.test_exec_root, "pipeline-cache")
