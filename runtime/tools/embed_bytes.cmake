# cmake -DINPUT=FILE -DOUTPUT=FILE.cpp -P embed_bytes.cmake: FILE's bytes as
# the array kPeakProbeBundle (and kPeakProbeBundleSize) in FILE.cpp.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by embed_bytes.cmake.\n#include <cstddef>\n"
     "alignas(8) extern const unsigned char kPeakProbeBundle[] = {${bytes}};\n"
     "extern const size_t kPeakProbeBundleSize = ${size};\n")
