// Sizes that depend on a model's size symbols (a length L, an image's H and
// W), as a bundle stores them (bundle.fbs: SizeExpr): a postfix program over
// int64. The compiler writes them from its affine expressions; the runtime
// evaluates them once the inputs fix the symbols. Header-only and
// dependency-free, shared like Checked.h; not installed.
#pragma once

#include "spire/Checked.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace spire::size_expr {

// Constant and Symbol take the next element as operand (a value, a symbol
// index); the binary ops pop b, then a, and push a op b. FloorDiv, CeilDiv
// and Mod are affine's: a divisor must be positive, Mod's result is in
// [0, b).
enum SizeOp : int64_t { Constant = 0, Symbol = 1, Add = 2, Mul = 3, FloorDiv = 4, CeilDiv = 5, Mod = 6 };

// The value of `code` for the symbols' `values`, or nullopt when the
// program is malformed (an unknown op, a missing operand, a symbol past
// `values`, not exactly one result), a divisor is not positive or a step
// overflows. A bundle's reader checks every program once with the symbols
// at their minimum (structure) and each run evaluates it again.
inline std::optional<int64_t> evaluate(std::span<const int64_t> code,
                                       std::span<const int64_t> values) {
  std::vector<int64_t> stack;
  for (size_t i = 0; i < code.size(); ++i) {
    int64_t op = code[i];
    if (op == Constant || op == Symbol) {
      if (++i == code.size())
        return std::nullopt;
      if (op == Constant) {
        stack.push_back(code[i]);
        continue;
      }
      if (code[i] < 0 || static_cast<uint64_t>(code[i]) >= values.size())
        return std::nullopt;
      stack.push_back(values[code[i]]);
      continue;
    }
    if (stack.size() < 2)
      return std::nullopt;
    int64_t b = stack.back();
    stack.pop_back();
    int64_t a = stack.back();
    std::optional<int64_t> r;
    switch (op) {
    case Add:
      r = checkedAdd(a, b);
      break;
    case Mul:
      r = checkedMul(a, b);
      break;
    case FloorDiv:
    case CeilDiv:
    case Mod: {
      if (b <= 0)
        return std::nullopt;
      int64_t q = a / b, m = a % b; // truncated; adjust toward -inf
      if (m < 0)
        --q, m += b;
      r = op == Mod ? m : op == FloorDiv ? q : q + (m != 0);
      break;
    }
    default:
      return std::nullopt;
    }
    if (!r)
      return std::nullopt;
    stack.back() = *r;
  }
  if (stack.size() != 1)
    return std::nullopt;
  return stack.back();
}

// For messages: the expression in infix, symbols by `names` (L - 2 prints
// as "L + -2", (L - 5) floordiv 2 + 1 as "(L + -5) floordiv 2 + 1").
// Assumes a program evaluate() accepts.
inline std::string print(std::span<const int64_t> code, std::span<const std::string> names) {
  struct Term {
    std::string text;
    bool compound;
  };
  std::vector<Term> stack;
  static const char *const ops[] = {"", "", " + ", " * ", " floordiv ", " ceildiv ", " mod "};
  for (size_t i = 0; i < code.size(); ++i) {
    int64_t op = code[i];
    if (op == Constant || op == Symbol) {
      int64_t v = code[++i];
      stack.push_back({op == Constant ? std::to_string(v) : names[v], false});
      continue;
    }
    Term b = stack.back();
    stack.pop_back();
    Term &a = stack.back();
    // Add binds loosest: its operands need no parentheses.
    auto wrap = [&](const Term &t) { return op != Add && t.compound ? "(" + t.text + ")" : t.text; };
    a = {wrap(a) + ops[op] + wrap(b), true};
  }
  return stack.empty() ? std::string() : stack.back().text;
}

} // namespace spire::size_expr
