#include "server/ingest/ingest_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/job_states.h"
#include "common/limits.h"
#include "common/log/log.h"
#include "common/manifest_mac.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "server/ingest/tree_validator.h"

namespace cairn {
namespace {

template <typename Ids>
absl::Status CheckIds(const Ids& ids, size_t max) {
  if (static_cast<size_t>(ids.size()) > max) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ids.size(), " ids in one call; at most ", max, " are allowed"));
  }
  for (const std::string& id : ids) {
    if (id.size() != kChunkIdBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("an id must be ", kChunkIdBytes, " bytes, got ", id.size()));
    }
  }
  return absl::OkStatus();
}

absl::Status NotYours(const Caller& caller, absl::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat(caller.Describe(), " may not act on ", what));
}

}  // namespace

IngestService::IngestService(Catalog* catalog, const TierSet* tiers, JobBoard* jobs, GcGuard* guard,
                             IngestOptions options)
    : catalog_(catalog),
      tiers_(tiers),
      jobs_(jobs),
      guard_(guard),
      options_(std::move(options)),
      claims_(ChunkClaims::Options{.ttl = options_.claim_ttl, .clock = options_.clock}) {}

absl::StatusOr<v1::BeginBackupResponse> IngestService::BeginBackup(
    const Caller& caller, const v1::BeginBackupRequest& request) {
  if (!caller.MayActAsAgent(request.agent())) {
    return NotYours(caller, absl::StrCat("agent ", request.agent(), "'s backups"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(request.agent()));
  if (!agent.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unknown agent ", request.agent(), "; call Hello first"));
  }
  if (request.roots_size() != 1 || request.roots(0).empty() || request.roots(0)[0] != '/' ||
      request.roots(0).size() > kMaxPathTotalBytes) {
    return absl::InvalidArgumentError("a backup covers exactly one absolute root path");
  }
  v1::BackupLevel level = request.level();
  if (level == v1::BACKUP_LEVEL_UNSPECIFIED) level = v1::BACKUP_LEVEL_INCREMENTAL;

  v1::Job job;
  if (!request.job_id().empty()) {
    ASSIGN_OR_RETURN(std::optional<v1::Job> ordered, catalog_->jobs().Get(request.job_id()));
    if (!ordered.has_value() || ordered->agent() != request.agent() ||
        ordered->kind() != v1::JOB_KIND_BACKUP) {
      return absl::NotFoundError(
          absl::StrCat("no backup job ", request.job_id(), " for agent ", request.agent()));
    }
    if (IsFinished(ordered->state())) {
      return absl::FailedPreconditionError(absl::StrCat("job ", request.job_id(), " has ended"));
    }
    job = *std::move(ordered);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_started_unix_ms(NowMs());
    job.mutable_backup()->clear_roots();
    job.mutable_backup()->add_roots(request.roots(0));
    job.mutable_backup()->set_level(level);
    RETURN_IF_ERROR(jobs_->Update(job));
  } else {
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent(request.agent());
    job.mutable_backup()->add_roots(request.roots(0));
    job.mutable_backup()->set_level(level);
    ASSIGN_OR_RETURN(job, jobs_->Create(job));
  }

  // The lease runs from now on the server's clock, whenever the job was ordered.
  const absl::Time now = options_.clock();
  const int64_t now_ms = absl::ToUnixMillis(now);
  int64_t lease_expires = now_ms + absl::ToInt64Milliseconds(options_.job_lease);
  RETURN_IF_ERROR(catalog_->jobs().ExtendLease(job.id(), now_ms, lease_expires, false).status());
  NoteRenewed(job.id(), now);
  guard_->BackupBegan(job.id());
  v1::BeginBackupResponse response;
  response.set_job_id(job.id());
  response.set_lease_expires_unix_ms(lease_expires);
  if (level != v1::BACKUP_LEVEL_FULL) {
    std::optional<v1::BackupLevel> parent_level;
    if (level == v1::BACKUP_LEVEL_DIFFERENTIAL) parent_level = v1::BACKUP_LEVEL_FULL;
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> parent,
                     catalog_->snapshots().Latest(request.agent(), request.roots(0), parent_level));
    if (parent.has_value()) {
      response.set_parent_snapshot_id(parent->id());
      response.set_parent_root_tree_id(parent->root_tree_id());
      response.set_parent_manifest_mac(parent->manifest_mac());
    }
  }
  return response;
}

void IngestService::NoteRenewed(absl::string_view job_id, absl::Time at) {
  const absl::Duration every = options_.job_lease / 10;
  absl::MutexLock lock(&lease_mu_);
  // Entries past their tenth (ended jobs among them) go in one sweep when
  // the map has doubled since the last, so a sweep costs O(1) per call
  // however many jobs run at once.
  if (renewed_.size() >= sweep_at_) {
    absl::erase_if(renewed_, [&](const auto& entry) { return at - entry.second >= every; });
    sweep_at_ = std::max<size_t>(kMinLeaseSweep, 2 * renewed_.size());
  }
  renewed_[job_id] = at;
}

absl::Status IngestService::RenewLease(absl::string_view job_id, bool force) {
  const absl::Time clock = options_.clock();
  const absl::Duration every = options_.job_lease / 10;
  if (!force) {
    absl::MutexLock lock(&lease_mu_);
    auto it = renewed_.find(job_id);
    if (it != renewed_.end() && clock >= it->second && clock - it->second < every) {
      return absl::OkStatus();
    }
  }
  int64_t now = absl::ToUnixMillis(clock);
  ASSIGN_OR_RETURN(bool live,
                   catalog_->jobs().ExtendLease(
                       job_id, now, now + absl::ToInt64Milliseconds(options_.job_lease), true));
  if (live) NoteRenewed(job_id, clock);
  // A lapsed lease stays lapsed: garbage collection may since have deleted
  // what the job uploaded or was told exists, so it must not commit.
  if (!live) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, ": lease expired (no call for ",
                     absl::FormatDuration(options_.job_lease), "); start a new backup"));
  }
  return absl::OkStatus();
}

