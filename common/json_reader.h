// A strict pull reader for JSON from untrusted files (RFC 8259: UTF-8, no
// comments, no trailing commas, no leading zeros, no lone surrogates). It walks
// the text in place and builds no tree, so a hostile document costs no memory
// beyond the strings the caller asks for; nesting is bounded by kMaxJsonDepth.
//
//   JsonReader in(text);
//   RETURN_IF_ERROR(in.EnterObject());
//   std::string key;
//   while (true) {
//     ASSIGN_OR_RETURN(bool more, in.NextMember(&key));
//     if (!more) break;
//     if (key == "size") RETURN_IF_ERROR(in.ReadUint64(&size));
//     else RETURN_IF_ERROR(in.SkipValue());
//   }
//   RETURN_IF_ERROR(in.Finish());
//
// Errors are InvalidArgument and name the byte offset. After an error the
// reader is in an unspecified state: stop using it.
#ifndef CAIRN_COMMON_JSON_READER_H_
#define CAIRN_COMMON_JSON_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

inline constexpr int kMaxJsonDepth = 64;

enum class JsonType : uint8_t { kEnd, kObject, kArray, kString, kNumber, kBool, kNull, kInvalid };

class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}

  // The type of the next value, judged by its first byte (kEnd at the end of
  // the text). Consumes nothing but whitespace.
  JsonType Peek();

  // Consumes '{'. Then NextMember either reads a key and its ':' (returns
  // true; the caller must read or skip exactly one value next) or consumes the
  // closing '}' (returns false). Keys are not checked for duplicates: a caller
  // that cares keeps the ones it has seen.
  absl::Status EnterObject();
  absl::StatusOr<bool> NextMember(std::string* key);

  // Consumes '['. Then NextElement returns true before each element (the
  // caller must read or skip it) and false after consuming the closing ']'.
  absl::Status EnterArray();
  absl::StatusOr<bool> NextElement();

  // A string value, escapes decoded to UTF-8.
  absl::Status ReadString(std::string* out);
  // A number written as a plain non-negative integer ("12", not "-1", "1.0",
  // "1e3") that fits in 64 bits.
  absl::Status ReadUint64(uint64_t* out);
  absl::Status ReadBool(bool* out);
  // Any one value, checked as strictly as if it had been read.
  absl::Status SkipValue();

  // Everything has been read: only whitespace remains and no container is open.
  absl::Status Finish();

 private:
  absl::Status Error(absl::string_view what) const;
  void SkipWhitespace();
  bool Consume(char c);
  absl::Status Expect(char c, absl::string_view what);
  absl::Status Push(bool is_object);
  // Before a member or element: the comma, or the closing bracket.
  absl::StatusOr<bool> NextItem(char close);
  absl::Status ScanString(std::string* out);  // out may be null: validate only
  absl::Status ScanNumber(absl::string_view* literal);
  absl::Status ScanLiteral(absl::string_view word);
  absl::Status ReadHex4(uint32_t* unit);

  absl::string_view text_;
  size_t pos_ = 0;
  // One entry per open container: true for an object. first_ says whether
  // the open container has had no item yet.
  std::vector<bool> is_object_;
  bool first_ = false;
};

}  // namespace cairn

#endif  // CAIRN_COMMON_JSON_READER_H_
