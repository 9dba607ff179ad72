// End-to-end tests of `convgen run` and `convgen cost`: the CLI binary
// (CONVGEN_CLI_PATH) is spawned without a shell, so an exit code is an exit
// code and a signal is a signal. Tensors are .npy files the test writes.
//
// Error contract checked for every failure: exit status exactly 2, exactly
// one line on stderr ("convgen: error: ..."), no output file and no
// temporary file left, and a pre-existing output file left untouched.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "convgen/conv2d.h"
#include "convgen/descriptor.h"
#include "convgen/reference.h"
#include "npy.h"
#include "temp_dir.h"

extern char** environ;

namespace {

using convgen::tools::NpyArray;

using convgen::testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

struct CliResult {
  bool exited = false;  // false: killed by a signal
  int code = -1;        // exit status, or the signal number
  std::string out, err;
};

// Runs the CLI with `args`; stdout and stderr go to files in a directory of
// their own, so that the working directory's listing only shows the tool's
// files.
CliResult RunCli(const std::vector<std::string>& args) {
  TempDir io;
  const std::string out_path = io.File("stdout"), err_path = io.File("stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> argv_storage = {CONVGEN_CLI_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, CONVGEN_CLI_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawn_error == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CliResult r;
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

std::string CommandLine(const std::vector<std::string>& args) {
  std::string s = "convgen";
  for (const auto& a : args) s += " '" + a + "'";
  return s;
}

void Save(const std::string& path, const std::vector<int64_t>& shape,
          const std::vector<float>& data) {
  REQUIRE(convgen::tools::WriteNpyAtomic(path, shape, data.data()).ok());
}

// The book's tensors: X = [[0..8], [1..9]] as 2 x 3 x 3 and
// K = [[[0,1],[2,3]], [[1,2],[3,4]]] as 2 x 2 x 2.
const std::vector<float> kBookX = {0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9};
const std::vector<float> kBookK = {0, 1, 2, 3, 1, 2, 3, 4};

std::vector<float> BookKStacked() {  // K, K+1, K+2 as 3 x 2 x 2 x 2
  std::vector<float> k;
  for (int s = 0; s < 3; ++s)
    for (float v : kBookK) k.push_back(v + static_cast<float>(s));
  return k;
}

NpyArray Load(const std::string& path) {
  NpyArray a;
  const convgen::Status s = convgen::tools::ReadNpy(path, &a);
  INFO(s.message());
  REQUIRE(s.ok());
  return a;
}

void RequireSuccess(const CliResult& r, const std::vector<std::string>& args) {
  INFO(CommandLine(args) << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.exited);
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
}

}  // namespace

TEST_CASE("cli run reproduces the book multiple input channel example", "[cli]") {
  TempDir dir;
  Save(dir.File("x.npy"), {1, 2, 3, 3}, kBookX);
  Save(dir.File("k.npy"), {1, 2, 2, 2}, kBookK);
  const std::vector<std::string> args = {"run",           "mb1ic2ih3oc1oh2kh2",
                                         "--input",       dir.File("x.npy"),
                                         "--weights",     dir.File("k.npy"),
                                         "--output",      dir.File("y.npy")};
  RequireSuccess(RunCli(args), args);
  const NpyArray y = Load(dir.File("y.npy"));
  CHECK(y.shape == std::vector<int64_t>{1, 1, 2, 2});
  CHECK(y.data == std::vector<float>{56, 72, 104, 120});
  CHECK(dir.Entries() == std::set<std::string>{"x.npy", "k.npy", "y.npy"});
}

TEST_CASE("cli run reproduces the book multiple output channel example", "[cli]") {
  TempDir dir;
  Save(dir.File("x.npy"), {1, 2, 3, 3}, kBookX);
  Save(dir.File("k.npy"), {3, 2, 2, 2}, BookKStacked());
  const std::vector<std::string> args = {"run",       "mb1ic2ih3oc3oh2kh2", "--input",
                                         dir.File("x.npy"), "--weights", dir.File("k.npy"),
                                         "--output",  dir.File("y.npy")};
  RequireSuccess(RunCli(args), args);
  const NpyArray y = Load(dir.File("y.npy"));
  CHECK(y.shape == std::vector<int64_t>{1, 3, 2, 2});
  CHECK(y.data ==
        std::vector<float>{56, 72, 104, 120, 76, 100, 148, 172, 96, 128, 192, 224});
}

TEST_CASE("cli run applies bias and clamp", "[cli]") {
  TempDir dir;
  Save(dir.File("x.npy"), {1, 2, 3, 3}, kBookX);
  Save(dir.File("k.npy"), {3, 2, 2, 2}, BookKStacked());
  Save(dir.File("b.npy"), {3}, {1, -100, 0.5f});
  struct Case {
    std::string clamp;
    std::vector<float> expected;
  };
  const std::vector<Case> cases = {
      {"0,100", {57, 73, 100, 100, 0, 0, 48, 72, 96.5f, 100, 100, 100}},
      {"0,", {57, 73, 105, 121, 0, 0, 48, 72, 96.5f, 128.5f, 192.5f, 224.5f}},
      {",inf", {57, 73, 105, 121, -24, 0, 48, 72, 96.5f, 128.5f, 192.5f, 224.5f}},
      {"-inf,60", {57, 60, 60, 60, -24, 0, 48, 60, 60, 60, 60, 60}},
      {",", {57, 73, 105, 121, -24, 0, 48, 72, 96.5f, 128.5f, 192.5f, 224.5f}},
  };
  for (const Case& c : cases) {
    const std::vector<std::string> args = {
        "run",    "mb1ic2ih3oc3oh2kh2", "--input", dir.File("x.npy"), "--weights",
        dir.File("k.npy"), "--bias", dir.File("b.npy"), "--clamp", c.clamp,
        "--output", dir.File("y.npy")};
    RequireSuccess(RunCli(args), args);
    INFO("--clamp " << c.clamp);
    CHECK(Load(dir.File("y.npy")).data == c.expected);
  }
}

TEST_CASE("cli run with the default batch of two and forced options", "[cli]") {
  // benchdnn's mb defaults to 2: the input is 2 x 2 x 3 x 3. Compared with
  // the reference on integer data (exact in float).
  TempDir dir;
  std::vector<float> x = kBookX;
  for (float v : kBookX) x.push_back(10 - v);
  convgen::LayerDesc desc;
  REQUIRE(convgen::ParseDescriptor("ic2ih3oc3oh2kh2", &desc).ok());
  REQUIRE(desc.params.batch == 2);
  const std::vector<float> k = BookKStacked();
  const std::vector<float> bias = {1, 2, 3};
  std::vector<float> expected(static_cast<size_t>(desc.params.output_elements()));
  convgen::ReferenceConv2d(desc.params, x.data(), k.data(), bias.data(), -INFINITY, INFINITY, 0,
                           expected.data());
  Save(dir.File("x.npy"), {2, 2, 3, 3}, x);
  Save(dir.File("k.npy"), {3, 2, 2, 2}, k);
  Save(dir.File("b.npy"), {3}, bias);
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, {"--threads", "1"}, {"--threads", "2"},
        {"--target", "SCALAR"}}) {
    std::vector<std::string> args = {"run",    "ic2ih3oc3oh2kh2", "--input", dir.File("x.npy"),
                                     "--weights", dir.File("k.npy"), "--bias", dir.File("b.npy"),
                                     "--output", dir.File("y.npy")};
    args.insert(args.end(), extra.begin(), extra.end());
    RequireSuccess(RunCli(args), args);
    const NpyArray y = Load(dir.File("y.npy"));
    CHECK(y.shape == std::vector<int64_t>{2, 3, 2, 2});
    CHECK(y.data == expected);
  }
}

