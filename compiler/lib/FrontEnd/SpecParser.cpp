// The only translation unit that sees yaml-cpp. yaml-cpp throws; everything
// is caught here and turned into ParseErrors (see compiler/lib/CMakeLists.txt).
#include "spire/FrontEnd/Spec.h"

#include <set>
#include <yaml-cpp/yaml.h>

namespace spire {
namespace {

SourceLoc toLoc(const YAML::Mark &mark) {
  if (mark.is_null())
    return {};
  return {static_cast<unsigned>(mark.line + 1), static_cast<unsigned>(mark.column + 1)};
}

SpecNode convert(const YAML::Node &node, std::vector<ParseError> &errors) {
  SpecNode out;
  out.loc = toLoc(node.Mark());
  switch (node.Type()) {
  case YAML::NodeType::Undefined:
  case YAML::NodeType::Null:
    out.kind = SpecNode::Kind::Null;
    break;
  case YAML::NodeType::Scalar:
    out.kind = SpecNode::Kind::Scalar;
    out.scalar = node.Scalar();
    out.quoted = node.Tag() == "!";
    break;
  case YAML::NodeType::Sequence:
    out.kind = SpecNode::Kind::List;
    for (const YAML::Node &item : node)
      out.items.push_back(convert(item, errors));
    break;
  case YAML::NodeType::Map: {
    out.kind = SpecNode::Kind::Map;
    std::set<std::string> seen;
    for (const auto &entry : node) {
      SpecNode key = convert(entry.first, errors);
      if (!key.isScalar()) {
        errors.push_back({key.loc, "map keys must be plain names, not " + key.kindName()});
        continue;
      }
      if (!seen.insert(key.scalar).second) {
        errors.push_back({key.loc, "duplicate key '" + key.scalar + "'"});
        continue;
      }
      out.entries.emplace_back(std::move(key), convert(entry.second, errors));
    }
    break;
  }
  }
  return out;
}

} // namespace

ParseResult parseSpecYaml(const std::string &text) noexcept {
  ParseResult result;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.empty()) {
      result.errors.push_back({{1, 1}, "the spec is empty"});
      return result;
    }
    if (docs.size() > 1) {
      result.errors.push_back({toLoc(docs[1].Mark()),
                               "the file holds several YAML documents; a spec is one"});
      return result;
    }
    result.root = convert(docs.front(), result.errors);
  } catch (const YAML::Exception &e) {
    result.errors.push_back({toLoc(e.mark), "malformed YAML: " + e.msg});
  } catch (const std::exception &e) {
    result.errors.push_back({{1, 1}, std::string("cannot read the YAML: ") + e.what()});
  }
  return result;
}

} // namespace spire