absl::StatusOr<IngestService::RunningJob> IngestService::Running(const Caller& caller,
                                                                 absl::string_view job_id) {
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(job_id));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (!caller.MayActAsAgent(job->agent())) return NotYours(caller, absl::StrCat("job ", job_id));
  if (job->state() != v1::JOB_STATE_RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, " is ", v1::JobState_Name(job->state()), ", not running"));
  }
  RETURN_IF_ERROR(RenewLease(job_id));
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(job->agent()));
  if (!agent.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", job->agent()));
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(agent->tenant()));
  return RunningJob{*std::move(job), tenant, agent->tenant()};
}

absl::StatusOr<std::vector<uint32_t>> IngestService::Missing(GcObject kind, int64_t tenant,
                                                             absl::Span<const std::string> ids) {
  return guard_->FindMissingAndProtect(kind, ids, [&] {
    return kind == GcObject::kChunk ? catalog_->chunks().FindMissing(tenant, ids)
                                    : catalog_->trees().FindMissing(tenant, ids);
  });
}

absl::StatusOr<v1::FindMissingChunksResponse> IngestService::FindMissingChunks(
    const Caller& caller, const v1::FindMissingChunksRequest& request) {
  RETURN_IF_ERROR(CheckIds(request.ids(), kMaxIdsPerCall));
  ASSIGN_OR_RETURN(RunningJob job, Running(caller, request.job_id()));
  std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(GcObject::kChunk, job.tenant, ids));
  v1::FindMissingChunksResponse response;
  if (request.wait_for_claims() && !missing.empty()) {
    // What another backup is uploading right now is not uploaded twice.
    std::vector<uint32_t> granted, held;
    claims_.Claim(job.tenant, request.job_id(), ids, missing, &granted, &held);
    missing = std::move(granted);
    response.mutable_in_flight()->Add(held.begin(), held.end());
  }
  response.mutable_missing()->Add(missing.begin(), missing.end());
  if (request.base_ids_size() == 0 || request.max_chain() == 0) return response;
  ASSIGN_OR_RETURN(std::vector<uint32_t> usable, UsableBases(job.tenant, request, missing));
  response.mutable_usable_bases()->Add(usable.begin(), usable.end());
  return response;
}

