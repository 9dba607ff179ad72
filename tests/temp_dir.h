// A fresh directory under $TMPDIR (or /tmp) for one test, removed with its
// content; shared by the tests that write files (.npy I/O, the CLI, explore).
#ifndef CONVGEN_TESTS_TEMP_DIR_H_
#define CONVGEN_TESTS_TEMP_DIR_H_

#include <stdlib.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>

namespace convgen {
namespace testing {

class TempDir {
 public:
  // `tag` names the directory (convgen_<tag>_XXXXXX), to tell tests apart.
  explicit TempDir(const std::string& tag = "test") {
    const char* base = std::getenv("TMPDIR");
    std::string templ =
        std::string(base && *base ? base : "/tmp") + "/convgen_" + tag + "_XXXXXX";
    REQUIRE(::mkdtemp(&templ[0]) != nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Every entry, dot files included (temporary files must not survive).
  std::set<std::string> Entries() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      names.insert(e.path().filename().string());
    return names;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace convgen

#endif  // CONVGEN_TESTS_TEMP_DIR_H_