TEST_CASE("cli run errors exit 2 with one line and write nothing", "[cli]") {
  TempDir dir;
  Save(dir.File("x.npy"), {1, 2, 3, 3}, kBookX);
  Save(dir.File("k.npy"), {1, 2, 2, 2}, kBookK);
  Save(dir.File("b.npy"), {1}, {0.5f});
  Save(dir.File("x_wide.npy"), {1, 2, 3, 4}, std::vector<float>(24, 1.f));
  Save(dir.File("x_3d.npy"), {2, 3, 3}, kBookX);
  Save(dir.File("k_3x3.npy"), {1, 2, 3, 3}, std::vector<float>(18, 1.f));
  Save(dir.File("b_2.npy"), {2}, {0.5f, 1.f});
  std::string f8 = ReadFile(dir.File("x.npy"));
  f8.replace(f8.find("<f4"), 3, "<f8");
  WriteFile(dir.File("x_f8.npy"), f8);
  const std::string x_bytes = ReadFile(dir.File("x.npy"));
  WriteFile(dir.File("x_cut.npy"), x_bytes.substr(0, x_bytes.size() - 5));
  WriteFile(dir.File("garbage.npy"), "not an array at all\n");
  const std::set<std::string> inputs = dir.Entries();

  const std::string X = dir.File("x.npy"), K = dir.File("k.npy"), B = dir.File("b.npy");
  const std::string Y = dir.File("y.npy");
  auto run = [&](const std::string& desc, const std::string& x, const std::string& k,
                 std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", desc, "--input", x, "--weights", k, "--output", Y};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::string D = "mb1ic2ih3oc1oh2kh2";
  struct Case {
    std::vector<std::string> args;
    std::string expect;  // fragment of the message
  };
  const std::vector<Case> cases = {
      {run("mb1ic2ih3oc1oh2kh2zz9", X, K, {}), "descriptor"},
      {run("mb1ic2ih3oc1kh5", X, K, {}), "descriptor"},
      {run("mb1ic2ih3oc1oh3kh2", X, K, {}), "descriptor"},
      {run(D, dir.File("missing.npy"), K, {}), "missing.npy"},
      {run(D, X, dir.File("missing.npy"), {}), "missing.npy"},
      {run(D, X, K, {"--bias", dir.File("missing.npy")}), "missing.npy"},
      {run(D, dir.File("x_wide.npy"), K, {}), "(1, 2, 3, 4)"},
      {run(D, dir.File("x_3d.npy"), K, {}), "expected (1, 2, 3, 3)"},
      {run(D, X, dir.File("k_3x3.npy"), {}), "expected (1, 2, 2, 2)"},
      {run(D, X, K, {"--bias", dir.File("b_2.npy")}), "expected (1,)"},
      {run(D, dir.File("x_f8.npy"), K, {}), "'<f8'"},
      {run(D, dir.File("x_cut.npy"), K, {}), "truncated"},
      {run(D, dir.File("garbage.npy"), K, {}), "bad magic"},
      {run(D, X, K, {"--bias", dir.File("garbage.npy")}), "garbage.npy"},
      {run(D, dir.File(""), K, {}), "directory"},
      {run(D, X, K, {"--clamp", "abc"}), "--clamp"},
      {run(D, X, K, {"--clamp", "1"}), "--clamp '1'"},
      {run(D, X, K, {"--clamp", "1,2,3"}), "--clamp"},
      {run(D, X, K, {"--clamp", "nan,1"}), "not a number"},
      {run(D, X, K, {"--clamp", "0,6x"}), "not a number"},
      {run(D, X, K, {"--clamp", "1e50,"}), "out of float range"},
      {run(D, X, K, {"--clamp", "6,0"}), "MIN is greater than MAX"},
      {run(D, X, K, {"--kernel", "no_such_kernel"}), "no_such_kernel"},
      {run(D, X, K, {"--target", "AVX9000"}), "AVX9000"},
      {run(D, X, K, {"--threads", "-1"}), "--threads"},
      {run(D, X, K, {"--threads", "many"}), "--threads"},
      {run(D, X, K, {"--bias", B, "--shuffle", "-2"}), "--shuffle"},
      {{"run", D, "--input", X, "--weights", K, "--output", dir.File("no/such/dir/y.npy")},
       "no/such/dir/y.npy"},
      {{"run", D, "--input", X, "--weights", K}, "--output"},
  };
  for (const Case& c : cases) {
    for (bool output_exists : {false, true}) {
      if (output_exists) WriteFile(Y, "precious");
      const CliResult r = RunCli(c.args);
      INFO(CommandLine(c.args) << "\nstdout: " << r.out << "\nstderr: " << r.err);
      REQUIRE(r.exited);  // not a signal
      CHECK(r.code == 2);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
      CHECK(r.err.back() == '\n');
      CHECK(r.err.rfind("convgen: error: ", 0) == 0);
      CHECK(r.err.find(c.expect) != std::string::npos);
      if (output_exists) {
        CHECK(ReadFile(Y) == "precious");
        std::filesystem::remove(Y);
      }
      CHECK(dir.Entries() == inputs);  // no output, no temporary file
    }
  }
}

namespace {

// A strict little JSON reader, enough to check the cost report: it flattens
// objects into "a.b.c" -> value text and fails on any syntax error.
class FlatJson {
 public:
  explicit FlatJson(const std::string& text) : s_(text) {}
  bool Parse(std::map<std::string, std::string>* out) {
    out_ = out;
    if (!Value("")) return false;
    Space();
    return pos_ == s_.size();
  }

 private:
  void Space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool String(std::string* out) {
    if (pos_ >= s_.size() || s_[pos_] != '"') return false;
    ++pos_;
    out->clear();
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\') ++pos_;
      if (pos_ < s_.size()) *out += s_[pos_++];
    }
    if (pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  bool Value(const std::string& path) {
    Space();
    if (pos_ >= s_.size()) return false;
    if (s_[pos_] == '{') {
      ++pos_;
      Space();
      if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
      for (;;) {
        Space();
        std::string key;
        if (!String(&key)) return false;
        Space();
        if (pos_ >= s_.size() || s_[pos_++] != ':') return false;
        if (!Value(path.empty() ? key : path + "." + key)) return false;
        Space();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (pos_ < s_.size() && s_[pos_] == '}') return ++pos_, true;
        return false;
      }
    }
    if (s_[pos_] == '"') {
      std::string v;
      if (!String(&v)) return false;
      (*out_)[path] = v;
      return true;
    }
    const size_t begin = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == '.'))
      ++pos_;
    const std::string token = s_.substr(begin, pos_ - begin);
    if (token.empty()) return false;
    if (token != "true" && token != "false" && token != "null") {
      char* end = nullptr;
      std::strtod(token.c_str(), &end);
      if (*end != '\0') return false;
    }
    (*out_)[path] = token;
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::map<std::string, std::string>* out_ = nullptr;
};

}  // namespace

TEST_CASE("cli cost json smoke test", "[cli]") {
  const std::vector<std::string> args = {"cost", "mb1ic128ih256oc128kh5ph2", "--json"};
  const CliResult r = RunCli(args);
  RequireSuccess(r, args);
  std::map<std::string, std::string> flat;
  INFO(r.out);
  REQUIRE(FlatJson(r.out).Parse(&flat));
  CHECK(flat["title"] == "mb1ic128ih256oc128kh5ph2");
  CHECK(flat["with_bias"] == "true");
  CHECK(flat["layer.forward.multiplications"] == "26843545600");
  CHECK(flat["layer.forward.operations"] == "53687091200");
  CHECK(flat["layer.forward.flops"] == "53687091200");
  CHECK(flat["double_channels.forward_ops_factor"] == "4");
  CHECK(flat["double_padding.forward.multiplications"] == "27688960000");  // 260 x 260 out
  for (const char* section : {"layer", "double_channels", "double_padding"}) {
    for (const char* key :
         {"descriptor", "parameters", "forward.additions", "backward_input.multiplications",
          "backward_input.additions", "backward_weights.multiplications",
          "backward_weights.additions", "backward_bias.additions", "backward.operations",
          "forward_memory_bytes.input", "forward_memory_bytes.weights",
          "forward_memory_bytes.bias", "forward_memory_bytes.output",
          "forward_memory_bytes.total", "backward_memory_bytes.grad_input",
          "backward_memory_bytes.total"}) {
      INFO(section << "." << key);
      CHECK(flat.count(std::string(section) + "." + key) == 1);
    }
  }

  const CliResult no_bias = RunCli({"cost", "mb1ic128ih256oc128kh5ph2", "--json", "--no-bias"});
  REQUIRE(no_bias.code == 0);
  std::map<std::string, std::string> flat_nb;
  REQUIRE(FlatJson(no_bias.out).Parse(&flat_nb));
  CHECK(flat_nb["with_bias"] == "false");
  CHECK(flat_nb["layer.forward_memory_bytes.bias"] == "0");
}

TEST_CASE("cli cost text report help and errors", "[cli]") {
  const CliResult text = RunCli({"cost", "mb1ic128ih256oc128kh5ph2"});
  REQUIRE(text.exited);
  REQUIRE(text.code == 0);
  CHECK(text.out.find("26,843,545,600") != std::string::npos);
  CHECK(text.out.find("53,687,091,200") != std::string::npos);

  const CliResult help = RunCli({"cost", "--help"});
  REQUIRE(help.exited);
  CHECK(help.code == 0);
  CHECK(help.out.find("m-1 additions") != std::string::npos);
  CHECK(help.out.find("backward memory") != std::string::npos);

  const CliResult bad = RunCli({"cost", "mb1ic128ih256oc128kh5ph2qq"});
  REQUIRE(bad.exited);
  CHECK(bad.code == 2);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(bad.err.rfind("convgen: error: descriptor", 0) == 0);
}

TEST_CASE("cli kernels and peak take --threads", "[cli]") {
  // shuffle_g3_1x1: the plan's 2-thread cut is even (tiling.cc); how many
  // tiles depends on the register block the CPU's kernel has (6 with R = 8).
  const CliResult tiles = RunCli({"kernels", "g3mb1ic240ih28oc240oh28kh1ph0", "--threads", "2"});
  REQUIRE(tiles.exited);
  REQUIRE(tiles.code == 0);
  const size_t cut = tiles.out.find("2 threads: ");
  REQUIRE(cut != std::string::npos);
  CHECK(tiles.out.find(" tiles, busiest thread 0.0% over an even share", cut) != std::string::npos);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"kernels", "mb1ic4ih8oc4oh8kh3ph1", "--threads", "-1"},
        std::vector<std::string>{"peak", "--threads", "-1"}}) {
    const CliResult bad = RunCli(args);
    REQUIRE(bad.exited);
    CHECK(bad.code == 2);
    CHECK(bad.out.empty());
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
    CHECK(bad.err.find("--threads=-1 must be >= 0") != std::string::npos);
  }
}

