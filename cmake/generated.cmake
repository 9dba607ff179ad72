# Generated kernels (gen/): owned by the generator work. Until it lands, an
# empty registry so that src/registry.cc compiles.
set(CONVGEN_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen)
if(NOT EXISTS ${CONVGEN_GEN_DIR}/convgen_registry.inc)
  file(WRITE ${CONVGEN_GEN_DIR}/convgen_registry.inc "// empty\n")
endif()
