// benchdnn convolution descriptor parser/formatter. Meaning follows oneDNN's
// benchdnn (doc/knobs_conv.md / conv problem descriptors): w-values default to
// h-values (and vice versa), mb defaults to 2, dilation counts the *gaps*
// between taps (0 = dense, PyTorch dilation - 1), oh/ow are deduced when
// absent and must match when given (convgen has symmetric padding only, so
// the given output size is a consistency check, not a right-padding source).
#include "convgen/descriptor.h"

#include <cctype>
#include <cstdint>
#include <map>
#include <string>

namespace convgen {
namespace {

const char* const kFields[] = {"g",  "mb", "ic", "ih", "iw", "oc", "oh", "ow", "kh",
                               "kw", "sh", "sw", "ph", "pw", "dh", "dw"};
// 3-D fields of benchdnn that a 2-D library cannot honour.
const char* const k3dFields[] = {"id", "od", "kd", "sd", "pd", "dd"};

bool IsField(const std::string& s, const char* const* list, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (s == list[i]) return true;
  return false;
}

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

Status ParseDescriptor(std::string_view text, LayerDesc* out) {
  if (out == nullptr) return InvalidArgument("descriptor output pointer is null");
  std::map<std::string, int64_t> v;
  std::string name;
  bool have_name = false;
  size_t i = 0;
  const size_t n = text.size();
  if (n == 0) return InvalidArgument("empty descriptor");
  while (i < n) {
    if (text[i] == '_') {  // benchdnn tolerates '_' between fields
      ++i;
      continue;
    }
    if (text[i] == 'n' && (i + 1 < n) && text[i + 1] == '"') {
      if (have_name) return InvalidArgument("descriptor field 'n' is repeated");
      const size_t close = text.find('"', i + 2);
      if (close == std::string_view::npos)
        return InvalidArgument("descriptor name n\"...\" is missing its closing quote");
      name = std::string(text.substr(i + 2, close - i - 2));
      have_name = true;
      i = close + 1;
      continue;
    }
    const size_t key_begin = i;
    while (i < n && std::islower(static_cast<unsigned char>(text[i]))) ++i;
    const std::string key(text.substr(key_begin, i - key_begin));
    if (key.empty())
      return InvalidArgument("unexpected " + Quote(text.substr(key_begin)) +
                             " in descriptor at offset " + std::to_string(key_begin));
    if (IsField(key, k3dFields, sizeof(k3dFields) / sizeof(k3dFields[0])))
      return InvalidArgument("descriptor field '" + key +
                             "' is 3-D; convgen computes 2-D convolutions");
    if (!IsField(key, kFields, sizeof(kFields) / sizeof(kFields[0])))
      return InvalidArgument("unknown descriptor field " + Quote(key) + " at offset " +
                             std::to_string(key_begin));
    if (v.count(key)) return InvalidArgument("descriptor field '" + key + "' is repeated");
    const size_t num_begin = i;
    bool negative = false;
    if (i < n && text[i] == '-') {
      negative = true;
      ++i;
    }
    const size_t digits_begin = i;
    int64_t value = 0;
    while (i < n && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, text[i] - '0', &value))
        return InvalidArgument("descriptor field '" + key + "' value " +
                               Quote(text.substr(num_begin, i + 1 - num_begin)) +
                               "... overflows int64");
      ++i;
    }
    if (i == digits_begin)
      return InvalidArgument("descriptor field '" + key + "' has no value at offset " +
                             std::to_string(num_begin));
    v[key] = negative ? -value : value;
  }

