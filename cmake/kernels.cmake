# Hand-written Highway kernel families (src/kernels/), one registry row each in
# src/kernels/handwritten.inc. Each .cc is a Highway self-including TU
# (HWY_TARGET_INCLUDE "kernels/<name>.cc", resolved through the PRIVATE
# ${CMAKE_CURRENT_SOURCE_DIR}/src include directory of `convgen`).
target_sources(convgen PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/generic.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/smallmap.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/src/kernels/im2col.cc
)
