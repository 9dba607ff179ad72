# CTest: install convgen into a scratch prefix, then build and run examples/
# as a separate CMake project with find_package(convgen): proves an
# application can link the installed package.
set(CONVGEN_EXAMPLE_PREFIX ${CMAKE_BINARY_DIR}/example-install)
add_test(NAME install_and_link_example
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${CMAKE_BINARY_DIR}
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
    -DPREFIX=${CONVGEN_EXAMPLE_PREFIX}
    -DGENERATOR=${CMAKE_GENERATOR}
    "-DSANITIZE=${_convgen_san_link}"
    -P ${CMAKE_CURRENT_SOURCE_DIR}/scripts/install_example.cmake)
set_tests_properties(install_and_link_example PROPERTIES TIMEOUT 300)
