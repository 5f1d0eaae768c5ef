#!/usr/bin/env bash
# Installs Spire to a temporary prefix, builds every example against it from
# clean build trees, runs them, and checks that a spec edit rebuilds exactly
# when it should and that a broken spec fails the build at its YAML line.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
# The examples run under the Vulkan validation layer: a message is an error.
export SPIRE_VALIDATION=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
check() { # description, command...
  local what=$1; shift
  if "$@" > "$tmp/last.log" 2>&1; then
    echo "ok $what"; passed=$((passed + 1))
  else
    echo "FAIL $what"; sed 's/^/  /' "$tmp/last.log" | tail -20; failed=$((failed + 1))
  fi
}
grep_log() { grep -q -- "$1" "$tmp/last.log"; }

check "cmake --install" cmake --install "$build" --prefix "$tmp/prefix"
prefix=$tmp/prefix
check "installed package files" test -f "$prefix/lib/cmake/Spire/SpireConfig.cmake" -a \
  -f "$prefix/lib/cmake/Spire/SpireConfigVersion.cmake" -a -f "$prefix/lib/pkgconfig/spire-runtime.pc" \
  -a -x "$prefix/bin/spire" -a -f "$prefix/include/spire/Runtime.h"

for ex in classify embedded_cnn split_resnet18 any_size; do
  check "configure examples/$ex against the installed package" cmake -S "$src/examples/$ex" \
    -B "$tmp/$ex" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix"
  check "build examples/$ex" cmake --build "$tmp/$ex"
done
check "run embedded_cnn" "$tmp/embedded_cnn/spire-example-embedded-cnn"
grep_log "small_cnn (.*): class [0-9] of 10" || { echo "FAIL embedded_cnn output"; failed=$((failed + 1)); }
check "run split_resnet18" "$tmp/split_resnet18/spire-example-split-resnet18" "$tmp/ckpt"
grep_log "from the checkpoint equal the whole model" || { echo "FAIL split output"; failed=$((failed + 1)); }
check "run any_size" "$tmp/any_size/spire-example-any-size"
grep_log "L = 4096: fc \[1, 6\], .*, run at L = 4096" || { echo "FAIL any_size output"; failed=$((failed + 1)); }
check "installed spire compiles a bundle" "$prefix/bin/spire" compile "$src/specs/small_cnn.yaml" -o "$tmp/cnn.spire"
check "run classify on it" "$tmp/classify/spire-example-classify" "$tmp/cnn.spire"
grep_log "top classes" || { echo "FAIL classify output"; failed=$((failed + 1)); }
# The Python package, when built: installed, it imports, compiles and runs.
for site in "$prefix"/lib/python3*/dist-packages; do
  [[ -d $site/spire ]] || continue
  check "installed Python package compiles and runs a spec" env PYTHONPATH="$site" \
    /usr/bin/python3 -c "import numpy, spire; m = spire.Model(spire.compile('$src/specs/small_cnn.yaml'));
assert m(image=numpy.ones((1, 3, 32, 32), numpy.float32))['fc2'].shape == (1, 10)"
done

check "plain Makefile example" make -C "$src/examples/makefile" SPIRE_PREFIX="$prefix" BUILD="$tmp/mk"
check "run the Makefile build" "$tmp/mk/classify"

# Rebuilds: a copy of the spec, embedded through spire_add_model.
cp "$src/specs/small_cnn.yaml" "$tmp/spec.yaml"
check "configure with a spec copy" cmake -S "$src/examples/embedded_cnn" -B "$tmp/rebuild" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DSPIRE_EXAMPLE_SPEC="$tmp/spec.yaml"
check "first build compiles the spec" cmake --build "$tmp/rebuild"
grep_log "spire compile" || { echo "FAIL first build did not compile"; failed=$((failed + 1)); }
check "second build does nothing" cmake --build "$tmp/rebuild"
grep_log "no work to do" || { echo "FAIL an unchanged spec rebuilt"; failed=$((failed + 1)); }
sleep 1; touch "$tmp/spec.yaml"
check "touching the spec recompiles it" cmake --build "$tmp/rebuild"
grep_log "spire compile" || { echo "FAIL touch did not recompile"; failed=$((failed + 1)); }
sed -i 's/name: fc1, out: 128/name: fc1, out: 96/' "$tmp/spec.yaml"
check "a real change rebuilds and the program runs" bash -c \
  "cmake --build '$tmp/rebuild' && '$tmp/rebuild/spire-example-embedded-cnn'"
sed -i 's/name: conv2, out: 32, kernel: 3/name: conv2, out: 32, kernal: 3/' "$tmp/spec.yaml"
if cmake --build "$tmp/rebuild" > "$tmp/last.log" 2>&1; then
  echo "FAIL a broken spec built"; failed=$((failed + 1))
elif grep -q "spec.yaml:[0-9]*:[0-9]*: error: unknown key 'kernal'" "$tmp/last.log"; then
  echo "ok a broken spec fails the build at its YAML line"; passed=$((passed + 1))
else
  echo "FAIL the build failed without the YAML location"; tail -5 "$tmp/last.log"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
