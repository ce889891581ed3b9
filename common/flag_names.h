// Lets users write --state-dir for the Abseil flag --state_dir: rewrites the
// name part of every "--a-b[=v]" argument before absl::ParseCommandLine.
#ifndef CAIRN_COMMON_FLAG_NAMES_H_
#define CAIRN_COMMON_FLAG_NAMES_H_

#include <string>
#include <vector>

namespace cairn {

// Returns storage for the rewritten arguments; `argv` then points into it,
// so keep the result alive as long as argv is used.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace cairn

#endif  // CAIRN_COMMON_FLAG_NAMES_H_
