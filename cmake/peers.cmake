# Peers (oneDNN, XNNPACK) for `convgen bench --peers`: owned by the peers work.
add_library(convgen_peers STATIC ${CMAKE_CURRENT_SOURCE_DIR}/bench/peers/peers_none.cc)
target_link_libraries(convgen_peers PUBLIC convgen)
