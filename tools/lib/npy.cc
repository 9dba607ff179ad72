// convgen tools: .npy reader and writer (see npy.h for what is accepted).
#include "npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cc copies '<f4' data in place and assumes a little-endian host"
#endif

namespace convgen {
namespace tools {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kFloatBytes = sizeof(float);
static_assert(kFloatBytes == 4, "float must be IEEE binary32");
// Largest element count whose byte size still fits int64.
constexpr int64_t kMaxElements = std::numeric_limits<int64_t>::max() / 4;
// numpy aligns the start of the data to 64 bytes (format.ARRAY_ALIGN).
constexpr size_t kDataAlign = 64;

// Printable rendering of arbitrary bytes for one-line messages: non-printable
// bytes become \xNN, long inputs are cut with "...".
std::string Escape(std::string_view bytes, size_t max_len = 72) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max_len; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (bytes.size() > max_len) out += "...";
  return out;
}

uint32_t LoadLittleEndian(std::string_view bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i]))
         << (8 * i);
  }
  return v;
}

bool IsPythonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}
bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

// The three fields numpy puts in every header.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// A strict recursive-descent parser for the subset of Python literal syntax
// that numpy writes: one dict with string keys; values are a string, True or
// False, or a tuple of non-negative ints. Anything else is an error: we never
// evaluate Python, and an unexpected construct means an unexpected file.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Status Parse(NpyHeader* header) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    for (;;) {
      SkipSpace();
      if (Consume('}')) break;
      const size_t key_pos = pos_;
      std::string key;
      CONVGEN_RETURN_IF_ERROR(ParseString(&key));
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after key '" + key + "'");
      SkipSpace();
      bool* seen = nullptr;
      Status value_status;
      if (key == "descr") {
        seen = &seen_descr;
        if (!AtQuote()) {
          return Error(
              "'descr' is not a string (structured dtypes are not supported)");
        }
        value_status = ParseString(&header->descr);
      } else if (key == "fortran_order") {
        seen = &seen_fortran;
        value_status = ParseBool(&header->fortran_order);
      } else if (key == "shape") {
        seen = &seen_shape;
        value_status = ParseShape(&header->shape);
      } else {
        pos_ = key_pos;
        return Error("unexpected key '" + Escape(key) +
                     "' (expected only 'descr', 'fortran_order', 'shape')");
      }
      if (*seen) {
        pos_ = key_pos;
        return Error("duplicate key '" + key + "'");
      }
      *seen = true;
      CONVGEN_RETURN_IF_ERROR(value_status);
      SkipSpace();
      if (Consume(',')) continue;
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the dict");
    if (!seen_descr) return Missing("descr");
    if (!seen_fortran) return Missing("fortran_order");
    if (!seen_shape) return Missing("shape");
    return Status::Ok();
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("header is not a valid dict literal: " + what +
                           " at offset " + std::to_string(pos_) + " of \"" +
                           Escape(text_, 120) + "\"");
  }
  Status Missing(const char* key) const {
    return InvalidArgument(std::string("header has no '") + key + "' key: \"" +
                           Escape(text_, 120) + "\"");
  }

  void SkipSpace() {
    while (pos_ < text_.size() && IsPythonSpace(text_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtQuote() const {
    return pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"');
  }

  // '...' or "..." without escapes (numpy never writes any in these fields).
  Status ParseString(std::string* out) {
    if (!AtQuote()) return Error("expected a quoted string");
    const char quote = text_[pos_++];
    const size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const char c = text_[pos_];
      if (c == '\\') return Error("escape sequences are not supported");
      if (c == '\n') return Error("unterminated string");
      ++pos_;
    }
    if (pos_ == text_.size()) return Error("unterminated string");
    *out = std::string(text_.substr(begin, pos_ - begin));
    ++pos_;  // closing quote
    return Status::Ok();
  }

  Status ParseBool(bool* out) {
    const size_t begin = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    const std::string_view word = text_.substr(begin, pos_ - begin);
    if (word == "True") {
      *out = true;
    } else if (word == "False") {
      *out = false;
    } else {
      pos_ = begin;
      return Error("'fortran_order' must be True or False");
    }
    return Status::Ok();
  }

  // "()", "(n,)", "(n, m)", "(n, m,)". "(n)" is the int n in Python, not a
  // tuple, and numpy rejects it too.
  Status ParseShape(std::vector<int64_t>* out) {
    if (!Consume('(')) return Error("'shape' must be a tuple such as (2, 3)");
    std::vector<int64_t> dims;
    SkipSpace();
    if (Consume(')')) {
      *out = std::move(dims);
      return Status::Ok();
    }
    for (;;) {
      int64_t dim = 0;
      CONVGEN_RETURN_IF_ERROR(ParseDim(&dim));
      dims.push_back(dim);
      SkipSpace();
      if (Consume(',')) {
        SkipSpace();
        if (Consume(')')) break;
        continue;
      }
      if (Consume(')')) {
        if (dims.size() == 1) {
          return Error("'shape' (" + std::to_string(dim) +
                       ") is an int, not a tuple: a 1-d shape is written (" +
                       std::to_string(dim) + ",)");
        }
        break;
      }
      return Error("expected ',' or ')' in 'shape'");
    }
    *out = std::move(dims);
    return Status::Ok();
  }

  // A non-negative decimal integer literal as Python 3 writes it (no sign, no
  // leading zeros), with an optional 'L' suffix from Python 2 era files.
  Status ParseDim(int64_t* out) {
    const size_t begin = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      return Error("negative dimension in 'shape'");
    }
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        return Error("dimension in 'shape' does not fit int64");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    const size_t digits = pos_ - begin;
    if (digits == 0) {
      return Error("dimension in 'shape' is not a non-negative integer");
    }
    if (pos_ < text_.size() &&
        (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E' ||
         text_[pos_] == 'j' || text_[pos_] == 'J')) {
      pos_ = begin;
      return Error("non-integer dimension in 'shape'");
    }
    if (digits > 1 && text_[begin] == '0') {
      pos_ = begin;
      return Error("dimension in 'shape' has a leading zero");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) {
      ++pos_;
    }
    if (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
      pos_ = begin;
      return Error("dimension in 'shape' is not a non-negative integer");
    }
    *out = value;
    return Status::Ok();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Element count of `shape`, or an error if it exceeds kMaxElements (so that
// the byte count fits int64) or has a negative dim.
Status CountElements(const std::vector<int64_t>& shape, int64_t* count) {
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d < 0) {
      return InvalidArgument("negative dimension " + std::to_string(d) +
                             " in shape " + ShapeToString(shape));
    }
    has_zero |= d == 0;
  }
  if (has_zero) {
    *count = 0;
    return Status::Ok();
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > kMaxElements / d) {
      return OutOfRange("shape " + ShapeToString(shape) +
                        " has more elements than fit in memory (over 2^61)");
    }
    n *= d;
  }
  *count = n;
  return Status::Ok();
}

