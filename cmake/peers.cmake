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
  # Debian builds it with the OpenCL GPU runtime, so dnnl-config.cmake calls
  # find_package(OpenCL REQUIRED), which aborts the whole configure when
  # ocl-icd-opencl-dev (only Recommended by libdnnl-dev) is missing, QUIET
  # or not. Peek at the config first and skip the peer in that case.
  set(_convgen_dnnl_usable TRUE)
  find_file(CONVGEN_DNNL_CONFIG dnnl-config.cmake
    PATHS ${dnnl_DIR} ${CMAKE_PREFIX_PATH} ${CMAKE_SYSTEM_PREFIX_PATH}
    PATH_SUFFIXES . lib/${CMAKE_LIBRARY_ARCHITECTURE}/cmake/dnnl lib/cmake/dnnl
                  lib64/cmake/dnnl
    NO_DEFAULT_PATH)
  mark_as_advanced(CONVGEN_DNNL_CONFIG)
  if(CONVGEN_DNNL_CONFIG)
    file(STRINGS ${CONVGEN_DNNL_CONFIG} _convgen_dnnl_ocl REGEX "DNNL_GPU_RUNTIME \"OCL\"")
    if(_convgen_dnnl_ocl)
      find_package(OpenCL QUIET)
      if(NOT OpenCL_FOUND)
        set(_convgen_dnnl_usable FALSE)
        message(STATUS "convgen peers: oneDNN skipped: its CMake config requires OpenCL (ocl-icd-opencl-dev)")
      endif()
    endif()
  endif()
  if(_convgen_dnnl_usable)
    find_package(dnnl CONFIG QUIET)
  endif()
  if(_convgen_dnnl_usable AND dnnl_FOUND AND TARGET DNNL::dnnl)
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
