// The one definition of what a backup leaves out, shared by the backup walk
// and the change watcher (which must agree: an excluded directory is neither
// read nor watched). A pattern is a glob matched against the root-relative
// path with FNM_PATHNAME ("logs/*.tmp"), or against the bare name ("*.tmp").
//
//   ExcludeRules rules(config.excludes());
//   if (rules.Excludes("logs/a.tmp", "a.tmp")) continue;
#ifndef CAIRN_AGENT_EXCLUDE_RULES_H_
#define CAIRN_AGENT_EXCLUDE_RULES_H_

#include <string>
#include <vector>

namespace cairn {

class ExcludeRules final {
 public:
  ExcludeRules() = default;
  explicit ExcludeRules(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}
  void Add(const std::string& pattern) { patterns_.push_back(pattern); }

  // Whether the entry at root-relative `path`, whose last component is
  // `name`, is left out.
  bool Excludes(const std::string& path, const std::string& name) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_EXCLUDE_RULES_H_
