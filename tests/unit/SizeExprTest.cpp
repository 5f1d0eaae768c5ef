// spire/SizeExpr.h: the postfix programs a bundle stores its symbolic sizes
// as. Affine's division rounds toward -inf (floordiv) or +inf (ceildiv), and
// mod is in [0, b), for negative operands too; anything malformed or
// overflowing evaluates to nothing.
#include "spire/SizeExpr.h"

#include <catch2/catch.hpp>

#include <limits>

using namespace spire::size_expr;

namespace {

std::optional<int64_t> eval(std::vector<int64_t> code, std::vector<int64_t> values = {}) {
  return evaluate(code, values);
}

// a op b for two constants.
std::optional<int64_t> binary(int64_t a, SizeOp op, int64_t b) {
  return eval({Constant, a, Constant, b, op});
}

} // namespace

TEST_CASE("size_expr_divides_as_affine_does", "[size_expr]") {
  CHECK(binary(7, FloorDiv, 2) == 3);
  CHECK(binary(-7, FloorDiv, 2) == -4);
  CHECK(binary(-8, FloorDiv, 2) == -4);
  CHECK(binary(7, CeilDiv, 2) == 4);
  CHECK(binary(-7, CeilDiv, 2) == -3);
  CHECK(binary(-8, CeilDiv, 2) == -4);
  CHECK(binary(7, Mod, 3) == 1);
  CHECK(binary(-7, Mod, 3) == 2);
  CHECK(binary(-6, Mod, 3) == 0);
  // The divisor must be positive.
  CHECK_FALSE(binary(7, FloorDiv, 0));
  CHECK_FALSE(binary(7, CeilDiv, -2));
  CHECK_FALSE(binary(7, Mod, 0));
  int64_t lowest = std::numeric_limits<int64_t>::min();
  CHECK(binary(lowest, FloorDiv, 2) == lowest / 2);
  CHECK(binary(lowest, Mod, 3) == 1); // -2^63 = 3 * (-3074457345618258603) + 1
}

TEST_CASE("size_expr_evaluates_over_symbols", "[size_expr]") {
  // (L - 5) floordiv 2 + 1 at L = 300 and 301; W * L + 3.
  std::vector<int64_t> lout = {Symbol, 0, Constant, -5, Add, Constant, 2, FloorDiv, Constant, 1, Add};
  CHECK(eval(lout, {300}) == 148);
  CHECK(eval(lout, {301}) == 149);
  CHECK(eval(lout, {5}) == 1);
  CHECK(eval({Symbol, 1, Symbol, 0, Mul, Constant, 3, Add}, {7, 4}) == 31);
}

TEST_CASE("size_expr_refuses_overflow_and_malformed_programs", "[size_expr]") {
  int64_t highest = std::numeric_limits<int64_t>::max();
  CHECK_FALSE(binary(highest, Add, 1));
  CHECK_FALSE(binary(highest, Mul, 2));
  CHECK_FALSE(binary(std::numeric_limits<int64_t>::min(), Add, -1));
  CHECK(binary(highest, Add, -1) == highest - 1);
  CHECK_FALSE(eval({}));                           // no result
  CHECK_FALSE(eval({Constant, 1, Constant, 2}));   // two results
  CHECK_FALSE(eval({Constant}));                   // a missing operand
  CHECK_FALSE(eval({Constant, 1, Add}));           // too few values for Add
  CHECK_FALSE(eval({Constant, 1, Constant, 2, 9})); // an unknown op
  CHECK_FALSE(eval({Constant, 1, Constant, 2, -1}));
  CHECK_FALSE(eval({Symbol, 1}, {5}));             // a symbol past the values
  CHECK_FALSE(eval({Symbol, -1}, {5}));
  CHECK(eval({Symbol, 0}, {5}) == 5);
}

TEST_CASE("size_expr_prints_infix", "[size_expr]") {
  std::vector<std::string> names = {"L", "W"};
  auto text = [&](std::vector<int64_t> code) { return print(code, names); };
  CHECK(text({Symbol, 0}) == "L");
  CHECK(text({Constant, -3}) == "-3");
  CHECK(text({Symbol, 0, Constant, -2, Add}) == "L + -2");
  CHECK(text({Symbol, 0, Constant, -5, Add, Constant, 2, FloorDiv, Constant, 1, Add}) ==
        "(L + -5) floordiv 2 + 1");
  CHECK(text({Constant, 2, Symbol, 0, Constant, 1, Add, Mul}) == "2 * (L + 1)");
  CHECK(text({Symbol, 0, Symbol, 1, Mul, Constant, 3, CeilDiv}) == "(L * W) ceildiv 3");
  CHECK(text({Symbol, 1, Constant, 4, Mod}) == "W mod 4");
  // Add's operands need no parentheses, whatever they are.
  CHECK(text({Symbol, 0, Constant, 2, Mul, Symbol, 1, Constant, 3, Mod, Add}) ==
        "L * 2 + W mod 3");
}
