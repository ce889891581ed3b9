#include "tests/agent/continuous_util.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/path_rules.h"
#include "common/status_macros.h"

namespace cairn {

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout, absl::Duration step) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(step);
  }
  return true;
}

absl::StatusOr<std::unique_ptr<RootProtector>> StartProtector(AgentTestEnv& env,
                                                              ProtectionSettings settings) {
  return RootProtector::Start(std::move(settings), env.agent().config, *env.agent().crypto,
                              env.connection());
}

absl::Status WaitCaughtUp(RootProtector& protector, const std::string& root,
                          absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  // A read that began after `start` drained every event queued before it,
  // and batches are recorded in the order they are read.
  for (int round = 0; protector.state().last_change < start; ++round) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the protector of ", root, " recorded no change read after the call"));
    }
    RETURN_IF_ERROR(WriteFile(JoinPath(root, kCaughtUpFile), absl::StrCat(round)));
    absl::SleepFor(absl::Milliseconds(30));
  }
  return absl::OkStatus();
}

TreeManifest WithoutSentinel(TreeManifest manifest) {
  manifest.erase(kCaughtUpFile);
  return manifest;
}

absl::StatusOr<std::vector<v1::Snapshot>> AgentSnapshots(AgentTestEnv& env) {
  return env.server()->catalog()->snapshots().List(AgentTestEnv::kAgentName, 100000);
}

absl::StatusOr<std::vector<v1::TreeEntry>> SnapshotDirectory(AgentTestEnv& env,
                                                             const v1::Snapshot& snapshot,
                                                             absl::string_view path) {
  std::string tree_id = snapshot.root_tree_id();
  if (!path.empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::TreeEntry> entry, SnapshotEntry(env, snapshot, path));
    if (!entry.has_value() || entry->type() != v1::ENTRY_TYPE_DIRECTORY) {
      return absl::NotFoundError(
          absl::StrCat("snapshot ", snapshot.id(), " has no directory ", path));
    }
    tree_id = entry->subtree_id();
  }
  return env.ReadDirectory(tree_id);
}

absl::StatusOr<std::optional<v1::TreeEntry>> SnapshotEntry(AgentTestEnv& env,
                                                           const v1::Snapshot& snapshot,
                                                           absl::string_view path) {
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  std::string tree_id = snapshot.root_tree_id();
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(std::vector<v1::TreeEntry> entries, env.ReadDirectory(tree_id));
    const v1::TreeEntry* found = nullptr;
    for (const v1::TreeEntry& e : entries) {
      if (e.name() == parts[i]) found = &e;
    }
    if (found == nullptr) return std::nullopt;
    if (i + 1 == parts.size()) return *found;
    if (found->type() != v1::ENTRY_TYPE_DIRECTORY) return std::nullopt;
    tree_id = found->subtree_id();
  }
  return std::nullopt;
}

absl::StatusOr<TreeManifest> RestoreManifest(AgentTestEnv& env, const std::string& snapshot,
                                             const std::string& target,
                                             std::vector<std::string> paths) {
  RestoreOptions options;
  options.snapshot_id = snapshot;
  options.target = target;
  options.paths = std::move(paths);
  ASSIGN_OR_RETURN(RestoreResult result, env.Restore(options));
  if (result.failed != 0 || !result.errors.empty()) {
    return absl::InternalError(absl::StrCat("restore of ", snapshot, " failed for ", result.failed,
                                            " entries: ", DescribeErrors(result.errors)));
  }
  return CaptureTree(target);
}

}  // namespace cairn
