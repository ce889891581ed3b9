// Test helpers for tier tests: a fresh directory per test under
// ::testing::TempDir(), and a raw listing of a directory (temp files included).
#ifndef CAIRN_TESTS_SERVER_TIERS_TIER_TEST_DIR_H_
#define CAIRN_TESTS_SERVER_TIERS_TIER_TEST_DIR_H_

#include <dirent.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn {

// A path that does not exist yet, in a directory no earlier run made.
inline std::string FreshTestDir(absl::string_view label) {
  return NewTempDir(label) + "/tier";
}

// Every name in `dir` except "." and "..", sorted.
inline std::vector<std::string> RawDirListing(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace cairn

#endif  // CAIRN_TESTS_SERVER_TIERS_TIER_TEST_DIR_H_