  for (const char* required : {"ic", "oc"})
    if (!v.count(required))
      return InvalidArgument(std::string("descriptor lacks the required field '") +
                             required + "'");
  // Each h/w pair: a missing one copies the other; both missing is an error
  // for sizes (ih/iw, kh/kw) and a default for the rest.
  auto pair = [&](const char* h, const char* w, bool required, int64_t dflt,
                  int64_t* hv, int64_t* wv) -> Status {
    const bool has_h = v.count(h), has_w = v.count(w);
    if (!has_h && !has_w) {
      if (required)
        return InvalidArgument(std::string("descriptor lacks '") + h + "' (and '" + w + "')");
      *hv = *wv = dflt;
      return Status::Ok();
    }
    *hv = has_h ? v[h] : v[w];
    *wv = has_w ? v[w] : v[h];
    return Status::Ok();
  };
  Conv2dParams p;
  p.groups = v.count("g") ? v["g"] : 1;
  p.batch = v.count("mb") ? v["mb"] : 2;
  p.in_channels = v["ic"];
  p.out_channels = v["oc"];
  int64_t dh = 0, dw = 0;
  CONVGEN_RETURN_IF_ERROR(pair("ih", "iw", true, 0, &p.in_height, &p.in_width));
  CONVGEN_RETURN_IF_ERROR(pair("kh", "kw", true, 0, &p.kernel_h, &p.kernel_w));
  CONVGEN_RETURN_IF_ERROR(pair("sh", "sw", false, 1, &p.stride_h, &p.stride_w));
  CONVGEN_RETURN_IF_ERROR(pair("ph", "pw", false, 0, &p.pad_h, &p.pad_w));
  CONVGEN_RETURN_IF_ERROR(pair("dh", "dw", false, 0, &dh, &dw));
  if (dh < 0) return InvalidArgument("dh=" + std::to_string(dh) + " must be >= 0 (0 = dense)");
  if (dw < 0) return InvalidArgument("dw=" + std::to_string(dw) + " must be >= 0 (0 = dense)");
  if (dh == INT64_MAX || dw == INT64_MAX) return InvalidArgument("dilation overflows");
  p.dilation_h = dh + 1;
  p.dilation_w = dw + 1;
  CONVGEN_RETURN_IF_ERROR(Validate(p));
  int64_t oh = 0, ow = 0;
  const bool has_out = v.count("oh") || v.count("ow");
  if (has_out) {
    CONVGEN_RETURN_IF_ERROR(pair("oh", "ow", false, 0, &oh, &ow));
    if (oh != p.out_height())
      return InvalidArgument("oh=" + std::to_string(oh) + " is inconsistent with the deduced output height " +
                             std::to_string(p.out_height()));
    if (ow != p.out_width())
      return InvalidArgument("ow=" + std::to_string(ow) + " is inconsistent with the deduced output width " +
                             std::to_string(p.out_width()));
  }
  out->params = p;
  out->name = name;
  return Status::Ok();
}

std::string FormatDescriptor(const LayerDesc& d) {
  const Conv2dParams& p = d.params;
  auto f = [](const char* k, int64_t x) { return std::string(k) + std::to_string(x); };
  std::string s = f("g", p.groups) + f("mb", p.batch) + f("ic", p.in_channels) +
                  f("ih", p.in_height) + f("iw", p.in_width) + f("oc", p.out_channels) +
                  f("oh", p.out_height()) + f("ow", p.out_width()) + f("kh", p.kernel_h) +
                  f("kw", p.kernel_w) + f("sh", p.stride_h) + f("sw", p.stride_w) +
                  f("ph", p.pad_h) + f("pw", p.pad_w) + f("dh", p.dilation_h - 1) +
                  f("dw", p.dilation_w - 1);
  if (!d.name.empty()) s += "n\"" + d.name + "\"";
  return s;
}

std::string FormatDescriptorShort(const LayerDesc& d) {
  const Conv2dParams& p = d.params;
  auto f = [](const char* k, int64_t x) { return std::string(k) + std::to_string(x); };
  std::string s;
  if (p.groups != 1) s += f("g", p.groups);
  s += f("mb", p.batch) + f("ic", p.in_channels) + f("ih", p.in_height);
  if (p.in_width != p.in_height) s += f("iw", p.in_width);
  s += f("oc", p.out_channels) + f("oh", p.out_height());
  if (p.out_width() != p.out_height()) s += f("ow", p.out_width());
  s += f("kh", p.kernel_h);
  if (p.kernel_w != p.kernel_h) s += f("kw", p.kernel_w);
  if (p.stride_h != 1 || p.stride_w != 1) {
    s += f("sh", p.stride_h);
    if (p.stride_w != p.stride_h) s += f("sw", p.stride_w);
  }
  s += f("ph", p.pad_h);
  if (p.pad_w != p.pad_h) s += f("pw", p.pad_w);
  if (p.dilation_h != 1 || p.dilation_w != 1) {
    s += f("dh", p.dilation_h - 1);
    if (p.dilation_w != p.dilation_h) s += f("dw", p.dilation_w - 1);
  }
  if (!d.name.empty()) s += "n\"" + d.name + "\"";
  return s;
}

}  // namespace convgen
