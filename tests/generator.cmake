# The generator's self-test: spec round trip, unique names, every name parses
# back with the grammar of docs/kernels.md, register budgets, LPT balance.
add_test(NAME generator_selftest
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/gen/gen_kernels.py --self-test)

# tools/perf_report.py's aggregation of repeated runs (medians of per-run
# ratios, run pairing for scaling, bar verdicts) on made-up records.
add_test(NAME perf_report_selftest
         COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/perf_report.py --self-test)
