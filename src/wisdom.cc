// Wisdom files: format, parsing, the per-path cache and the plan's lookup
// (see wisdom.h for the format and the rules).
#include "wisdom.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <utility>

#include "convgen/descriptor.h"
#include "targets.h"

#ifndef CONVGEN_VERSION
#error "CONVGEN_VERSION must be defined by the build (CMake PROJECT_VERSION)"
#endif

namespace convgen {
namespace internal {

const char* ConvgenVersion() { return CONVGEN_VERSION; }

std::string WisdomDescriptor(const Conv2dParams& params) {
  return FormatDescriptor(LayerDesc{params, ""});
}

namespace {

constexpr const char* kHeaderWord = "convgen-wisdom";

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Splits `line` into key=value fields; a value may be "double quoted".
Status SplitFields(const std::string& line, const std::string& where,
                   std::vector<std::pair<std::string, std::string>>* fields) {
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) return Status::Ok();
    const size_t eq = line.find('=', i);
    const size_t space = line.find_first_of(" \t", i);
    if (eq == std::string::npos || (space != std::string::npos && space < eq))
      return InvalidArgument(where + ": field '" + line.substr(i, space - i) +
                             "' is not key=value");
    const std::string key = line.substr(i, eq - i);
    if (key.empty()) return InvalidArgument(where + ": field with an empty key");
    i = eq + 1;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      const size_t close = line.find('"', i + 1);
      if (close == std::string::npos)
        return InvalidArgument(where + ": value of " + key + " has no closing quote");
      value = line.substr(i + 1, close - i - 1);
      i = close + 1;
      if (i < line.size() && line[i] != ' ' && line[i] != '\t')
        return InvalidArgument(where + ": text right after the closing quote of " + key);
    } else {
      const size_t end = line.find_first_of(" \t", i);
      value = line.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? line.size() : end;
    }
    // No value but a descriptor can carry a quote or a control character
    // (FormatWisdom drops quotes and line breaks, so a stray one would not
    // survive a round trip: found by fuzz_wisdom, fuzz/regressions/wisdom/
    // quote-inside-value and cr-inside-value); a desc may end in benchdnn's
    // name n"...", which canonicalisation drops.
    if (key != "desc")
      for (char c : value)
        if (c == '"' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
          return InvalidArgument(where + ": value of " + key +
                                 " has a quote or a control character inside it");
    for (const auto& f : *fields)
      if (f.first == key) return InvalidArgument(where + ": key " + key + " given twice");
    fields->emplace_back(key, value);
  }
}

bool ParseInt(const std::string& s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  *out = std::atoi(s.c_str());
  return true;
}

bool ParseNumber(const std::string& s, double* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !(v >= 0)) return false;
  *out = v;
  return true;
}

Status ParseRecord(const std::string& line, const std::string& where, WisdomEntry* e) {
  std::vector<std::pair<std::string, std::string>> fields;
  CONVGEN_RETURN_IF_ERROR(SplitFields(line, where, &fields));
  bool have_desc = false, have_target = false, have_kernel = false, have_version = false;
  for (const auto& [key, value] : fields) {
    const std::string bad = where + ": " + key + "=" + value;
    if (key == "desc") {
      LayerDesc layer;
      const Status s = ParseDescriptor(value, &layer);
      if (!s.ok()) return InvalidArgument(bad + " is not a valid descriptor: " + s.message());
      e->desc = WisdomDescriptor(layer.params);
      have_desc = true;
    } else if (key == "target") {
      if (value.empty()) return InvalidArgument(bad + ": empty target");
      e->target = value;
      have_target = true;
    } else if (key == "kernel") {
      if (value.empty()) return InvalidArgument(bad + ": empty kernel name");
      e->kernel = value;
      have_kernel = true;
    } else if (key == "version") {
      if (value.empty()) return InvalidArgument(bad + ": empty version");
      e->version = value;
      have_version = true;
    } else if (key == "r") {
      if (!ParseInt(value, &e->r)) return InvalidArgument(bad + " is not an integer >= 0");
    } else if (key == "v") {
      if (!ParseInt(value, &e->v)) return InvalidArgument(bad + " is not an integer >= 0");
    } else if (key == "gflops") {
      if (!ParseNumber(value, &e->gflops)) return InvalidArgument(bad + " is not a number >= 0");
    } else if (key == "cpu") {
      e->cpu = value;
    } else if (key == "date") {
      e->date = value;
    } else {
      return InvalidArgument(where + ": unknown key '" + key +
                             "' (keys: desc target kernel version r v gflops cpu date)");
    }
  }
  const char* missing = !have_desc      ? "desc"
                        : !have_target  ? "target"
                        : !have_kernel  ? "kernel"
                        : !have_version ? "version"
                                        : nullptr;
  if (missing) return InvalidArgument(where + ": missing key " + missing);
  return Status::Ok();
}

