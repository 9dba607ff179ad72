# Run by the install_and_link_example test (cmake -P).
file(REMOVE_RECURSE ${PREFIX} ${BUILD_DIR}/example-build)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
# A sanitizer build installs an instrumented libconvgen.a: the application
# must link the sanitizer runtimes too.
set(link_flags)
if(SANITIZE)
  set(link_flags "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=${SANITIZE}")
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${BUILD_DIR}/example-build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${PREFIX} ${link_flags})
run(${CMAKE_COMMAND} --build ${BUILD_DIR}/example-build)
run(${BUILD_DIR}/example-build/conv_example)
