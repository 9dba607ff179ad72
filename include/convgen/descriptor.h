// convgen: oneDNN benchdnn convolution descriptors, with benchdnn's meaning.
//
//   g32mb1ic32ih112iw112oc32oh112ow112kh3kw3sh1sw1ph1pw1n"mobilenet:conv2_1/dw"
//
// Fields: g mb ic ih iw oc oh ow kh kw sh sw ph pw dh dw n, in any order, each
// at most once. A missing w-value copies the h-value; defaults g1, mb2 (as in
// benchdnn), stride 1, padding 0, dilation 0. benchdnn's dilation 0 means dense
// (PyTorch dilation 1). A missing oh/ow is deduced; a given one must equal the
// deduced size. `n"..."` names the layer.
#ifndef CONVGEN_DESCRIPTOR_H_
#define CONVGEN_DESCRIPTOR_H_

#include <string>
#include <string_view>

#include "convgen/conv2d.h"
#include "convgen/status.h"

namespace convgen {

struct LayerDesc {
  Conv2dParams params;
  std::string name;  // may be empty
};

// Parses and validates; on error `out` is left unchanged.
Status ParseDescriptor(std::string_view text, LayerDesc* out);

// Canonical benchdnn form, every field explicit (dilation in benchdnn's
// convention: dense = 0), e.g. "g1mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0n\"x\"".
// ParseDescriptor(FormatDescriptor(d)) == d.
std::string FormatDescriptor(const LayerDesc& desc);

// Short form that omits defaults and w-values equal to h-values.
std::string FormatDescriptorShort(const LayerDesc& desc);

}  // namespace convgen

#endif  // CONVGEN_DESCRIPTOR_H_
