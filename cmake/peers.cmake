# Peers (oneDNN, XNNPACK) for `convgen bench --peers` and tests/test_peers.cc
# (sources in bench/peers/, interface bench/peers/peers.h).
#
# Defines the STATIC target convgen_peers. Each peer library is looked for
# separately and compiled in only when found; the target always exists (with
# no peer, CompiledPeers() is empty), so no peer is ever required to build
# convgen. Users see CONVGEN_HAVE_ONEDNN / CONVGEN_HAVE_XNNPACK (PUBLIC).
#   -DCONVGEN_WITH_PEERS=OFF   build no peer even if installed
option(CONVGEN_WITH_PEERS "Compile oneDNN / XNNPACK peers into the benchmarks when found" ON)

set(CONVGEN_PEERS_DIR ${PROJECT_SOURCE_DIR}/bench/peers)
add_library(convgen_peers STATIC ${CONVGEN_PEERS_DIR}/peers.cc)
# peers.h includes "../../tools/lib/timing.h" relative to itself; tools/lib
# is also exported for consumers that include "timing.h" directly.
target_include_directories(convgen_peers
  PUBLIC ${CONVGEN_PEERS_DIR} ${PROJECT_SOURCE_DIR}/tools/lib)
target_link_libraries(convgen_peers PUBLIC convgen)

set(CONVGEN_PEERS_BUILT "")
if(CONVGEN_WITH_PEERS)
  # oneDNN: Debian's libdnnl-dev ships a CMake config (target DNNL::dnnl).
  # Its config requires OpenCL (Debian builds the GPU runtime too); QUIET so
  # a missing or broken install only drops the peer.
  find_package(dnnl CONFIG QUIET)
  if(dnnl_FOUND AND TARGET DNNL::dnnl)
    # The Debian build's CPU runtime is OpenMP (DNNL_CPU_RUNTIME OMP): the
    # peer calls omp_set_num_threads to honour PeerProblem::threads.
    find_package(OpenMP COMPONENTS CXX QUIET)
    if(OpenMP_CXX_FOUND)
      target_sources(convgen_peers PRIVATE ${CONVGEN_PEERS_DIR}/onednn.cc)
      target_link_libraries(convgen_peers PRIVATE DNNL::dnnl OpenMP::OpenMP_CXX)
      target_compile_definitions(convgen_peers PUBLIC CONVGEN_HAVE_ONEDNN=1)
      list(APPEND CONVGEN_PEERS_BUILT "onednn ${dnnl_VERSION}")
    else()
      message(STATUS "convgen peers: oneDNN found but OpenMP (its CPU runtime) not; oneDNN peer skipped")
    endif()
  endif()

  # XNNPACK: Debian's libxnnpack-dev has neither CMake config nor .pc. It
  # needs pthreadpool, which convgen already links (pthreadpool::pthreadpool).
  find_path(XNNPACK_INCLUDE_DIR xnnpack.h)
  find_library(XNNPACK_LIBRARY XNNPACK)
  mark_as_advanced(XNNPACK_INCLUDE_DIR XNNPACK_LIBRARY)
  if(XNNPACK_INCLUDE_DIR AND XNNPACK_LIBRARY AND TARGET pthreadpool::pthreadpool)
    target_sources(convgen_peers PRIVATE ${CONVGEN_PEERS_DIR}/xnnpack.cc)
    target_include_directories(convgen_peers PRIVATE ${XNNPACK_INCLUDE_DIR})
    target_link_libraries(convgen_peers PRIVATE ${XNNPACK_LIBRARY} pthreadpool::pthreadpool)
    target_compile_definitions(convgen_peers PUBLIC CONVGEN_HAVE_XNNPACK=1)
    list(APPEND CONVGEN_PEERS_BUILT "xnnpack (${XNNPACK_LIBRARY})")
  endif()
endif()

if(CONVGEN_PEERS_BUILT)
  list(JOIN CONVGEN_PEERS_BUILT ", " _convgen_peers_list)
  message(STATUS "convgen peers: ${_convgen_peers_list}")
elseif(CONVGEN_WITH_PEERS)
  message(STATUS "convgen peers: none found (libdnnl-dev, libxnnpack-dev); benchmarks run without peers")
else()
  message(STATUS "convgen peers: disabled (CONVGEN_WITH_PEERS=OFF)")
endif()