// The parse, with `prefix` ("npy" or the file's path) before every message.
Status ParseNpyImpl(std::string_view bytes, const std::string& prefix,
                    NpyArray* out) {
  auto fail = [&](const Status& s) {
    return Status(s.code(), prefix + ": " + s.message());
  };
  const std::string_view magic = bytes.substr(0, kMagic.size());
  if (magic != kMagic.substr(0, magic.size())) {
    return fail(InvalidArgument("not a .npy file: bad magic '" +
                                Escape(magic) + "' (expected '\\x93NUMPY')"));
  }
  if (bytes.size() < kMagic.size() + 2) {
    return fail(InvalidArgument(
        "truncated header: the file has " + std::to_string(bytes.size()) +
        " bytes, fewer than the magic and the version"));
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (!(major >= 1 && major <= 3 && minor == 0)) {
    return fail(InvalidArgument("unsupported .npy format version " +
                                std::to_string(major) + "." +
                                std::to_string(minor) +
                                " (supported: 1.0, 2.0, 3.0)"));
  }
  // Version 1.0 stores the header length in 2 bytes, 2.0 and 3.0 in 4.
  const size_t length_width = major == 1 ? 2 : 4;
  const size_t header_begin = kMagic.size() + 2 + length_width;
  if (bytes.size() < header_begin) {
    return fail(InvalidArgument("truncated header: the file has " +
                                std::to_string(bytes.size()) +
                                " bytes, fewer than the " +
                                std::to_string(header_begin) +
                                "-byte preamble of version " +
                                std::to_string(major) + ".0"));
  }
  const size_t header_len = LoadLittleEndian(bytes, 8, length_width);
  if (bytes.size() - header_begin < header_len) {
    return fail(InvalidArgument(
        "truncated header: declares " + std::to_string(header_len) +
        " bytes, only " + std::to_string(bytes.size() - header_begin) +
        " present"));
  }
  NpyHeader header;
  const Status parsed =
      HeaderParser(bytes.substr(header_begin, header_len)).Parse(&header);
  if (!parsed.ok()) return fail(parsed);

  if (header.descr != "<f4") {
    return fail(InvalidArgument("dtype '" + Escape(header.descr) +
                                "' is not supported (expected '<f4', float32 "
                                "little-endian)"));
  }
  if (header.fortran_order) {
    return fail(InvalidArgument(
        "fortran_order is True: only C-order arrays are supported (save with "
        "numpy.ascontiguousarray)"));
  }
  int64_t count = 0;
  const Status counted = CountElements(header.shape, &count);
  if (!counted.ok()) return fail(counted);

  // Compare sizes before allocating anything: the header is untrusted.
  const uint64_t need = static_cast<uint64_t>(count) * kFloatBytes;
  const uint64_t have = bytes.size() - header_begin - header_len;
  if (have < need) {
    return fail(InvalidArgument(
        "truncated data: shape " + ShapeToString(header.shape) + " needs " +
        std::to_string(need) + " bytes of float32, only " +
        std::to_string(have) + " follow the header"));
  }
  if (have > need) {
    return fail(InvalidArgument(
        std::to_string(have - need) + " trailing bytes after the " +
        std::to_string(need) + " data bytes of shape " +
        ShapeToString(header.shape)));
  }
  NpyArray array;
  array.shape = std::move(header.shape);
  array.data.resize(static_cast<size_t>(count));
  if (count > 0) {
    std::memcpy(array.data.data(), bytes.data() + header_begin + header_len,
                static_cast<size_t>(need));
  }
  *out = std::move(array);
  return Status::Ok();
}

// Header bytes (magic to '\n') for float32 data of `shape`, C order.
std::string EncodeHeader(const std::vector<int64_t>& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " +
                     ShapeToString(shape) + ", }";
  // Pad with spaces so that preamble + dict + '\n' is a multiple of 64.
  auto padded = [&](size_t preamble) {
    const size_t unpadded = preamble + dict.size() + 1;
    return dict.size() + (kDataAlign - unpadded % kDataAlign) % kDataAlign + 1;
  };
  int major = 1;
  size_t preamble = kMagic.size() + 2 + 2;
  size_t header_len = padded(preamble);
  if (header_len > 0xffff) {  // only for shapes of thousands of dims
    major = 2;
    preamble = kMagic.size() + 2 + 4;
    header_len = padded(preamble);
  }
  std::string out(kMagic);
  out += static_cast<char>(major);
  out += '\0';
  const size_t width = major == 1 ? 2 : 4;
  for (size_t i = 0; i < width; ++i) {
    out += static_cast<char>((header_len >> (8 * i)) & 0xff);
  }
  out += dict;
  out.append(header_len - dict.size() - 1, ' ');
  out += '\n';
  return out;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// write(2) until done; false with errno set on failure.
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Status ParseNpy(std::string_view bytes, NpyArray* out) {
  return ParseNpyImpl(bytes, "npy", out);
}

Status ReadNpy(const std::string& path, NpyArray* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = "cannot open '" + path + "': " + ErrnoText(err);
    return err == ENOENT ? NotFound(msg) : InvalidArgument(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("cannot read '" + path + "': is a directory");
  }
  // The whole file is read, then parsed in place: simple, and the peak memory
  // is twice the tensor, which is fine for the CLI's one-layer tensors.
  std::string bytes;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    bytes.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return InvalidArgument("cannot read '" + path + "': " + ErrnoText(err));
    }
    if (r == 0) break;
    bytes.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return ParseNpyImpl(bytes, "'" + path + "'", out);
}

Status EncodeNpy(const std::vector<int64_t>& shape, const float* data,
                 std::string* out) {
  int64_t count = 0;
  CONVGEN_RETURN_IF_ERROR(CountElements(shape, &count));
  std::string bytes = EncodeHeader(shape);
  if (count > 0) {
    bytes.append(reinterpret_cast<const char*>(data),
                 static_cast<size_t>(count) * kFloatBytes);
  }
  *out = std::move(bytes);
  return Status::Ok();
}

Status WriteNpyAtomic(const std::string& path, const std::vector<int64_t>& shape,
                      const float* data) {
  int64_t count = 0;
  {
    const Status s = CountElements(shape, &count);
    if (!s.ok()) return Status(s.code(), "'" + path + "': " + s.message());
  }
  const std::string header = EncodeHeader(shape);

  // A temporary name beside `path` (same directory, hence same file system,
  // so rename(2) is atomic). O_EXCL with pid + counter: no clash with another
  // process or thread; mode 0666 lets the umask decide, like a plain create.
  static std::atomic<unsigned> counter{0};
  std::string temp;
  int fd = -1;
  int open_errno = 0;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    temp = path + ".tmp." + std::to_string(::getpid()) + "." +
           std::to_string(counter++);
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    open_errno = errno;
    if (fd < 0 && open_errno != EEXIST) break;
  }
  if (fd < 0) {
    return InvalidArgument("cannot create '" + temp + "' to write '" + path +
                           "': " + ErrnoText(open_errno));
  }
  auto abandon = [&](const std::string& what, int err) {
    ::unlink(temp.c_str());
    return Status(StatusCode::kInternal, what + ": " + ErrnoText(err));
  };
  const bool written =
      WriteAll(fd, header.data(), header.size()) &&
      WriteAll(fd, reinterpret_cast<const char*>(data),
               static_cast<size_t>(count) * kFloatBytes);
  if (!written) {
    const int err = errno;
    ::close(fd);
    return abandon("cannot write '" + temp + "'", err);
  }
  // close() reports delayed write errors (NFS, quota): check it.
  if (::close(fd) != 0) {
    const int err = errno;
    return abandon("cannot write '" + temp + "'", err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    return abandon("cannot rename '" + temp + "' to '" + path + "'", err);
  }
  return Status::Ok();
}

}  // namespace tools
}  // namespace convgen
