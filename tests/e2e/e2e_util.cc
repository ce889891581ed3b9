#include "tests/e2e/e2e_util.h"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace cairn::e2e {
namespace {

// Directories made by NewTestDir during the current test.
std::vector<std::string>& CurrentTestDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

int RemoveEntry(const char* path, const struct stat*, int flag, struct FTW*) {
  if (flag == FTW_DP) {
    ::rmdir(path);
  } else {
    ::unlink(path);
  }
  return 0;
}

// Removes a passing test's directories (a failing test's stay for a look;
// CAIRN_E2E_KEEP=1 keeps them all). Never crosses into a mount left behind.
class TestDirCleaner final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    std::vector<std::string> dirs = std::move(CurrentTestDirs());
    CurrentTestDirs().clear();
    if (info.result()->Failed() || std::getenv("CAIRN_E2E_KEEP") != nullptr) return;
    for (const std::string& dir : dirs) {
      ::nftw(dir.c_str(), RemoveEntry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
  }
};

[[maybe_unused]] const bool kCleanerInstalled = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new TestDirCleaner());
  return true;
}();

}  // namespace

std::string NewTestDir(absl::string_view label) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = info != nullptr ? absl::StrCat(info->test_suite_name(), ".", info->name())
                                     : std::string("none");
  std::string dir = NewTempDir(absl::StrCat("e2e_", label, "_", test));
  CurrentTestDirs().push_back(dir);
  return dir;
}

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout, absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

}  // namespace cairn::e2e
