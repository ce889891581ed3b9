// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing
// past U+10FFFF. For sniffing text and for strict JSON strings.
#ifndef CAIRN_COMMON_UTF8_H_
#define CAIRN_COMMON_UTF8_H_

#include "absl/strings/string_view.h"

namespace cairn {

// Length of the multi-byte sequence at s[0] (s[0] >= 0x80): 2..4 if it is
// well formed; -1 if s ends inside a sequence that is well formed so far; 0 if
// it is malformed (or s is empty).
int Utf8Sequence(absl::string_view s);

}  // namespace cairn

#endif  // CAIRN_COMMON_UTF8_H_
