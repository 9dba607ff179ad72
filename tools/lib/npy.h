// convgen tools: NumPy .npy files of float32, the CLI's tensor format.
//
// Format (numpy/lib/format.py, "NEP 1"): the magic "\x93NUMPY", a major and a
// minor version byte, the header length (uint16 little-endian in version 1.0,
// uint32 in 2.0 and 3.0), then the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n', then the raw data.
//
// What is accepted, and why:
//  - versions 1.0, 2.0 and 3.0 (3.0 only changes the header's encoding to
//    UTF-8; every token the parser accepts is ASCII, so it is the same parse);
//  - dtype '<f4' only (float32, little-endian). '|f4' is not a valid numpy
//    descr for a multi-byte type, '>f4' would need a byte swap, and '<f8',
//    '<i4'... would need a conversion the caller did not ask for: a silent
//    conversion would hide a wrong file;
//  - C order only (fortran_order False): the data is used in place as NCHW;
//  - exactly the keys descr, fortran_order and shape, each once (as numpy);
//  - dims are non-negative decimal integers (a Python 2 'L' suffix is
//    tolerated, as numpy does); () is a 0-d array of one element;
//  - the data must be exactly product(shape) * 4 bytes: short data and
//    trailing bytes are both errors. The declared size is checked against the
//    bytes present before anything is allocated, so a hostile header cannot
//    make the reader allocate more than the file holds.
#ifndef CONVGEN_TOOLS_NPY_H_
#define CONVGEN_TOOLS_NPY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "convgen/status.h"

namespace convgen {
namespace tools {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // product(shape) elements, C order
};

// Parses a whole .npy file held in memory. Pure (no I/O): safe to fuzz. On
// error `out` is left unchanged and the message names the defect, e.g.
// "npy: dtype '<f8' is not supported (expected '<f4', float32 little-endian)".
Status ParseNpy(std::string_view bytes, NpyArray* out);

// Reads and parses `path`; error messages are prefixed with the path.
Status ReadNpy(const std::string& path, NpyArray* out);

// The bytes of a version 1.0 (or 2.0 if the header needs it) .npy file of
// float32 in C order, header padded so that the data starts 64-byte aligned,
// as numpy writes it. Fails on a negative dim or a size that overflows.
Status EncodeNpy(const std::vector<int64_t>& shape, const float* data,
                 std::string* out);

// Writes `path` atomically: the file is written under a temporary name in the
// same directory and renamed over `path` only once complete. On any error the
// temporary file is removed and `path` is left as it was (absent or old).
Status WriteNpyAtomic(const std::string& path, const std::vector<int64_t>& shape,
                      const float* data);

// "(2, 3)", "(5,)", "()" — Python's tuple notation, used in messages.
std::string ShapeToString(const std::vector<int64_t>& shape);

}  // namespace tools
}  // namespace convgen

#endif  // CONVGEN_TOOLS_NPY_H_
