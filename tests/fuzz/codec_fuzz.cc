// libFuzzer target for the chunk codec frames (common/codec.h), byte planes
// included. The first input byte picks what the rest is:
//   0..127    a frame from the wire: Decompress, and DecompressDelta with a
//             base taken from the input, must fail cleanly or return at
//             most max_raw bytes;
//   128..191  raw chunk data: Compress with a hint the byte picks, then
//             Decompress must give the same bytes back;
//   192..255  raw data compressed as planes, then one byte of the frame
//             changed (position and value from the input): no crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/codec.h"
#include "common/delta_codec.h"

namespace {

constexpr size_t kMaxRaw = 1 << 20;

cairn::DataHint HintFrom(uint8_t selector, size_t size) {
  static constexpr cairn::DataHint::Class kClasses[] = {
      cairn::DataHint::Class::kUnknown,     cairn::DataHint::Class::kFloats,
      cairn::DataHint::Class::kMaybeFloats, cairn::DataHint::Class::kIntegers,
      cairn::DataHint::Class::kText,        cairn::DataHint::Class::kCompressed};
  cairn::DataHint hint;
  hint.kind = kClasses[selector % 6];
  hint.width = (selector / 6) % 3 == 0 ? 0 : 2 * ((selector / 6) % 3);
  hint.offset = size % 7;
  return hint;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const absl::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string raw;
  if (mode < 128) {
    absl::Status status = cairn::Decompress(rest, kMaxRaw, &raw);
    if (status.ok() ? raw.size() > kMaxRaw : !raw.empty()) abort();
    (void)cairn::DeltaBaseOf(rest);
    // The base: the input's tail, as long as mode says (the fuzzer can match
    // a frame's declared length).
    const size_t base_size = std::min(rest.size(), size_t{mode} * 64);
    status = cairn::DecompressDelta(rest, rest.substr(rest.size() - base_size), kMaxRaw, &raw);
    if (status.ok() ? raw.size() != base_size : !raw.empty()) abort();
    return 0;
  }
  std::string framed;
  if (mode < 192) {
    cairn::Compress(cairn::CodecChoice{}, rest, &framed, HintFrom(mode, rest.size()));
    if (!cairn::Decompress(framed, kMaxRaw, &raw).ok() || raw != rest) abort();
    return 0;
  }
  if (rest.size() < 4) return 0;
  const size_t position = static_cast<uint8_t>(rest[0]) | static_cast<uint8_t>(rest[1]) << 8;
  const char value = rest[2];
  cairn::Compress(cairn::CodecChoice{}, rest.substr(3), &framed,
                  {.kind = cairn::DataHint::Class::kFloats, .width = mode % 2 ? 2 : 4});
  framed[position % framed.size()] = value;
  absl::Status status = cairn::Decompress(framed, kMaxRaw, &raw);
  if (!status.ok() && !raw.empty()) abort();
  return 0;
}
