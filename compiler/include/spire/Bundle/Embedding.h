// What a build needs to link a compiled model into an application: a C++
// header with the model's typed API, and a C++ source that embeds the
// bundle's bytes (`.incbin`), so no file ships beside the binary.
#pragma once

#include "spire/Codegen/CompiledModel.h"

#include <string>

namespace spire {

// `ns` is the C++ namespace; the embedded symbols are spire_<ns>_bundle[_end].
std::string generateHeader(const CompiledModel &model, const std::string &ns,
                           const std::string &spec);
std::string generateEmbedSource(const std::string &ns, const std::string &bundlePath);
// A C++ identifier from a spec or tensor name ("box.2" -> "box_2").
std::string cppIdentifier(const std::string &name);

} // namespace spire
