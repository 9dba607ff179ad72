# Hand-written Highway kernel families (src/kernels/), one registry row each in
# src/kernels/handwritten.inc. Each .cc is a Highway self-including TU
# (HWY_TARGET_INCLUDE "kernels/<name>.cc", resolved through the PRIVATE
# ${CMAKE_CURRENT_SOURCE_DIR}/src include directory of `convgen`).
target_sources(convgen PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/generic.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/smallmap.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/im2col.cc
)

# smallmap at -O2 under GCC: at -O3, GCC 12's allocation of the AVX2 5x5
# tile (12 ymm accumulators + 2 weight vectors + 1 broadcast of 16) moves
# accumulators through 13 `vmovaps` and spills two of them to the stack in
# the hot loop (122 instructions per 60 FMAs; 7x7: 164 per 84 with 8 stack
# accesses); at -O2 the loop has 111 instructions, 2 `vmovaps` and no stack
# access, the 3x3 and every AVX3 loop being the same instruction for
# instruction count (objdump of the hot loops, session 4). Release only: the
# sanitizer builds set their own -O1.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT CONVGEN_SANITIZE)
  set_property(SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/smallmap.cc
               APPEND PROPERTY COMPILE_OPTIONS $<$<CONFIG:Release>:-O2>)
endif()
