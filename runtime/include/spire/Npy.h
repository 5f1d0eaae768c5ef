// NumPy .npy files (format 1.0/2.0/3.0, little-endian float32, C order):
// the CLI's and the examples' way to pass tensors in and out.
#pragma once

#include "spire/Runtime.h"

#include <istream>
#include <string>

namespace spire {

// Throws Error(Kind::Input) naming the file and the problem (not a .npy,
// unsupported dtype such as '<f8', Fortran order, truncated data, ...).
Tensor readNpy(const std::string &path);
// The same from a stream positioned at the file's start; `name` names it
// in errors.
Tensor readNpy(std::istream &in, const std::string &name);
void writeNpy(const std::string &path, const Tensor &tensor);

} // namespace spire
