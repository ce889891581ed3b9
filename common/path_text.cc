#include "common/path_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cairn {
namespace {

// Length of the valid UTF-8 sequence at raw[i] (no overlongs, no surrogates,
// at most U+10FFFF), or 0.
size_t Utf8Length(absl::string_view raw, size_t i) {
  auto cont = [&](size_t j) {
    return j < raw.size() && (static_cast<unsigned char>(raw[j]) & 0xC0) == 0x80;
  };
  unsigned char c = static_cast<unsigned char>(raw[i]);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    unsigned char c1 = static_cast<unsigned char>(raw[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    unsigned char c1 = static_cast<unsigned char>(raw[i + 1]);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PathToText(absl::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    size_t n = IsControl(c) ? 0 : Utf8Length(raw, i);
    if (n == 0) {
      out += absl::StrFormat("\\x%02x", c);
      ++i;
      continue;
    }
    out.append(raw.data() + i, n);
    i += n;
  }
  return out;
}

bool IsPlainText(absl::string_view raw) {
  for (size_t i = 0; i < raw.size();) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    size_t n = IsControl(c) ? 0 : Utf8Length(raw, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsUtf8(absl::string_view raw) {
  for (size_t i = 0; i < raw.size();) {
    size_t n = Utf8Length(raw, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string TruncateUtf8(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

absl::StatusOr<std::string> PathFromText(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
      continue;
    }
    int hi = i + 3 < text.size() && text[i + 1] == 'x' ? HexDigit(text[i + 2]) : -1;
    int lo = hi >= 0 ? HexDigit(text[i + 3]) : -1;
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "path text has a backslash at byte ", i, " not followed by \\\\ or \\xHH"));
    }
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 3;
  }
  return out;
}

}  // namespace cairn
