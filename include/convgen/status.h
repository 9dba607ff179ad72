// convgen: error reporting.
//
// Every fallible public function returns a Status. An OK status has an empty
// message; an error names the offending field and value, e.g.
//   "invalid argument: groups=3 does not divide in_channels=64".
#ifndef CONVGEN_STATUS_H_
#define CONVGEN_STATUS_H_

#include <string>
#include <utility>

namespace convgen {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // a malformed problem, descriptor, file or option
  kOutOfRange,       // sizes that overflow int64 or exceed the address space
  kNotFound,         // e.g. a forced kernel or target name that does not exist
  kUnimplemented,    // a forced kernel that does not apply to the problem
  kInternal,
};

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}
inline Status OutOfRange(std::string message) {
  return Status(StatusCode::kOutOfRange, std::move(message));
}
inline Status NotFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status Unimplemented(std::string message) {
  return Status(StatusCode::kUnimplemented, std::move(message));
}

const char* StatusCodeName(StatusCode code);

}  // namespace convgen

// Propagates a non-OK Status to the caller.
#define CONVGEN_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::convgen::Status convgen_status_ = (expr); \
    if (!convgen_status_.ok()) return convgen_status_; \
  } while (0)

#endif  // CONVGEN_STATUS_H_
