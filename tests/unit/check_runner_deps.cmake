cmake_policy(SET CMP0057 NEW) # if(IN_LIST)
# Fails unless BINARY's dynamic dependencies (ELF NEEDED entries) are only
# glibc's and the Vulkan loader: libstdc++, libgcc_s, LLVM, MLIR, yaml-cpp
# would all be missing on a bare GPU machine.
execute_process(COMMAND readelf -d ${BINARY} OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -d ${BINARY} failed")
endif()
string(REGEX MATCHALL "Shared library: \\[[^]]*\\]" needed "${dynamic}")
set(allowed libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 ld-linux-x86-64.so.2
            ld-linux-aarch64.so.1 libvulkan.so.1)
set(found_vulkan FALSE)
foreach(entry ${needed})
  string(REGEX REPLACE "Shared library: \\[(.*)\\]" "\\1" lib "${entry}")
  message(STATUS "${BINARY} needs ${lib}")
  if(NOT lib IN_LIST allowed)
    message(FATAL_ERROR "${BINARY} needs ${lib}, which a bare machine may lack "
                        "(allowed: ${allowed})")
  endif()
  if(lib STREQUAL "libvulkan.so.1")
    set(found_vulkan TRUE)
  endif()
endforeach()
if(NOT found_vulkan)
  message(FATAL_ERROR "${BINARY} does not link the Vulkan loader?")
endif()
