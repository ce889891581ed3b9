#include "tests/e2e/json_util.h"

#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_reader.h"
#include "gtest/gtest.h"

namespace cairn::e2e {

std::string JsonUnescape(absl::string_view raw) {
  const std::string quoted = absl::StrCat("\"", raw, "\"");
  JsonReader in(quoted);
  std::string out;
  EXPECT_TRUE(in.ReadString(&out).ok()) << raw;
  return out;
}
namespace {

// A checker for RFC 8259 JSON, enough to tell a script it can parse our output.
class JsonChecker final {
 public:
  explicit JsonChecker(absl::string_view s) : s_(s) {}

  bool Sequence() {
    Whitespace();
    if (i_ >= s_.size()) return false;
    while (i_ < s_.size()) {
      if (!Value(0)) return false;
      Whitespace();
    }
    return true;
  }

 private:
  void Whitespace() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') return String();
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number();
  }
  bool Object(int depth) {
    Eat('{');
    Whitespace();
    if (Eat('}')) return true;
    while (true) {
      Whitespace();
      if (!String()) return false;
      Whitespace();
      if (!Eat(':')) return false;
      Whitespace();
      if (!Value(depth + 1)) return false;
      Whitespace();
      if (Eat('}')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool Array(int depth) {
    Eat('[');
    Whitespace();
    if (Eat(']')) return true;
    while (true) {
      Whitespace();
      if (!Value(depth + 1)) return false;
      Whitespace();
      if (Eat(']')) return true;
      if (!Eat(',')) return false;
    }
  }
  bool String() {
    if (!Eat('"')) return false;
    while (i_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        char e = s_[i_++];
        if (e == 'u') {
          for (int k = 0; k < 4; ++k) {
            if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_++]))) {
              return false;
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return false;
        }
      }
    }
    return false;
  }
  bool Literal(absl::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool Digits() {
    size_t start = i_;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ > start;
  }
  bool Number() {
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    return true;
  }

  absl::string_view s_;
  size_t i_ = 0;
};

// Positions just past `"key":` (and any spaces) for every occurrence.
std::vector<size_t> ValuePositions(absl::string_view json, absl::string_view key) {
  std::vector<size_t> positions;
  std::string needle = absl::StrCat("\"", key, "\"");
  size_t at = 0;
  while ((at = json.find(needle, at)) != absl::string_view::npos) {
    size_t i = at + needle.size();
    at = i;
    while (i < json.size() && json[i] == ' ') ++i;
    if (i >= json.size() || json[i] != ':') continue;
    ++i;
    while (i < json.size() && json[i] == ' ') ++i;
    positions.push_back(i);
  }
  return positions;
}

}  // namespace

bool IsValidJson(absl::string_view text) { return JsonChecker(text).Sequence(); }

std::vector<std::string> JsonStrings(absl::string_view json, absl::string_view key) {
  std::vector<std::string> values;
  for (size_t i : ValuePositions(json, key)) {
    if (i >= json.size() || json[i] != '"') continue;
    std::string value;
    for (++i; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\' && i + 1 < json.size()) value += json[i++];
      value += json[i];
    }
    values.push_back(std::move(value));
  }
  return values;
}

std::vector<int64_t> JsonInts(absl::string_view json, absl::string_view key) {
  std::vector<int64_t> values;
  for (size_t i : ValuePositions(json, key)) {
    if (i < json.size() && json[i] == '"') ++i;
    size_t end = i;
    if (end < json.size() && json[end] == '-') ++end;
    while (end < json.size() && std::isdigit(static_cast<unsigned char>(json[end]))) ++end;
    int64_t v;
    if (absl::SimpleAtoi(json.substr(i, end - i), &v)) values.push_back(v);
  }
  return values;
}

std::vector<double> JsonDoubles(absl::string_view json, absl::string_view key) {
  std::vector<double> values;
  for (size_t i : ValuePositions(json, key)) {
    if (i < json.size() && json[i] == '"') ++i;
    size_t end = i;
    while (end < json.size() &&
           absl::string_view("+-.eE0123456789").find(json[end]) != absl::string_view::npos) {
      ++end;
    }
    double v;
    if (absl::SimpleAtod(json.substr(i, end - i), &v)) values.push_back(v);
  }
  return values;
}

std::vector<bool> JsonBools(absl::string_view json, absl::string_view key) {
  std::vector<bool> values;
  for (size_t i : ValuePositions(json, key)) {
    if (json.substr(i, 4) == "true") values.push_back(true);
    if (json.substr(i, 5) == "false") values.push_back(false);
  }
  return values;
}

std::vector<std::string> JsonArrayObjects(absl::string_view json, absl::string_view key) {
  std::vector<std::string> objects;
  std::vector<size_t> positions = ValuePositions(json, key);
  if (positions.empty() || positions[0] >= json.size() || json[positions[0]] != '[') {
    return objects;
  }
  int depth = 0;
  bool in_string = false;
  size_t start = 0;
  for (size_t i = positions[0]; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (depth == 1 && c == '{') start = i;
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
      if (depth == 1 && c == '}') objects.emplace_back(json.substr(start, i - start + 1));
      if (depth == 0) break;
    }
  }
  return objects;
}

std::string FirstSnapshotId(absl::string_view json) {
  size_t at = 0;
  while ((at = json.find("\"s-", at)) != absl::string_view::npos) {
    size_t end = at + 3;
    while (end < json.size() && std::isxdigit(static_cast<unsigned char>(json[end]))) ++end;
    if (end > at + 3 && end < json.size() && json[end] == '"') {
      return std::string(json.substr(at + 1, end - at - 1));
    }
    at = end;
  }
  return "";
}

}  // namespace cairn::e2e
