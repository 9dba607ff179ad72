# Sanitizers and fuzzing instrumentation, applied to every target of the
# project (included from the top-level CMakeLists.txt before any target is
# defined, so directory-scope compile and link options reach them all).
#
#   -DCONVGEN_SANITIZE=address,undefined   ASan + UBSan (g++ or clang)
#   -DCONVGEN_SANITIZE=thread              TSan
#   -DCONVGEN_SANITIZE=memory              MSan (clang only; needs every
#                                          dependency instrumented: not usable
#                                          with Debian's Highway/pthreadpool)
#   -DCONVGEN_BUILD_FUZZERS=ON             libFuzzer targets in fuzz/ (clang):
#                                          every target gets coverage
#                                          instrumentation (fuzzer-no-link);
#                                          the fuzz executables link
#                                          -fsanitize=fuzzer.
#
# UBSan is made fatal (-fno-sanitize-recover=all): a finding aborts the test
# binary, so CTest reports it as a failure instead of a line in a log.
# -fno-omit-frame-pointer keeps the sanitizers' stack traces complete and
# cheap. Highway's dynamic dispatch and its AVX-512 code run unchanged under
# ASan/UBSan (the instrumentation sees only ordinary loads/stores through
# intrinsics). Runtime options the sanitizers need are in
# tools/ci_reliability.sh (ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS). TSan
# builds replace Debian's uninstrumented pthreadpool (below).
set(CONVGEN_SANITIZE "" CACHE STRING
    "Comma-separated sanitizers for every target: address,undefined | thread | memory")
option(CONVGEN_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (clang)" OFF)

set(_convgen_san "${CONVGEN_SANITIZE}")
if(CONVGEN_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONVGEN_BUILD_FUZZERS needs clang (libFuzzer): "
                        "-DCMAKE_CXX_COMPILER=clang++")
  endif()
  # The fuzzers always run under ASan + UBSan.
  if(_convgen_san STREQUAL "")
    set(_convgen_san "address,undefined")
  endif()
  set(_convgen_san "${_convgen_san},fuzzer-no-link")
endif()

if(NOT _convgen_san STREQUAL "")
  string(REPLACE "," ";" _convgen_san_list "${_convgen_san}")
  if("thread" IN_LIST _convgen_san_list AND "address" IN_LIST _convgen_san_list)
    message(FATAL_ERROR "CONVGEN_SANITIZE: thread and address cannot be combined")
  endif()
  set(_convgen_san_flags -fsanitize=${_convgen_san} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  # -O1 and line tables only: instrumented Highway TUs are slow to compile.
  # One generated kernel TU (gen_kernels_3.cc, 4 targets), CPU seconds on
  # this machine: g++ -O2 -g ASan+UBSan 193 s, g++ -O1 -g1 10 s; clang -O1
  # -gline-tables-only ASan 34 s, ASan+UBSan 131-179 s (clang's UBSan on
  # Highway's templates is the cost, see CONVGEN_FUZZ_KERNELS_UBSAN below).
  # -O1 keeps ASan's reports exact and the stack traces complete (file:line).
  # These come after CMAKE_CXX_FLAGS_<CONFIG>, so they win over -O2/-O3 -g.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    list(APPEND _convgen_san_flags -O1 -gline-tables-only)
  else()
    list(APPEND _convgen_san_flags -O1 -g1)
  endif()
  add_compile_options(${_convgen_san_flags})
  # fuzzer-no-link is a compile-time flag; link only the runtimes.
  string(REPLACE ",fuzzer-no-link" "" _convgen_san_link "${_convgen_san}")
  add_link_options(-fsanitize=${_convgen_san_link})
  if("thread" IN_LIST _convgen_san_list)
    # Debian's libpthreadpool is not instrumented: TSan cannot see the
    # happens-before edges of its atomics and reports every tile a worker
    # runs as a race. TSan builds link a TSan-visible implementation of the
    # pthreadpool calls convgen makes instead (fuzz/tsan_pthreadpool.cc);
    # cmake/Findpthreadpool.cmake keeps an existing pthreadpool::pthreadpool.
    add_library(convgen_tsan_pthreadpool STATIC
                ${CMAKE_CURRENT_LIST_DIR}/../fuzz/tsan_pthreadpool.cc)
    find_path(_convgen_pthreadpool_h pthreadpool.h)
    target_include_directories(convgen_tsan_pthreadpool PUBLIC ${_convgen_pthreadpool_h})
    find_package(Threads REQUIRED)
    target_link_libraries(convgen_tsan_pthreadpool PUBLIC Threads::Threads)
    # An IMPORTED name (not an ALIAS) so that install(EXPORT) of convgen,
    # which links pthreadpool::pthreadpool, does not need the shim exported.
    add_library(pthreadpool::pthreadpool INTERFACE IMPORTED)
    set_target_properties(pthreadpool::pthreadpool PROPERTIES
                          INTERFACE_LINK_LIBRARIES convgen_tsan_pthreadpool)
    message(STATUS "convgen: TSan build links fuzz/tsan_pthreadpool.cc instead of libpthreadpool")
  endif()
  message(STATUS "convgen: sanitizers ${_convgen_san} on every target")
endif()

# Fuzz builds (clang): UBSan off in the kernel TUs (generated and
# hand-written Highway families) unless CONVGEN_FUZZ_KERNELS_UBSAN=ON. With it
# a clang build of the library takes ~4x longer (above), and the kernels'
# UBSan coverage comes from the g++ ASan+UBSan build of the whole test suite
# (every kernel x target x edge matrix). ASan and coverage stay on everywhere:
# fuzz_plan still catches any out-of-bounds access of a kernel it runs.
option(CONVGEN_FUZZ_KERNELS_UBSAN "Fuzz builds: UBSan in the kernel TUs too" OFF)
# Appends compile options to the kernel TUs of `target`: the generated
# (gen_kernels_N.cc) and hand-written (src/kernels/*.cc) Highway families.
function(_convgen_kernel_source_options target)
  get_target_property(_srcs ${target} SOURCES)
  foreach(_src ${_srcs})
    if(_src MATCHES "gen_kernels_[0-9]+\\.cc$" OR _src MATCHES "src/kernels/[^/]+\\.cc$")
      set_property(SOURCE ${_src} APPEND PROPERTY COMPILE_OPTIONS ${ARGN})
    endif()
  endforeach()
endfunction()

function(convgen_fuzz_kernel_flags target)
  if(NOT CONVGEN_BUILD_FUZZERS OR CONVGEN_FUZZ_KERNELS_UBSAN)
    return()
  endif()
  _convgen_kernel_source_options(${target} -fno-sanitize=undefined)
endfunction()

# g++ ASan builds: the kernel TUs check memory accesses through calls into
# the ASan runtime instead of inline shadow checks. GCC inlines the checks up
# to 7000 accesses per function; smallmap's fully unrolled register tiles
# (hundreds of instantiations, up to 196 FMAs with their loads each) then
# made one TU take 13-22 minutes of one core, the whole of CI's asan part,
# on session 13's Intel Xeon host (`.ci/run` 47.6 min there). Measured on
# smallmap.cc compiled for AVX3 alone, ASan + UBSan at -O1: over 20 min
# inline (stopped), 246 s with the threshold at 0 (156 s with asan-stack=0
# too, which we keep on: it guards the kernels' stack tiles). The checks are
# the same; only their form changes.
function(convgen_asan_kernel_flags target)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU" OR NOT "address" IN_LIST _convgen_san_list)
    return()
  endif()
  _convgen_kernel_source_options(${target} --param=asan-instrumentation-with-call-threshold=0)
endfunction()