absl::StatusOr<std::vector<uint32_t>> IngestService::UsableBases(
    int64_t tenant, const v1::FindMissingChunksRequest& request,
    const std::vector<uint32_t>& missing) {
  if (request.base_ids_size() != request.ids_size()) {
    return absl::InvalidArgumentError(absl::StrCat("FindMissingChunks: ", request.base_ids_size(),
                                                   " base ids for ", request.ids_size(),
                                                   " ids; give one per id (empty for none)"));
  }
  if (request.max_chain() > static_cast<uint32_t>(kMaxDeltaDepth)) {
    return absl::InvalidArgumentError(absl::StrCat("FindMissingChunks: max_chain ",
                                                   request.max_chain(), " is over the limit of ",
                                                   kMaxDeltaDepth));
  }
  // The missing ids with a proposed base (indexes into request.ids).
  std::vector<uint32_t> proposed;
  std::vector<std::string> ids;
  for (uint32_t index : missing) {
    const std::string& base = request.base_ids(static_cast<int>(index));
    if (base.empty() || base == request.ids(static_cast<int>(index))) continue;
    if (base.size() != kChunkIdBytes) {
      return absl::InvalidArgumentError(absl::StrCat("a base id must be ", kChunkIdBytes,
                                                     " bytes (or empty), got ", base.size()));
    }
    proposed.push_back(index);
    ids.push_back(request.ids(static_cast<int>(index)));
  }
  // A chunk stored again to replace a copy that does not read goes whole:
  // as a delta it could lengthen the chains of the deltas built on it.
  ASSIGN_OR_RETURN(std::vector<bool> replacing, catalog_->chunks().HasRows(tenant, ids));
  std::vector<uint32_t> asked;
  std::vector<std::string> bases;
  for (size_t i = 0; i < proposed.size(); ++i) {
    if (replacing[i]) continue;
    asked.push_back(proposed[i]);
    bases.push_back(request.base_ids(static_cast<int>(proposed[i])));
  }
  if (bases.empty()) return std::vector<uint32_t>();
  // Asked through the GC guard, so a "usable" answer keeps the base as a
  // "present" answer keeps a chunk.
  const int max_chain = static_cast<int>(request.max_chain());
  ASSIGN_OR_RETURN(std::vector<uint32_t> unusable,
                   guard_->FindMissingAndProtect(
                       GcObject::kChunk, bases, [&]() -> absl::StatusOr<std::vector<uint32_t>> {
                         ASSIGN_OR_RETURN(std::vector<std::optional<int>> depths,
                                          catalog_->chunks().ChainDepths(tenant, bases));
                         std::vector<uint32_t> out;
                         for (uint32_t i = 0; i < depths.size(); ++i) {
                           if (!depths[i].has_value() || *depths[i] + 1 > max_chain) {
                             out.push_back(i);
                           }
                         }
                         return out;
                       }));
  std::vector<uint32_t> usable;
  size_t u = 0;
  for (uint32_t i = 0; i < asked.size(); ++i) {
    if (u < unusable.size() && unusable[u] == i) {
      ++u;
      continue;
    }
    usable.push_back(asked[i]);
  }
  return usable;
}

absl::StatusOr<std::unique_ptr<PackIngest>> IngestService::StartUpload(const Caller& caller,
                                                                       absl::string_view job_id) {
  ASSIGN_OR_RETURN(RunningJob job, Running(caller, job_id));
  std::function<absl::Status(uint64_t)> charge;
  if (options_.quota != nullptr) {
    charge = [quota = options_.quota, id = job.tenant, name = job.tenant_name](uint64_t bytes) {
      return quota->Charge(id, name, bytes);
    };
  }
  auto ingest = std::make_unique<PackIngest>(&catalog_->chunks(), tiers_->ForNewPacks(), job.tenant,
                                             options_.pack_target_bytes, std::move(charge));
  ingest->TrackClaims(&claims_, job_id);
  return ingest;
}

