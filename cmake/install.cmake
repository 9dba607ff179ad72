# install(): headers, library, CMake package (convgenConfig.cmake + version),
# so that an application does
#   find_package(convgen REQUIRED)
#   target_link_libraries(app PRIVATE convgen::convgen)
include(CMakePackageConfigHelpers)
set(CONVGEN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/convgen)

install(TARGETS convgen EXPORT convgenTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/convgen DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT convgenTargets NAMESPACE convgen:: DESTINATION ${CONVGEN_CMAKE_DIR})

configure_package_config_file(cmake/convgenConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/convgenConfig.cmake
  INSTALL_DESTINATION ${CONVGEN_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/convgenConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/convgenConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/convgenConfigVersion.cmake
              cmake/Findpthreadpool.cmake
        DESTINATION ${CONVGEN_CMAKE_DIR})
