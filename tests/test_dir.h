// A new, empty directory for a test, under ::testing::TempDir(). Made with
// mkdtemp, so it never is one an earlier run left behind (process ids repeat
// across runs; a name built from the pid does not make a directory new).
//
//   const std::string dir = NewTempDir("tier");  // ".../cairn_tier_Ab12Cd"
#ifndef CAIRN_TESTS_TEST_DIR_H_
#define CAIRN_TESTS_TEST_DIR_H_

#include <stdlib.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace cairn {

inline std::string NewTempDir(absl::string_view label) {
  std::string base = ::testing::TempDir();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string pattern = absl::StrCat(base, "/cairn_", label, "_XXXXXX");
  for (size_t i = base.size() + 1; i < pattern.size(); ++i) {
    if (pattern[i] == '/') pattern[i] = '_';  // parameterized test names
  }
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    return pattern;
  }
  return std::string(name.data());
}

}  // namespace cairn

#endif  // CAIRN_TESTS_TEST_DIR_H_
