// Loads the directory trees of a snapshot for a restore, checked and read
// ahead. Every tree but the root is content-addressed, so one whose bytes do
// not hash to its id was tampered with and is refused (which also makes a
// cycle of trees impossible). A miss fetches the tree together with the next
// trees the walk will want (GetTrees, up to 64 a call): the subtrees of each
// tree loaded are queued in front, in order, which is the order a
// depth-first walk visits them. Memory is bounded: at most kMaxCachedBytes of
// trees wait in the cache.
//
//   TreeFetcher trees(&conn, snapshot_id);
//   ASSIGN_OR_RETURN(v1::Tree root, trees.Root());
//   ASSIGN_OR_RETURN(v1::Tree sub, trees.Load(entry.subtree_id()));
#ifndef CAIRN_AGENT_TREE_FETCHER_H_
#define CAIRN_AGENT_TREE_FETCHER_H_

#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

class TreeFetcher final {
 public:
  static constexpr size_t kMaxCachedBytes = 64u << 20;

  // `crypto` checks the snapshot's manifest (its tenant and manifest key).
  TreeFetcher(ServerConnection* connection, std::string snapshot_id, const AgentCrypto& crypto)
      : connection_(connection), snapshot_id_(std::move(snapshot_id)), crypto_(&crypto) {}
  TreeFetcher(TreeFetcher&&) = default;

  // The snapshot's root tree, once the snapshot's manifest MAC verifies
  // under the tenant key and the tree hashes to the root id it signs.
  // DataLoss otherwise: nothing the server says about this snapshot is
  // trusted.
  absl::StatusOr<v1::Tree> Root();
  // The tree `id`; DataLoss if what the server sent is not that tree.
  absl::StatusOr<v1::Tree> Load(const std::string& id);
  uint64_t calls() const { return calls_; }

 private:
  absl::StatusOr<v1::Tree> Parse(const std::string& id, const std::string& bytes);
  // Queues the subtrees of `tree` to be read next.
  void Expect(const v1::Tree& tree);

  ServerConnection* connection_;
  std::string snapshot_id_;
  const AgentCrypto* crypto_;
  std::deque<std::string> upcoming_;  // tree ids the walk will want, soonest first
  // How many more times each id will be loaded (identical directories, e.g.
  // empty ones, share one tree).
  absl::flat_hash_map<std::string, int> expected_;
  absl::flat_hash_map<std::string, std::string> cache_;  // id -> bytes
  size_t cached_bytes_ = 0;
  uint64_t calls_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_TREE_FETCHER_H_