TEST_CASE("cli bench takes a list of thread counts", "[cli]") {
  // --threads 1,2: both counts in turns, a scaling column; the descriptor
  // after the list stays a descriptor (one token per --threads).
  const CliResult both = RunCli({"bench", "--threads", "1,2", "mb1ic4ih8oc4oh8kh3ph1n\"tiny\"",
                                 "--reps", "1", "--min-time", "0"});
  INFO(both.err);
  REQUIRE(both.exited);
  REQUIRE(both.code == 0);
  CHECK(both.out.find("scaling") != std::string::npos);
  CHECK(std::count(both.out.begin(), both.out.end(), '\n') >= 3);  // header + rule? + 2 rows
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"bench", "mb1ic4ih8oc4oh8kh3ph1", "--threads", "1,x"},
        std::vector<std::string>{"bench", "mb1ic4ih8oc4oh8kh3ph1", "--threads", "1,1"},
        std::vector<std::string>{"bench", "mb1ic4ih8oc4oh8kh3ph1", "--threads", "0"}}) {
    const CliResult bad = RunCli(args);
    INFO(args[3]);
    REQUIRE(bad.exited);
    CHECK(bad.code == 2);
    CHECK(bad.out.empty());
    CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
    CHECK(bad.err.find("threads") != std::string::npos);
  }
}
