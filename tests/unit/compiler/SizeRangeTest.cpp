// A `sizes` range's arithmetic: the values `spire check` enumerates and the
// example `spire compile` suggests when a ranged symbol is unbound.
#include "spire/FrontEnd/ModuleBuilder.h"

#include <catch2/catch.hpp>

using namespace spire;

TEST_CASE("a range without multiple_of holds every integer in it", "[size_range]") {
  SizeRange r{5, 4096, 1};
  CHECK(r.first() == 5);
  CHECK(r.count() == 4092);
  CHECK(r.contains(5));
  CHECK(r.contains(4096));
  CHECK_FALSE(r.contains(4));
  CHECK_FALSE(r.contains(4097));
  CHECK(r.near(128) == 128);
  CHECK(r.near(1) == 5);
  CHECK(r.near(5000) == 4096);
  CHECK(r.str() == "[5, 4096]");
}

TEST_CASE("multiple_of keeps the multiples inside the bounds", "[size_range]") {
  // Bounds that are not multiples: 48, 64, ..., 992.
  SizeRange r{33, 1000, 16};
  CHECK(r.first() == 48);
  CHECK(r.count() == 60);
  CHECK(r.contains(48));
  CHECK_FALSE(r.contains(40));
  CHECK_FALSE(r.contains(1008));
  CHECK(r.near(100) == 112);
  CHECK(r.near(5000) == 992);
  CHECK(r.str() == "[33, 1000], multiple of 16");
  SizeRange none{3, 5, 8};
  CHECK_FALSE(none.first());
  CHECK(none.count() == 0);
}