// ---- the per-path cache -------------------------------------------------------

struct LoadedWisdom {
  std::string path;
  Status status;  // not ok: the whole file is unusable, status says why
  std::vector<WisdomEntry> entries;
  // Per entry (same index): why it cannot be used whatever the layer, or "".
  std::vector<std::string> entry_problems;
  std::atomic<bool> warned{false};
};

void DefaultSink(const std::string& message) {
  std::fprintf(stderr, "convgen: warning: %s\n", message.c_str());
}
std::atomic<WisdomWarningSink> g_sink{&DefaultSink};

// At most one warning per file and process.
void WarnOnce(LoadedWisdom& file, const std::string& message) {
  if (file.warned.exchange(true)) return;
  g_sink.load()(message + "; plans use the heuristic");
}

// Problems of an entry that do not depend on the plan: version, kernel
// registered, same registry row (r, v), applies to its own layer.
std::string EntryProblem(const WisdomEntry& e) {
  if (e.version != ConvgenVersion())
    return "written by convgen " + e.version + ", this is convgen " + ConvgenVersion() +
           " (re-run `convgen tune`)";
  const KernelInfo* k = FindKernel(e.kernel);
  if (k == nullptr) return "kernel=" + e.kernel + " is not a registered kernel";
  if ((e.r >= 0 && e.r != k->r) || (e.v >= 0 && e.v != k->v))
    return "kernel=" + e.kernel + " recorded with r=" + std::to_string(e.r) +
           " v=" + std::to_string(e.v) + " but the registry has r=" + std::to_string(k->r) +
           " v=" + std::to_string(k->v);
  LayerDesc layer;
  std::string why;
  if (ParseDescriptor(e.desc, &layer).ok() && !k->applies(layer.params, &why))
    return "kernel=" + e.kernel + " does not apply to its layer: " + why;
  return "";
}

std::shared_ptr<LoadedWisdom> Load(const std::string& path) {
  auto file = std::make_shared<LoadedWisdom>();
  file->path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    file->status = NotFound("wisdom file=" + path + " cannot be read");
  } else {
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
      file->status = InvalidArgument("wisdom file=" + path + " cannot be read");
    else
      file->status = ParseWisdom(text.str(), path, &file->entries);
  }
  if (!file->status.ok()) {
    file->entries.clear();
    WarnOnce(*file, file->status.message());
    return file;
  }
  size_t unusable = 0;
  std::string first;
  for (const WisdomEntry& e : file->entries) {
    file->entry_problems.push_back(EntryProblem(e));
    if (file->entry_problems.back().empty()) continue;
    if (unusable++ == 0)
      first = "wisdom file=" + path + ":" + std::to_string(e.line) + ": " +
              file->entry_problems.back();
  }
  if (unusable > 0)
    WarnOnce(*file, first + " (" + std::to_string(unusable) + " of " +
                        std::to_string(file->entries.size()) + " entries unusable)");
  return file;
}

std::shared_ptr<LoadedWisdom> Cached(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<LoadedWisdom>> cache;
  // Loading under the lock: two plans racing for the same new path parse it
  // once and warn once; files are small (one line per layer and target).
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<LoadedWisdom>& slot = cache[path];
  if (!slot) slot = Load(path);
  return slot;
}

}  // namespace

Status ParseWisdom(const std::string& text, const std::string& source,
                   std::vector<WisdomEntry>* entries) {
  std::vector<WisdomEntry> parsed;
  std::istringstream in(text);
  std::string raw;
  bool have_header = false;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string where = source + ":" + std::to_string(line_no);
    if (raw.find('\0') != std::string::npos)
      return InvalidArgument(where + ": binary data (a NUL byte): not a wisdom file");
    const std::string line = Trim(raw);
    if (line.empty()) continue;
    if (!have_header) {
      std::istringstream words(line);
      std::string word, version, extra;
      words >> word >> version >> extra;
      if (word != kHeaderWord || version.empty() || !extra.empty())
        return InvalidArgument(where + ": not a wisdom file: the first line must be '" +
                               std::string(kHeaderWord) + " " +
                               std::to_string(kWisdomFormatVersion) + "', got '" +
                               line.substr(0, 60) + "'");
      if (version != std::to_string(kWisdomFormatVersion))
        return InvalidArgument(where + ": wisdom format version " + version +
                               ", this convgen reads version " +
                               std::to_string(kWisdomFormatVersion));
      have_header = true;
      continue;
    }
    if (line[0] == '#') continue;
    WisdomEntry e;
    CONVGEN_RETURN_IF_ERROR(ParseRecord(line, where, &e));
    e.line = line_no;
    parsed.push_back(std::move(e));
  }
  if (!have_header)
    return InvalidArgument(source + ": empty: no '" + std::string(kHeaderWord) + " " +
                           std::to_string(kWisdomFormatVersion) + "' header");
  // A file cut in the middle of a record: the last line has no newline and
  // fails to parse above, or parses as a shorter but valid record. Catch the
  // second case: tune always ends the file with a newline.
  if (!text.empty() && text.back() != '\n' && !parsed.empty() && parsed.back().line == line_no)
    return InvalidArgument(source + ":" + std::to_string(line_no) +
                           ": last line has no newline: the file looks truncated");
  *entries = std::move(parsed);
  return Status::Ok();
}

