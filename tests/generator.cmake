# The generator's self-test: spec round trip, unique names, every name parses
# back with the grammar of docs/kernels.md, register budgets, LPT balance.
add_test(NAME generator_selftest
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/gen/gen_kernels.py --self-test)