absl::StatusOr<v1::FindMissingTreesResponse> IngestService::FindMissingTrees(
    const Caller& caller, const v1::FindMissingTreesRequest& request) {
  RETURN_IF_ERROR(CheckIds(request.ids(), kMaxIdsPerCall));
  ASSIGN_OR_RETURN(RunningJob job, Running(caller, request.job_id()));
  std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(GcObject::kTree, job.tenant, ids));
  v1::FindMissingTreesResponse response;
  response.mutable_missing()->Add(missing.begin(), missing.end());
  return response;
}

absl::Status IngestService::ValidateTree(int64_t tenant, absl::string_view id,
                                         absl::string_view data,
                                         const absl::flat_hash_set<std::string>& earlier) {
  ASSIGN_OR_RETURN(TreeReferences refs, CheckTree(data));
  // Everything a tree references must already be stored: so a stored root
  // tree means a complete snapshot. Asked through the GC guard, so what is
  // found here cannot be collected before the tree is stored.
  absl::Span<const std::string> chunks = refs.chunk_ids;
  for (size_t i = 0; i < chunks.size(); i += kMaxIdsPerCall) {
    absl::Span<const std::string> batch = chunks.subspan(i, kMaxIdsPerCall);
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(GcObject::kChunk, tenant, batch));
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat("tree ", HexOf(id), " references chunk ",
                                                        HexOf(batch[missing[0]]),
                                                        " which is not stored; upload it first"));
    }
  }
  std::vector<std::string> subtrees;
  for (std::string& sub : refs.subtree_ids) {
    if (!earlier.contains(sub)) subtrees.push_back(std::move(sub));
  }
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(GcObject::kTree, tenant, subtrees));
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("tree ", HexOf(id), " references subtree ",
                                                      HexOf(subtrees[missing[0]]),
                                                      " which is not stored"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PutTreesResponse> IngestService::PutTrees(const Caller& caller,
                                                             const v1::PutTreesRequest& request) {
  if (static_cast<size_t>(request.trees_size()) > kMaxTreesPerCall) {
    return absl::ResourceExhaustedError(
        absl::StrCat(request.trees_size(), " trees in one call; at most ", kMaxTreesPerCall));
  }
  size_t total_bytes = 0;
  for (const std::string& data : request.trees()) total_bytes += data.size();
  if (total_bytes > kMaxTreesBytesPerCall) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "trees of ", total_bytes, " bytes in one call; at most ", kMaxTreesBytesPerCall));
  }
  ASSIGN_OR_RETURN(RunningJob job, Running(caller, request.job_id()));
  // Every tree is checked first, then all are stored in one transaction: a
  // call stores all its trees or none, with one fsync.
  std::vector<std::pair<std::string, std::string>> trees;
  absl::flat_hash_set<std::string> earlier;
  for (const std::string& data : request.trees()) {
    std::string id = TreeId(data);
    RETURN_IF_ERROR(ValidateTree(job.tenant, id, data, earlier));
    earlier.insert(id);
    trees.emplace_back(std::move(id), data);
  }
  RETURN_IF_ERROR(catalog_->trees().Put(job.tenant, trees));
  v1::PutTreesResponse response;
  response.set_stored(static_cast<uint32_t>(trees.size()));
  return response;
}

