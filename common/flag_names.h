// Lets users write --state-dir for the Abseil flag --state_dir: rewrites the
// name part of every "--a-b[=v]" argument before absl::ParseCommandLine.
#ifndef CAIRN_COMMON_FLAG_NAMES_H_
#define CAIRN_COMMON_FLAG_NAMES_H_

#include <string>
#include <string_view>
#include <vector>

namespace cairn {

// Returns storage for the rewritten arguments; `argv` then points into it,
// so keep the result alive as long as argv is used.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

// absl's --help exits 1 and lists no flags (it looks for a source file named
// like the binary). Asking for help is not an error: when argv asks for it
// (--help, -h, or `help` as the first argument if `help_word` is set), prints
// `usage` and the flags defined in files ending with `flags_file`, and
// returns true so main can exit 0.
bool PrintHelpIfAsked(int argc, char** argv, std::string_view usage, std::string_view flags_file,
                      bool help_word);

}  // namespace cairn

#endif  // CAIRN_COMMON_FLAG_NAMES_H_
