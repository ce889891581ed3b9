#include "common/json_reader.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/utf8.h"

namespace cairn {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A number in an error message: a hostile one may be megabytes long.
std::string Abbreviated(absl::string_view s) {
  return s.size() <= 40 ? std::string(s) : absl::StrCat(s.substr(0, 40), "...");
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

absl::Status JsonReader::Error(absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat("JSON at byte ", pos_, ": ", what));
}

void JsonReader::SkipWhitespace() {
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
    ++pos_;
  }
}

bool JsonReader::Consume(char c) {
  SkipWhitespace();
  if (pos_ < text_.size() && text_[pos_] == c) {
    ++pos_;
    return true;
  }
  return false;
}

absl::Status JsonReader::Expect(char c, absl::string_view what) {
  if (Consume(c)) return absl::OkStatus();
  return Error(pos_ < text_.size() ? absl::StrCat("expected ", what)
                                   : absl::StrCat("text ends where ", what, " was expected"));
}

JsonType JsonReader::Peek() {
  SkipWhitespace();
  if (pos_ >= text_.size()) return JsonType::kEnd;
  switch (text_[pos_]) {
    case '{':
      return JsonType::kObject;
    case '[':
      return JsonType::kArray;
    case '"':
      return JsonType::kString;
    case 't':
    case 'f':
      return JsonType::kBool;
    case 'n':
      return JsonType::kNull;
    default:
      return text_[pos_] == '-' || IsDigit(text_[pos_]) ? JsonType::kNumber : JsonType::kInvalid;
  }
}

absl::Status JsonReader::Push(bool is_object) {
  if (is_object_.size() >= static_cast<size_t>(kMaxJsonDepth)) {
    return Error(absl::StrCat("nesting deeper than ", kMaxJsonDepth, " levels"));
  }
  is_object_.push_back(is_object);
  first_ = true;
  return absl::OkStatus();
}

absl::Status JsonReader::EnterObject() {
  RETURN_IF_ERROR(Expect('{', "an object"));
  return Push(true);
}

absl::Status JsonReader::EnterArray() {
  RETURN_IF_ERROR(Expect('[', "an array"));
  return Push(false);
}

absl::StatusOr<bool> JsonReader::NextItem(char close) {
  if (is_object_.empty() || is_object_.back() != (close == '}')) {
    return absl::InternalError(
        absl::StrCat("JSON reader misused: no open ", close == '}' ? "object" : "array"));
  }
  if (Consume(close)) {
    is_object_.pop_back();
    // The container just closed was an item of its parent.
    first_ = false;
    return false;
  }
  if (!first_) RETURN_IF_ERROR(Expect(',', close == '}' ? "',' or '}'" : "',' or ']'"));
  first_ = false;
  return true;
}

absl::StatusOr<bool> JsonReader::NextMember(std::string* key) {
  ASSIGN_OR_RETURN(bool more, NextItem('}'));
  if (!more) return false;
  SkipWhitespace();
  if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a string key");
  RETURN_IF_ERROR(ScanString(key));
  RETURN_IF_ERROR(Expect(':', "':' after a key"));
  return true;
}

absl::StatusOr<bool> JsonReader::NextElement() { return NextItem(']'); }

absl::Status JsonReader::ReadHex4(uint32_t* unit) {
  if (text_.size() - pos_ < 4) return Error("truncated \\u escape");
  *unit = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = text_[pos_++];
    int digit;
    if (IsDigit(c)) {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return Error("\\u escape with a non-hex digit");
    }
    *unit = (*unit << 4) | static_cast<uint32_t>(digit);
  }
  return absl::OkStatus();
}

