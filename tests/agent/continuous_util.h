// Helpers for the continuous-protection tests: a RootProtector with the test
// agent's identity, polling with a deadline, waiting until a protector has
// journaled everything done so far, looking paths up in committed snapshots
// through the catalog, and restoring (part of) a snapshot for comparison.
//
//   CAIRN_ASSERT_OK_AND_ASSIGN(auto p, StartProtector(*env, {.root = root}));
//   CAIRN_ASSERT_OK(WaitCaughtUp(*p, root));
#ifndef CAIRN_TESTS_AGENT_CONTINUOUS_UTIL_H_
#define CAIRN_TESTS_AGENT_CONTINUOUS_UTIL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/root_protector.h"
#include "cairn/v1/types.pb.h"
#include "tests/agent/agent_test_util.h"

namespace cairn {

// Generous: passing runs end their waits as soon as the condition holds.
inline constexpr absl::Duration kWaitDeadline = absl::Seconds(30);

// Polls `done` every `step` until it holds (true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = kWaitDeadline,
               absl::Duration step = absl::Milliseconds(20));

// A protector of `settings.root` for the env's agent-a (its config, key and
// connection; the journal lives in its state directory).
absl::StatusOr<std::unique_ptr<RootProtector>> StartProtector(AgentTestEnv& env,
                                                              ProtectionSettings settings);

// The file the watcher is poked through by WaitCaughtUp, root-relative.
inline constexpr char kCaughtUpFile[] = ".caught-up";

// Returns once the protector has recorded in its journal every change made
// under `root` before the call. Events are read in order, so it is enough
// to see a batch read after the call was recorded: the sentinel file
// kCaughtUpFile is rewritten until state().last_change passes the start.
// Leave kCaughtUpFile out of tree comparisons (WithoutSentinel).
absl::Status WaitCaughtUp(RootProtector& protector, const std::string& root,
                          absl::Duration timeout = kWaitDeadline);
TreeManifest WithoutSentinel(TreeManifest manifest);

// Every snapshot of agent-a, newest first.
absl::StatusOr<std::vector<v1::Snapshot>> AgentSnapshots(AgentTestEnv& env);

// The entry at root-relative `path` ("a/b") in `snapshot`, or nullopt if the
// snapshot has no such path.
absl::StatusOr<std::optional<v1::TreeEntry>> SnapshotEntry(AgentTestEnv& env,
                                                           const v1::Snapshot& snapshot,
                                                           absl::string_view path);
// The entries of the directory at `path` ("" = the root) in `snapshot`.
absl::StatusOr<std::vector<v1::TreeEntry>> SnapshotDirectory(AgentTestEnv& env,
                                                             const v1::Snapshot& snapshot,
                                                             absl::string_view path);

// Restores `snapshot` (only `paths` when given) into the new directory
// `target` and captures what was written; an error also if the restore
// reported failed entries.
absl::StatusOr<TreeManifest> RestoreManifest(AgentTestEnv& env, const std::string& snapshot,
                                             const std::string& target,
                                             std::vector<std::string> paths = {});

}  // namespace cairn

#endif  // CAIRN_TESTS_AGENT_CONTINUOUS_UTIL_H_
