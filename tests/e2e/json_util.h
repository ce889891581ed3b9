// JSON for the end-to-end tests, just enough for the CLI's --json output: a
// validity check and the values of a key, wherever they are.
//
//   EXPECT_TRUE(IsValidJson(r.out));
//   std::vector<std::string> ids = JsonStrings(r.out, "id");
#ifndef CAIRN_TESTS_E2E_JSON_UTIL_H_
#define CAIRN_TESTS_E2E_JSON_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cairn::e2e {

// True if `text` is one or more JSON values separated by whitespace (the
// one-object-per-line output of `cairnctl ls --json` included).
bool IsValidJson(absl::string_view text);
// Every string value of "key":"..." anywhere in `json` (escapes kept raw).
std::vector<std::string> JsonStrings(absl::string_view json, absl::string_view key);
// A string value as JsonStrings returns it (escapes kept), decoded.
std::string JsonUnescape(absl::string_view raw);
// Every integer value of "key": N or "key":"N" (protobuf quotes int64s).
std::vector<int64_t> JsonInts(absl::string_view json, absl::string_view key);
// Every number of "key": N (integers and decimals, quoted or not).
std::vector<double> JsonDoubles(absl::string_view json, absl::string_view key);
// Every boolean value of "key": true|false.
std::vector<bool> JsonBools(absl::string_view json, absl::string_view key);
// The text of each object in the first array named `key` ("agents":[{...},...]).
std::vector<std::string> JsonArrayObjects(absl::string_view json, absl::string_view key);
// The first snapshot id ("s-" + hex) in `json`, or "".
std::string FirstSnapshotId(absl::string_view json);

}  // namespace cairn::e2e

#endif  // CAIRN_TESTS_E2E_JSON_UTIL_H_
