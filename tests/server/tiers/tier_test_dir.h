// Test helpers for tier tests: a fresh directory per test under
// ::testing::TempDir(), and a raw listing of a directory (temp files included).
#ifndef CAIRN_TESTS_SERVER_TIERS_TIER_TEST_DIR_H_
#define CAIRN_TESTS_SERVER_TIERS_TIER_TEST_DIR_H_

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cairn {

// A path that does not exist yet, unique to this process and call.
inline std::string FreshTestDir(absl::string_view label) {
  static std::atomic<int> counter{0};
  return absl::StrCat(::testing::TempDir(), "/", label, "_", ::getpid(), "_", counter++);
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