namespace {

// key=value, the value double-quoted when it holds a blank (SplitFields reads
// both forms); quotes and line breaks, which no value can carry, are dropped.
std::string FormatField(const char* key, const std::string& value) {
  std::string clean;
  for (char c : value)
    if (c != '"' && c != '\n' && c != '\r') clean += c;
  const bool quote = clean.empty() || clean.find_first_of(" \t") != std::string::npos;
  return std::string(" ") + key + "=" + (quote ? "\"" + clean + "\"" : clean);
}

// The shortest %g form (at least 6 digits) that reads back as the same double.
std::string FormatNumber(double v) {
  char buf[64];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::string FormatWisdom(const std::vector<WisdomEntry>& entries) {
  std::string out = std::string(kHeaderWord) + " " + std::to_string(kWisdomFormatVersion) + "\n";
  out +=
      "# written by `convgen tune`: one line per (layer, Highway target), the fastest kernel "
      "measured.\n"
      "# keys: desc (benchdnn, batch included) target kernel r v gflops version date cpu; "
      "see src/wisdom.h\n";
  for (const WisdomEntry& e : entries) {
    std::string line = FormatField("desc", e.desc) + FormatField("target", e.target) +
                       FormatField("kernel", e.kernel);
    if (e.r >= 0) line += " r=" + std::to_string(e.r);
    if (e.v >= 0) line += " v=" + std::to_string(e.v);
    if (e.gflops >= 0) line += " gflops=" + FormatNumber(e.gflops);
    line += FormatField("version", e.version);
    if (!e.date.empty()) line += FormatField("date", e.date);
    if (!e.cpu.empty()) line += FormatField("cpu", e.cpu);
    out += line.substr(1) + "\n";
  }
  return out;
}

WisdomChoice LookupWisdom(const std::string& path, const Conv2dParams& params,
                          int64_t hwy_target) {
  WisdomChoice choice;
  const std::shared_ptr<LoadedWisdom> file = Cached(path);
  if (!file->status.ok()) {
    choice.why_not = "file unusable: " + file->status.message();
    return choice;
  }
  const std::string desc = WisdomDescriptor(params);
  const std::string target = TargetName(hwy_target);
  // The later of two records for the same layer and target wins.
  for (size_t i = file->entries.size(); i-- > 0;) {
    const WisdomEntry& e = file->entries[i];
    if (e.desc != desc || e.target != target) continue;
    const std::string where = path + ":" + std::to_string(e.line);
    if (!file->entry_problems[i].empty()) {
      choice.why_not = where + ": " + file->entry_problems[i];
      return choice;
    }
    const KernelInfo* k = FindKernel(e.kernel);  // registered: checked at load
    std::string why;
    if (!k->applies(params, &why)) {  // cannot happen for a matching desc; be safe
      choice.why_not = where + ": kernel=" + e.kernel + " does not apply: " + why;
      WarnOnce(*file, "wisdom file=" + choice.why_not);
      return choice;
    }
    if (k->resolve(hwy_target) == nullptr) {
      choice.why_not = where + ": kernel=" + e.kernel + " is not compiled for " + target;
      WarnOnce(*file, "wisdom file=" + choice.why_not);
      return choice;
    }
    choice.kernel = k;
    choice.where = where;
    return choice;
  }
  choice.why_not = "no entry for " + desc + " on " + target;
  return choice;
}

WisdomWarningSink SetWisdomWarningSinkForTest(WisdomWarningSink sink) {
  return g_sink.exchange(sink ? sink : &DefaultSink);
}

}  // namespace internal
}  // namespace convgen
