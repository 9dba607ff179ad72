# convgen_tools: internals shared by the CLI, the tests and the benchmarks
# (.npy I/O, cost model, peak, bench runner). Not installed.
file(GLOB CONVGEN_TOOLS_LIB_SRCS CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/tools/lib/*.cc)
add_library(convgen_tools STATIC ${CONVGEN_TOOLS_LIB_SRCS})
target_include_directories(convgen_tools PUBLIC
  ${CMAKE_CURRENT_SOURCE_DIR}/tools/lib ${CMAKE_CURRENT_SOURCE_DIR}/src
  ${CMAKE_CURRENT_BINARY_DIR}/gen)
target_compile_definitions(convgen_tools PRIVATE
  "HWY_DISABLED_TARGETS=(${CONVGEN_HWY_DISABLED_TARGETS})")
target_link_libraries(convgen_tools PUBLIC convgen hwy::hwy)

# Peer libraries for side-by-side benchmarks (bench/peers, cmake/peers.cmake):
# defines the target convgen_peers (an empty stub when no peer is found). The
# bench runner calls it, so convgen_tools links it.
include(peers)
target_link_libraries(convgen_tools PUBLIC convgen_peers)
