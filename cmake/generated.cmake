# Generated kernels (gen/): gen/gen_kernels.py reads gen/*_spec.txt and
# writes CONVGEN_GEN_NUM_FILES Highway TUs balanced by compile cost plus the
# registry rows (convgen_registry.inc, included by src/registry.cc) into the
# build tree. The script rewrites a file only when its content changes, and
# Ninja restats custom-command outputs, so editing one spec row recompiles
# only the TUs whose text changed.
set(CONVGEN_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen)
# 12 kernels in 8 TUs: each TU stays under ~20 s (TOOLCHAIN.md §4); more TUs
# add ~1.3 s of Highway header overhead each.
set(CONVGEN_GEN_NUM_FILES 8)
set(CONVGEN_GEN_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/gen/gen_kernels.py)
file(GLOB CONVGEN_GEN_SPECS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen/*_spec.txt)
# Every generator file (script, spec, templates): any edit regenerates.
file(GLOB CONVGEN_GEN_INPUTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/gen/*)

set(CONVGEN_GEN_SRCS)
math(EXPR _last "${CONVGEN_GEN_NUM_FILES} - 1")
foreach(i RANGE ${_last})
  list(APPEND CONVGEN_GEN_SRCS ${CONVGEN_GEN_DIR}/gen_kernels_${i}.cc)
endforeach()
set(CONVGEN_GEN_REGISTRY ${CONVGEN_GEN_DIR}/convgen_registry.inc)

add_custom_command(
  OUTPUT ${CONVGEN_GEN_SRCS} ${CONVGEN_GEN_REGISTRY}
  COMMAND Python3::Interpreter ${CONVGEN_GEN_SCRIPT} --spec ${CONVGEN_GEN_SPECS}
          --out-dir ${CONVGEN_GEN_DIR} --num-files ${CONVGEN_GEN_NUM_FILES}
  DEPENDS ${CONVGEN_GEN_INPUTS}
  COMMENT "Generating kernels (gen/gen_kernels.py)"
  VERBATIM)
# The registry is listed as a source so that registry.cc compiles after it.
target_sources(convgen PRIVATE ${CONVGEN_GEN_SRCS} ${CONVGEN_GEN_REGISTRY})
# The generated TUs include "kernels/direct-inl.h" and "dispatch.h" (src/) and
# themselves by name (HWY_TARGET_INCLUDE, gen/): both are already private
# include directories of `convgen`.