absl::Status JsonReader::ScanString(std::string* out) {
  if (out != nullptr) out->clear();
  std::string scratch;
  std::string* sink = out != nullptr ? out : &scratch;
  RETURN_IF_ERROR(Expect('"', "a string"));
  while (true) {
    if (pos_ >= text_.size()) return Error("unterminated string");
    const char c = text_[pos_];
    const uint8_t byte = static_cast<uint8_t>(c);
    if (c == '"') {
      ++pos_;
      return absl::OkStatus();
    }
    if (byte < 0x20) return Error("unescaped control character in a string");
    if (byte >= 0x80) {
      const int n = Utf8Sequence(text_.substr(pos_));
      if (n <= 0) return Error("string is not valid UTF-8");
      if (out != nullptr) out->append(text_.data() + pos_, n);
      pos_ += n;
      continue;
    }
    ++pos_;
    if (c != '\\') {
      if (out != nullptr) out->push_back(c);
      continue;
    }
    if (pos_ >= text_.size()) return Error("unterminated escape");
    const char e = text_[pos_++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        sink->push_back(e);
        break;
      case 'b':
        sink->push_back('\b');
        break;
      case 'f':
        sink->push_back('\f');
        break;
      case 'n':
        sink->push_back('\n');
        break;
      case 'r':
        sink->push_back('\r');
        break;
      case 't':
        sink->push_back('\t');
        break;
      case 'u': {
        uint32_t cp;
        RETURN_IF_ERROR(ReadHex4(&cp));
        if (cp >= 0xdc00 && cp <= 0xdfff) return Error("\\u escape is a lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low;
          if (text_.substr(pos_, 2) != "\\u") return Error("\\u high surrogate without a pair");
          pos_ += 2;
          RETURN_IF_ERROR(ReadHex4(&low));
          if (low < 0xdc00 || low > 0xdfff) return Error("\\u high surrogate without a pair");
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        AppendUtf8(cp, sink);
        break;
      }
      default:
        return Error(absl::StrCat("unknown escape \\", std::string(1, e)));
    }
    // Validation only: do not let a skipped string grow without bound.
    if (out == nullptr) scratch.clear();
  }
}

absl::Status JsonReader::ReadString(std::string* out) {
  if (Peek() != JsonType::kString) return Error("expected a string");
  return ScanString(out);
}

absl::Status JsonReader::ScanNumber(absl::string_view* literal) {
  SkipWhitespace();
  const size_t start = pos_;
  auto digits = [this] {
    size_t n = 0;
    while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_, ++n;
    return n;
  };
  if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '0') {
    ++pos_;
    if (pos_ < text_.size() && IsDigit(text_[pos_])) return Error("number with a leading zero");
  } else if (digits() == 0) {
    return Error("expected a number");
  }
  if (pos_ < text_.size() && text_[pos_] == '.') {
    ++pos_;
    if (digits() == 0) return Error("number with no digits after '.'");
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
    if (digits() == 0) return Error("number with no digits in its exponent");
  }
  *literal = text_.substr(start, pos_ - start);
  return absl::OkStatus();
}

absl::Status JsonReader::ReadUint64(uint64_t* out) {
  SkipWhitespace();
  const size_t start = pos_;
  absl::string_view literal;
  RETURN_IF_ERROR(ScanNumber(&literal));
  pos_ = start;  // errors below point at the number
  if (literal[0] == '-') return Error(absl::StrCat("negative number ", Abbreviated(literal)));
  uint64_t value = 0;
  for (char c : literal) {
    if (!IsDigit(c)) {
      return Error(absl::StrCat("number ", Abbreviated(literal), " is not an integer"));
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return Error(absl::StrCat("number ", Abbreviated(literal), " does not fit in 64 bits"));
    }
    value = value * 10 + digit;
  }
  pos_ = start + literal.size();
  *out = value;
  return absl::OkStatus();
}

absl::Status JsonReader::ScanLiteral(absl::string_view word) {
  SkipWhitespace();
  if (text_.substr(pos_, word.size()) != word) return Error("expected a value");
  pos_ += word.size();
  return absl::OkStatus();
}

absl::Status JsonReader::ReadBool(bool* out) {
  SkipWhitespace();
  if (text_.substr(pos_, 4) == "true") {
    *out = true;
    return ScanLiteral("true");
  }
  if (text_.substr(pos_, 5) == "false") {
    *out = false;
    return ScanLiteral("false");
  }
  return Error("expected true or false");
}

absl::Status JsonReader::SkipValue() {
  switch (Peek()) {
    case JsonType::kObject: {
      RETURN_IF_ERROR(EnterObject());
      std::string key;
      while (true) {
        ASSIGN_OR_RETURN(bool more, NextMember(&key));
        if (!more) return absl::OkStatus();
        RETURN_IF_ERROR(SkipValue());  // recursion bounded by Push
      }
    }
    case JsonType::kArray: {
      RETURN_IF_ERROR(EnterArray());
      while (true) {
        ASSIGN_OR_RETURN(bool more, NextElement());
        if (!more) return absl::OkStatus();
        RETURN_IF_ERROR(SkipValue());
      }
    }
    case JsonType::kString:
      return ScanString(nullptr);
    case JsonType::kNumber: {
      absl::string_view literal;
      return ScanNumber(&literal);
    }
    case JsonType::kBool: {
      bool ignored;
      return ReadBool(&ignored);
    }
    case JsonType::kNull:
      return ScanLiteral("null");
    case JsonType::kEnd:
      return Error("text ends where a value was expected");
    case JsonType::kInvalid:
      break;
  }
  return Error("expected a value");
}

absl::Status JsonReader::Finish() {
  if (!is_object_.empty()) return Error("unclosed object or array");
  SkipWhitespace();
  if (pos_ != text_.size()) return Error("trailing bytes after the value");
  return absl::OkStatus();
}

}  // namespace cairn