absl::StatusOr<v1::CommitSnapshotResponse> IngestService::CommitSnapshot(
    const Caller& caller, const v1::CommitSnapshotRequest& request) {
  if (request.root_tree_id().size() != kChunkIdBytes) {
    return absl::InvalidArgumentError("the root tree id is 32 bytes");
  }
  if (static_cast<size_t>(request.file_errors_size()) > kMaxFileErrors) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", kMaxFileErrors, " file errors per job"));
  }
  // Agents sign what they commit; only the server's own callers may not.
  if (request.manifest_mac().size() != kManifestMacBytes &&
      !(caller.kind == Caller::Kind::kInternal && request.manifest_mac().empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest_mac must be ", kManifestMacBytes,
                     " bytes: the agent signs the snapshot "
                     "it commits (an agent older than the server? upgrade it)"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
  if (!caller.MayActAsAgent(job->agent())) {
    return NotYours(caller, absl::StrCat("job ", request.job_id()));
  }
  if (job->state() != v1::JOB_STATE_RUNNING) {
    // A retried commit of a job that already committed returns its snapshot.
    if (!job->snapshot_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<v1::Snapshot> done,
                       catalog_->snapshots().Get(job->snapshot_id()));
      if (done.has_value() && done->root_tree_id() == request.root_tree_id()) {
        v1::CommitSnapshotResponse response;
        *response.mutable_snapshot() = *std::move(done);
        return response;
      }
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", request.job_id(), " is ", v1::JobState_Name(job->state()), "; cannot commit"));
  }
  // Renewed, not just checked: the lease must outlast this commit.
  RETURN_IF_ERROR(RenewLease(job->id(), /*force=*/true));
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(job->agent()));
  if (!agent.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", job->agent()));
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(agent->tenant()));
  std::vector<std::string> root{request.root_tree_id()};
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(GcObject::kTree, tenant, root));
  if (!missing.empty()) {
    return absl::FailedPreconditionError("the root tree is not stored; PutTrees first");
  }

  int64_t now = NowMs();
  v1::Snapshot snapshot;
  snapshot.set_id(SnapshotIdForJob(job->id()));  // the id the agent signed
  snapshot.set_agent(job->agent());
  snapshot.set_tenant(agent->tenant());
  for (const std::string& r : job->backup().roots()) snapshot.add_roots(r);
  snapshot.set_level(job->backup().level());
  snapshot.set_root_tree_id(request.root_tree_id());
  snapshot.set_created_unix_ms(now);
  *snapshot.mutable_stats() = request.stats();
  snapshot.set_job_id(job->id());
  snapshot.set_manifest_mac(request.manifest_mac());
  if (job->backup().level() != v1::BACKUP_LEVEL_FULL) {
    std::optional<v1::BackupLevel> parent_level;
    if (job->backup().level() == v1::BACKUP_LEVEL_DIFFERENTIAL) {
      parent_level = v1::BACKUP_LEVEL_FULL;
    }
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> parent,
                     catalog_->snapshots().Latest(job->agent(), snapshot.roots(0), parent_level));
    if (parent.has_value()) snapshot.set_parent_id(parent->id());
  }

  job->set_state(request.file_errors().empty() ? v1::JOB_STATE_SUCCEEDED : v1::JOB_STATE_PARTIAL);
  job->set_finished_unix_ms(now);
  job->set_snapshot_id(snapshot.id());
  *job->mutable_file_errors() = request.file_errors();
  job->mutable_progress()->set_files_done(request.stats().files());
  job->mutable_progress()->set_bytes_done(request.stats().bytes_scanned());
  ASSIGN_OR_RETURN(v1::Snapshot committed, catalog_->snapshots().Commit(snapshot, *job));
  claims_.ReleaseJob(job->id());
  jobs_->CountFinished(*job);
  jobs_->Notify();
  if (options_.on_commit) options_.on_commit();
  if (options_.on_snapshot_commit) options_.on_snapshot_commit(committed);
  // The snapshot is durable: the backup is acknowledged whatever happens to
  // the agent's "last backup" for status, which the next commit sets again.
  agent->set_last_backup_unix_ms(now);
  agent->set_last_snapshot_id(committed.id());
  agent->set_last_seen_unix_ms(now);
  absl::Status noted = catalog_->agents().Upsert(*agent);
  if (!noted.ok()) {
    log::Warn("agent.last_backup_not_recorded",
              {{"agent", agent->name()}, {"snapshot", committed.id()}, {"error", noted}});
  }
  FoldLogIfIdle();
  v1::CommitSnapshotResponse response;
  *response.mutable_snapshot() = std::move(committed);
  return response;
}

void IngestService::FoldLogIfIdle() {
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> live =
      catalog_->jobs().LiveBackups(NowMs());
  if (!live.ok()) {
    log::Warn("catalog.log_not_folded", {{"error", live.status()}});
    return;
  }
  if (!live->empty()) return;
  absl::Status folded = catalog_->FoldLog();
  if (!folded.ok() && !absl::IsUnavailable(folded)) {
    log::Warn("catalog.log_not_folded", {{"error", folded}});
  }
}

}  // namespace cairn
