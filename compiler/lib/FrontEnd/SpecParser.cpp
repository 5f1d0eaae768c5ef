// The only translation unit that sees yaml-cpp. yaml-cpp throws; everything
// is caught here and turned into ParseErrors (see compiler/lib/CMakeLists.txt).
#include "spire/FrontEnd/Spec.h"

#include <optional>
#include <set>
#include <string_view>
#include <yaml-cpp/yaml.h>

namespace spire {
namespace {

SourceLoc toLoc(const YAML::Mark &mark) {
  if (mark.is_null())
    return {};
  return {static_cast<unsigned>(mark.line + 1), static_cast<unsigned>(mark.column + 1)};
}

// Deeper than any spec needs; also what stops a recursive alias
// (`a: &x [*x]`), which yaml-cpp turns into a cyclic node graph.
constexpr int kMaxDepth = 64;
// Aliases can expand a small file exponentially ("billion laughs").
constexpr size_t kMaxNodes = 1 << 20;

struct Converter {
  std::vector<ParseError> &errors;
  size_t nodes = 0;

  SpecNode convert(const YAML::Node &node, int depth);
};

SpecNode Converter::convert(const YAML::Node &node, int depth) {
  SpecNode out;
  out.loc = toLoc(node.Mark());
  if (depth > kMaxDepth) {
    errors.push_back({out.loc, "the YAML nests deeper than " + std::to_string(kMaxDepth) +
                                   " levels (a recursive alias?)"});
    return out;
  }
  if (++nodes > kMaxNodes) {
    if (nodes == kMaxNodes + 1)
      errors.push_back({out.loc, "the YAML expands to over " + std::to_string(kMaxNodes) +
                                     " nodes (aliases repeating aliases?)"});
    return out;
  }
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
      out.items.push_back(convert(item, depth + 1));
    break;
  case YAML::NodeType::Map: {
    out.kind = SpecNode::Kind::Map;
    std::set<std::string> seen;
    for (const auto &entry : node) {
      SpecNode key = convert(entry.first, depth + 1);
      if (!key.isScalar()) {
        errors.push_back({key.loc, "map keys must be plain names, not " + key.kindName()});
        continue;
      }
      if (!seen.insert(key.scalar).second) {
        errors.push_back({key.loc, "duplicate key '" + key.scalar + "'"});
        continue;
      }
      out.entries.emplace_back(std::move(key), convert(entry.second, depth + 1));
    }
    break;
  }
  }
  return out;
}

} // namespace

// The line of a `---` that starts a second document, or 0. (A spec is one
// document; YAML::LoadAll cannot be used to tell: yaml-cpp 0.7 loops forever
// on some malformed input there, e.g. a leading ',', yaml-cpp issue #1040.)
static unsigned secondDocumentLine(const std::string &text) {
  bool content = false;
  unsigned line = 0;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    std::string_view l(text.data() + at, (end == std::string::npos ? text.size() : end) - at);
    ++line;
    if (l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ')) {
      if (content)
        return line;
    } else if (!l.empty() && l.find_first_not_of(" \t\r") != std::string_view::npos &&
               l[l.find_first_not_of(" \t\r")] != '#') {
      content = true;
    }
    if (end == std::string::npos)
      break;
    at = end + 1;
  }
  return 0;
}

// The first line that is neither blank nor a comment, or {0, 0}.
static SourceLoc firstContent(const std::string &text) {
  unsigned line = 1;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.find('\n', at), text.size());
    size_t c = text.find_first_not_of(" \t\r", at);
    if (c < end && text[c] != '#')
      return {line, static_cast<unsigned>(c - at + 1)};
    at = end + 1;
    ++line;
  }
  return {};
}

// yaml-cpp reports where it gave up, which for two common slips is after
// the real problem, with a message that does not name it: a tab in the
// indentation, and a flow '[' or '{' left open (reported at the next line as
// "illegal block entry" or "end of map flow not found"). Looks for either
// before the position `at` where the parser stopped.
static std::optional<ParseError> explainYamlError(const std::string &text, SourceLoc at,
                                                  const std::string &yamlMessage) {
  struct Open {
    char bracket;
    SourceLoc loc;
  };
  std::vector<Open> open;
  unsigned line = 1, column = 1;
  bool lineStart = true; // only indentation so far on this line
  char quote = 0;
  char previous = '\n';
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (at.line && (line > at.line || (line == at.line && column >= at.column)))
      break;
    if (c == '\t' && lineStart && !quote)
      return ParseError{{line, column},
                        "malformed YAML: a tab in the indentation; YAML indents with spaces only"};
    if (c == '\n') {
      ++line;
      column = 1;
      lineStart = true;
      previous = c;
      continue;
    }
    if (c != ' ' && c != '\t')
      lineStart = false;
    if (quote) {
      if (c == '\\' && quote == '"')
        ++i, ++column; // an escape in a double-quoted scalar
      else if (c == quote)
        quote = 0;
    } else if (c == '#' && (previous == ' ' || previous == '\t' || previous == '\n')) {
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i; // a comment runs to the end of the line
    } else if ((c == '\'' || c == '"') && std::string_view(" \t\n[{,:-").find(previous) != std::string_view::npos) {
      quote = c;
    } else if (c == '[' || c == '{') {
      open.push_back({c, {line, column}});
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
    previous = c;
    ++column;
  }
  if (open.empty())
    return std::nullopt;
  const Open &o = open.back();
  return ParseError{o.loc, std::string("malformed YAML: this '") + o.bracket + "' is never closed (expected '" +
                               (o.bracket == '[' ? ']' : '}') + "'; the parser stopped " +
                               (at.line ? "at line " + std::to_string(at.line) : std::string("at the end")) +
                               ": " + yamlMessage + ")"};
}

ParseResult parseSpecYaml(const std::string &text) noexcept {
  ParseResult result;
  try {
    if (unsigned line = secondDocumentLine(text)) {
      result.errors.push_back({{line, 1}, "the file holds several YAML documents; a spec is one"});
      return result;
    }
    YAML::Node doc = YAML::Load(text);
    if (!doc.IsDefined() || doc.IsNull()) {
      // Null from a file with content means yaml-cpp gave up on it silently.
      SourceLoc first = firstContent(text);
      result.errors.push_back({first.line ? first : SourceLoc{1, 1},
                               first.line ? "malformed YAML: this line does not start a map, a "
                                            "list or a value"
                                          : "the spec is empty"});
      return result;
    }
    result.root = Converter{result.errors}.convert(doc, 0);
  } catch (const YAML::Exception &e) {
    SourceLoc at = toLoc(e.mark);
    if (std::optional<ParseError> better = explainYamlError(text, at, e.msg))
      result.errors.push_back(*better);
    else
      result.errors.push_back({at, "malformed YAML: " + e.msg});
  } catch (const std::exception &e) {
    result.errors.push_back({{1, 1}, std::string("cannot read the YAML: ") + e.what()});
  }
  return result;
}

} // namespace spire
