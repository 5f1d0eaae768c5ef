# spire_add_model(<target> SPEC <spec.yaml> [WEIGHTS <w.safetensors>]
#                 [NAMESPACE <ns>] [STAGES <K or A..B>] [SET <SYMBOL=SIZE>...])
#
# Compiles the spec at build time (again whenever the spec or the weights
# change, through the compiler's depfile) and makes <target>, a static
# library that embeds the bundle and exports the generated header
# <target>.h: the model's typed C++ API in namespace <ns> (default: the
# target name). STAGES embeds only those stages (their kernels and weights).
# A spec error fails the build with the compiler's
# `file:line:col: error:` message.
function(spire_add_model target)
  cmake_parse_arguments(ARG "" "SPEC;WEIGHTS;NAMESPACE;STAGES" "SET" ${ARGN})
  if(NOT ARG_SPEC)
    message(FATAL_ERROR "spire_add_model(${target}): SPEC is required")
  endif()
  get_filename_component(spec "${ARG_SPEC}" ABSOLUTE)
  set(ns ${target})
  if(ARG_NAMESPACE)
    set(ns ${ARG_NAMESPACE})
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/spire/${target}")
  set(bundle "${out}/${target}.spire")
  set(args compile "${spec}" -o "${bundle}" --header "${out}/${target}.h"
           --embed "${out}/${target}_bundle.cpp" --namespace ${ns} --depfile "${out}/${target}.d")
  set(depends "${spec}")
  if(ARG_WEIGHTS)
    get_filename_component(weights "${ARG_WEIGHTS}" ABSOLUTE)
    list(APPEND args --weights "${weights}")
    list(APPEND depends "${weights}")
  endif()
  if(DEFINED ARG_STAGES)
    list(APPEND args --stage ${ARG_STAGES})
  endif()
  foreach(binding ${ARG_SET})
    list(APPEND args --set ${binding})
  endforeach()
  file(MAKE_DIRECTORY "${out}")
  add_custom_command(
    OUTPUT "${bundle}" "${out}/${target}.h" "${out}/${target}_bundle.cpp"
    COMMAND Spire::spire ${args}
    DEPENDS ${depends} Spire::spire
    DEPFILE "${out}/${target}.d"
    COMMENT "spire compile ${ARG_SPEC}"
    VERBATIM)
  # The source .incbin's the bundle: rebuild it when the bundle changes.
  set_source_files_properties("${out}/${target}_bundle.cpp" PROPERTIES OBJECT_DEPENDS "${bundle}")
  add_library(${target} STATIC "${out}/${target}_bundle.cpp" "${out}/${target}.h")
  target_include_directories(${target} PUBLIC "${out}")
  target_link_libraries(${target} PUBLIC Spire::runtime)
endfunction()
