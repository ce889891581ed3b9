#include "agent/exclude_rules.h"

#include <fnmatch.h>

namespace cairn {

bool ExcludeRules::Excludes(const std::string& path, const std::string& name) const {
  for (const std::string& pattern : patterns_) {
    if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0 ||
        fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace cairn
