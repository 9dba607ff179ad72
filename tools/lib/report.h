// convgen tools: what the `bench` and `explore` reports (and the Google
// Benchmark suite) share — their test data, plain-text tables and the core
// count that % of peak is taken over — and the CLI's reading of
// `--threads 0`.
#ifndef CONVGEN_TOOLS_REPORT_H_
#define CONVGEN_TOOLS_REPORT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace convgen {
namespace tools {

// Random non-zero floats in [-1, -0.05] U [0.05, 1], fixed seed (benchdnn's
// "no zeros": a zero weight or input would hide a tap a kernel skipped).
inline std::vector<float> RandomNonZeroFloats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> magnitude(0.05f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = (rng() & 1) ? magnitude(rng) : -magnitude(rng);
  return v;
}

// Display width of a UTF-8 string (counts code points: tables use "×", "Δ").
inline size_t DisplayWidth(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

// Columns separated by two spaces, padded to the widest cell; columns from
// `first_numeric` on are right-aligned; trailing blanks trimmed.
inline std::string RenderTable(const std::vector<std::string>& header,
                               const std::vector<std::vector<std::string>>& rows,
                               size_t first_numeric) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = DisplayWidth(header[c]);
    for (const auto& row : rows) width[c] = std::max(width[c], DisplayWidth(row[c]));
  }
  std::string out;
  const auto append = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - DisplayWidth(row[c]), ' ');
      if (c > 0) line += "  ";
      line += c < first_numeric ? row[c] + pad : pad + row[c];
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  append(header);
  for (const auto& row : rows) append(row);
  return out;
}

// Hardware threads of this machine (at least 1).
inline int HardwareThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// A `--threads` value as the commands read it: 0 = one per CPU.
inline int ThreadsOrOnePerCpu(int threads) { return threads > 0 ? threads : HardwareThreads(); }

// Cores `threads` workers can use at once: % of peak is over min(threads, CPUs).
inline int EffectiveCores(int threads) { return std::max(1, std::min(threads, HardwareThreads())); }

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_REPORT_H_
