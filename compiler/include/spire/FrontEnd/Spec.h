// The spec as read from YAML: a tree of nodes that each keep their
// file:line:col. Exception-free and independent of yaml-cpp, so the rest of
// the compiler (built without exceptions, like LLVM) can walk it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spire {

struct SourceLoc {
  unsigned line = 0;   // 1-based
  unsigned column = 0; // 1-based
};

struct SpecNode {
  enum class Kind { Null, Scalar, List, Map };
  Kind kind = Kind::Null;
  SourceLoc loc;
  std::string scalar;                    // Kind::Scalar (also "quoted" flag below)
  bool quoted = false;                   // a quoted scalar is always a string
  std::vector<SpecNode> items;           // Kind::List
  std::vector<std::pair<SpecNode, SpecNode>> entries; // Kind::Map, in file order

  // Defined in Spec.cpp, where SpecNode is complete: clang would otherwise
  // define the destructor while instantiating pair<SpecNode, SpecNode>
  // (with SpecNode still incomplete) and refuse the vector of pairs.
  SpecNode();
  SpecNode(const SpecNode &);
  SpecNode(SpecNode &&) noexcept;
  SpecNode &operator=(const SpecNode &);
  SpecNode &operator=(SpecNode &&) noexcept;
  ~SpecNode();

  bool isNull() const { return kind == Kind::Null; }
  bool isScalar() const { return kind == Kind::Scalar; }
  bool isList() const { return kind == Kind::List; }
  bool isMap() const { return kind == Kind::Map; }
  // The value of `key` in a map, or nullptr.
  const SpecNode *get(const std::string &key) const;
  // The key node of `key` in a map, or nullptr (for its location).
  const SpecNode *keyNode(const std::string &key) const;
  std::string kindName() const;
};

struct ParseError {
  SourceLoc loc;
  std::string message;
};

// Parses a YAML document. Never throws: on failure returns the YAML error
// with its position. Duplicate keys in a map are reported as errors.
struct ParseResult {
  std::optional<SpecNode> root;
  std::vector<ParseError> errors;
};
ParseResult parseSpecYaml(const std::string &text) noexcept;

} // namespace spire
