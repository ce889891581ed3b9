// NormalizeFlagNames turns the name of every "--a-b[=v]" into "--a_b" and
// leaves values, single-dash arguments, argv[0] and everything after "--"
// alone, pointing argv into the storage it returns; PrintHelpIfAsked prints
// the usage and the flags of the given file (dashed names, defaults) when
// asked by --help, -h or a leading `help`, and nothing otherwise.
#include "common/flag_names.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, flag_names_test_state_dir, "/var/lib/cairn",
          "Where the test keeps its state.");
ABSL_FLAG(bool, flag_names_test_dry_run, false, "Change nothing.");

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

// A mutable argv over copies of `args`, as main receives it.
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    for (std::string& a : args_) pointers_.push_back(a.data());
  }
  int argc() const { return static_cast<int>(pointers_.size()); }
  char** argv() { return pointers_.data(); }
  std::vector<std::string> Now() const {
    return std::vector<std::string>(pointers_.begin(), pointers_.end());
  }

 private:
  std::vector<std::string> args_;
  std::vector<char*> pointers_;
};

TEST(NormalizeFlagNamesTest, RewritesNamesOnly) {
  Argv args({"/usr/bin/cairn-agent", "backup", "--state-dir=/a-b/c-d", "--key-file", "/k-f", "-h",
             "-x-y", "--a-b-c", "--x", "--=v-w", "--", "--not-a-flag", "--a-b"});
  std::vector<std::string> storage = NormalizeFlagNames(args.argc(), args.argv());
  const std::vector<std::string> want = {"/usr/bin/cairn-agent",
                                         "backup",
                                         "--state_dir=/a-b/c-d",
                                         "--key_file",
                                         "/k-f",
                                         "-h",
                                         "-x-y",
                                         "--a_b_c",
                                         "--x",
                                         "--=v-w",
                                         "--",
                                         "--not-a-flag",
                                         "--a-b"};
  EXPECT_THAT(storage, ElementsAreArray(want));
  EXPECT_THAT(args.Now(), ElementsAreArray(want));
  // argv now points into the returned storage.
  for (int i = 0; i < args.argc(); ++i) EXPECT_EQ(args.argv()[i], storage[i].data()) << i;
}

TEST(NormalizeFlagNamesTest, LeavesArgv0AndAnEmptyCommandLineAlone) {
  Argv only_program({"--odd-program-name"});
  std::vector<std::string> storage = NormalizeFlagNames(only_program.argc(), only_program.argv());
  EXPECT_THAT(storage, ElementsAre("--odd-program-name"));
  Argv none({});
  EXPECT_TRUE(NormalizeFlagNames(0, none.argv()).empty());
}

class PrintHelpTest : public ::testing::Test {
 protected:
  // Whether help was printed for `args`, and what.
  bool Help(std::vector<std::string> args, bool help_word, std::string* out) {
    Argv argv(std::move(args));
    ::testing::internal::CaptureStdout();
    bool printed = PrintHelpIfAsked(argv.argc(), argv.argv(), "usage: cairn-test [flags]",
                                    "flag_names_test.cc", help_word);
    *out = ::testing::internal::GetCapturedStdout();
    return printed;
  }
};

TEST_F(PrintHelpTest, PrintsTheUsageAndThisFilesFlags) {
  std::string out;
  ASSERT_TRUE(Help({"cairn-test", "--help"}, false, &out));
  EXPECT_THAT(out, HasSubstr("usage: cairn-test [flags]\n\nFlags:\n"));
  EXPECT_THAT(out, HasSubstr("  --flag-names-test-state-dir  Where the test keeps its state. "
                             "(default: /var/lib/cairn)\n"));
  EXPECT_THAT(out, HasSubstr("  --flag-names-test-dry-run  Change nothing. (default: false)\n"));
  // Sorted, and no flag from another file.
  EXPECT_LT(out.find("--flag-names-test-dry-run"), out.find("--flag-names-test-state-dir"));
  EXPECT_THAT(out, Not(HasSubstr("--gtest")));
  EXPECT_THAT(out, Not(HasSubstr("_test_")));
}

TEST_F(PrintHelpTest, AsksAreHelpDashHAndALeadingHelpWord) {
  std::string out;
  EXPECT_TRUE(Help({"cairn-test", "backup", "-h"}, false, &out));
  EXPECT_TRUE(Help({"cairn-test", "help"}, true, &out));
  EXPECT_THAT(out, HasSubstr("usage:"));
  // `help` counts only as the first argument, and only when allowed.
  EXPECT_FALSE(Help({"cairn-test", "help"}, false, &out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(Help({"cairn-test", "backup", "help"}, true, &out));
  EXPECT_EQ(out, "");
  // After "--" everything is positional.
  EXPECT_FALSE(Help({"cairn-test", "--", "--help"}, true, &out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(Help({"cairn-test", "--helpful", "-hh", "--state-dir=x"}, true, &out));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(Help({"cairn-test"}, true, &out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace cairn
