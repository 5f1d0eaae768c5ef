#include "spire/FrontEnd/Spec.h"

namespace spire {

SpecNode::SpecNode() = default;
SpecNode::SpecNode(const SpecNode &) = default;
SpecNode::SpecNode(SpecNode &&) noexcept = default;
SpecNode &SpecNode::operator=(const SpecNode &) = default;
SpecNode &SpecNode::operator=(SpecNode &&) noexcept = default;
SpecNode::~SpecNode() = default;

const SpecNode *SpecNode::get(const std::string &key) const {
  for (const auto &[k, v] : entries)
    if (k.scalar == key)
      return &v;
  return nullptr;
}

const SpecNode *SpecNode::keyNode(const std::string &key) const {
  for (const auto &[k, v] : entries)
    if (k.scalar == key)
      return &k;
  return nullptr;
}

std::string SpecNode::kindName() const {
  switch (kind) {
  case Kind::Null:
    return "nothing";
  case Kind::Scalar:
    return "a scalar";
  case Kind::List:
    return "a list";
  case Kind::Map:
    return "a map";
  }
  return "?";
}

} // namespace spire
