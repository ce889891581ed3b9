#include "agent/snapshot_verifier.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/chunk_fetcher.h"
#include "agent/progress_throttle.h"
#include "agent/tree_fetcher.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kBatch = 4 * kMaxReadIdsPerCall;
constexpr size_t kMaxRemembered = 1 << 20;  // ids already checked (32 MiB)
constexpr size_t kMaxProblems = 100;

class Verifier final {
 public:
  Verifier(ServerConnection* connection, const AgentCrypto& crypto, const VerifyOptions& options)
      : connection_(connection), crypto_(crypto), options_(options) {}

  absl::Status Snapshot(const std::string& snapshot_id) {
    snapshot_id_ = snapshot_id;
    TreeFetcher trees(connection_, snapshot_id, crypto_);
    ASSIGN_OR_RETURN(v1::Tree root, trees.Root());
    ChunkFetcher fetcher(
        connection_, &crypto_, snapshot_id,
        options_.workers > 0 ? options_.workers
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
        [this](const std::string& id, const absl::Status& status, absl::string_view plain) {
          absl::MutexLock lock(&mu_);
          delivered_.insert(id);
          if (status.ok()) {
            ++result_.chunks_checked;
            result_.bytes_checked += plain.size();
          } else if (IsTransient(status)) {
            // A delta's base could not be fetched (the server is gone,
            // busy or slow): nothing is known to be damaged.
            ++result_.missing;
            Problem(id, status.message());
          } else if (reported_.insert(id).second) {
            damaged_.push_back(id);
            Problem(id, status.message());
          }
        });
    // A base that is bad itself is reported with the deltas that need it:
    // marked damaged, it is offered as a base no more, and the next backup
    // that holds its data stores it again.
    fetcher.set_bad_base([this](const std::string& id, const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      if (!reported_.insert(id).second) return;
      damaged_.push_back(id);
      Problem(id, absl::StrCat("the base of a checkpoint delta: ", status.message()));
    });
    fetcher_ = &fetcher;
    // Depth first, in tree order: the order TreeFetcher reads ahead in.
    struct Level {
      v1::Tree tree;
      int next = 0;
    };
    std::vector<Level> stack;
    stack.push_back(Level{std::move(root)});
    while (!stack.empty()) {
      Level& level = stack.back();
      if (level.next < level.tree.pages_size()) {  // a large directory's index
        const std::string page_id = level.tree.pages(level.next++).tree_id();
        ASSIGN_OR_RETURN(v1::Tree page, trees.Load(page_id));
        stack.push_back(Level{std::move(page)});
        continue;
      }
      if (level.next >= level.tree.entries_size()) {
        stack.pop_back();
        continue;
      }
      const v1::TreeEntry& entry = level.tree.entries(level.next++);
      if (entry.type() == v1::ENTRY_TYPE_DIRECTORY) {
        ASSIGN_OR_RETURN(v1::Tree sub, trees.Load(entry.subtree_id()));
        stack.push_back(Level{std::move(sub)});
        continue;
      }
      for (const v1::ChunkRef& ref : entry.chunks()) {
        if (!Sampled(ref.id()) || !remembered_.insert(ref.id()).second) continue;
        if (remembered_.size() >= kMaxRemembered) remembered_.clear();
        batch_.push_back(ref.id());
        if (batch_.size() >= kBatch) RETURN_IF_ERROR(Flush());
      }
    }
    RETURN_IF_ERROR(Flush());
    fetcher_ = nullptr;
    ++result_.snapshots;
    return absl::OkStatus();
  }

  VerifyResult TakeResult() { return std::move(result_); }

 private:
  bool Sampled(const std::string& id) const {
    const uint32_t pct = options_.sample_percent == 0 ? 100 : options_.sample_percent;
    if (pct >= 100 || id.size() < 2) return true;
    const uint32_t bucket = (static_cast<uint8_t>(id[0]) << 8) | static_cast<uint8_t>(id[1]);
    return bucket * 100 < pct * 65536;
  }

  static bool IsTransient(const absl::Status& s) {
    return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsResourceExhausted(s) ||
           absl::IsCancelled(s) || absl::IsAborted(s);
  }

  void Problem(const std::string& id, absl::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (result_.problems.size() >= kMaxProblems) return;
    v1::FileError e;
    e.set_path(absl::StrCat("chunk ", HexOf(id)));
    e.set_error(std::string(why));
    result_.problems.push_back(std::move(e));
  }

  // Fetches and checks the batch, then reports what was damaged.
  absl::Status Flush() {
    if (batch_.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(fetcher_->Fetch(batch_));
    std::vector<std::string> damaged;
    {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : batch_) {
        if (!delivered_.contains(id)) {
          ++result_.missing;
          Problem(id, "the server did not send it");
        }
      }
      delivered_.clear();
      damaged.swap(damaged_);
      result_.damaged += damaged.size();
    }
    batch_.clear();
    for (size_t i = 0; i < damaged.size(); i += kMaxReadIdsPerCall) {
      v1::ReportDamagedChunksRequest report;
      report.set_snapshot_id(snapshot_id_);
      for (size_t j = i; j < std::min(damaged.size(), i + kMaxReadIdsPerCall); ++j) {
        report.add_ids(damaged[j]);
      }
      ASSIGN_OR_RETURN(v1::ReportDamagedChunksResponse marked,
                       connection_->Call(&v1::AgentService::Stub::ReportDamagedChunks, report));
      result_.reported += marked.forgotten();
    }
    if (options_.progress && progress_.Due()) {
      v1::JobProgress p;
      p.set_files_done(result_.chunks_checked);
      p.set_bytes_done(result_.bytes_checked);
      options_.progress(p);
    }
    return absl::OkStatus();
  }

  ServerConnection* connection_;
  const AgentCrypto& crypto_;
  const VerifyOptions& options_;
  std::string snapshot_id_;
  ChunkFetcher* fetcher_ = nullptr;
  std::vector<std::string> batch_;
  absl::flat_hash_set<std::string> remembered_;
  ProgressThrottle progress_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> delivered_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> damaged_ ABSL_GUARDED_BY(mu_);
  // Chunks found damaged (read, or a delta's base), each reported once.
  absl::flat_hash_set<std::string> reported_ ABSL_GUARDED_BY(mu_);
  VerifyResult result_;
};

}  // namespace

std::string VerifySummary(const VerifyResult& r) {
  std::string s = absl::StrCat(r.snapshots, " snapshot(s), ", r.chunks_checked + r.damaged,
                               " chunks read: ", r.chunks_checked, " good, ", r.damaged,
                               " damaged, ", r.missing, " missing");
  if (r.damaged > 0) {
    absl::StrAppend(&s, "; the server marked ", r.reported,
                    " damaged chunk(s): the next full backup of their files stores them again");
  }
  if (r.missing > 0) absl::StrAppend(&s, "; missing chunks mean lost data: run a full backup");
  return s;
}

absl::StatusOr<VerifyResult> RunVerify(ServerConnection* connection, const AgentCrypto& crypto,
                                       const VerifyOptions& options) {
  if (options.snapshot_ids.empty()) {
    return absl::InvalidArgumentError("name the snapshot to verify (cairnctl snapshots)");
  }
  if (options.sample_percent > 100) {
    return absl::InvalidArgumentError("--sample is a percentage: 1 to 100");
  }
  Verifier verifier(connection, crypto, options);
  for (const std::string& id : options.snapshot_ids) {
    absl::Status status = verifier.Snapshot(id);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("snapshot ", id, ": ", status.message()));
    }
  }
  return verifier.TakeResult();
}

}  // namespace cairn
