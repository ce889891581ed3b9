#include "server/ingest/repository.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "common/tree_id.h"

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

bool IsFinished(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_PARTIAL ||
         state == v1::JOB_STATE_FAILED || state == v1::JOB_STATE_CANCELLED;
}

}  // namespace

Repository::Repository(Catalog* catalog, std::vector<std::unique_ptr<Tier>> tiers,
                       JobBoard* jobs, RepositoryOptions options)
    : catalog_(catalog),
      tiers_(std::move(tiers)),
      jobs_(jobs),
      options_(options),
      gc_guard_(options_.clock) {}

Tier* Repository::FindTier(absl::string_view name) {
  for (auto& tier : tiers_) {
    if (tier->name() == name) return tier.get();
  }
  return nullptr;
}

absl::StatusOr<v1::HelloResponse> Repository::Hello(const v1::HelloRequest& request) {
  RETURN_IF_ERROR(ValidateAgentName(request.agent(), "agent name"));
  RETURN_IF_ERROR(ValidateAgentName(request.tenant(), "tenant"));
  if (request.roots_size() > 1024 || request.hostname().size() > 255 ||
      request.version().size() > 64) {
    return absl::InvalidArgumentError("hello: too many roots or over-long host name/version");
  }
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> existing, catalog_->agents().Get(request.agent()));
  if (existing.has_value() && existing->tenant() != request.tenant()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agent ", request.agent(), " belongs to tenant ", existing->tenant(),
        ", not ", request.tenant()));
  }
  v1::AgentInfo info = existing.value_or(v1::AgentInfo());
  info.set_name(request.agent());
  info.set_tenant(request.tenant());
  info.set_hostname(request.hostname());
  info.set_version(request.version());
  // One-shot commands run without the daemon's config send no roots; they
  // must not erase the roots the daemon reported.
  if (request.roots_size() > 0) {
    info.clear_roots();
    for (const std::string& root : request.roots()) info.add_roots(root);
  }
  info.set_last_seen_unix_ms(NowMs());
  RETURN_IF_ERROR(catalog_->agents().Upsert(info));

  v1::HelloResponse response;
  response.set_server_version(CAIRN_VERSION);
  response.set_max_message_bytes(kMaxGrpcMessageBytes);
  response.set_max_ids_per_call(kMaxIdsPerCall);
  response.set_server_time_unix_ms(NowMs());
  return response;
}

absl::StatusOr<v1::BeginBackupResponse> Repository::BeginBackup(
    const v1::BeginBackupRequest& request) {
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
  int64_t lease_expires = NowMs() + absl::ToInt64Milliseconds(options_.job_lease);
  RETURN_IF_ERROR(catalog_->jobs().ExtendLease(job.id(), NowMs(), lease_expires, false).status());
  gc_guard_.BackupBegan(job.id());
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
    }
  }
  return response;
}

absl::Status Repository::RenewLease(absl::string_view job_id) {
  int64_t now = NowMs();
  ASSIGN_OR_RETURN(bool live,
                   catalog_->jobs().ExtendLease(
                       job_id, now, now + absl::ToInt64Milliseconds(options_.job_lease), true));
  // A lapsed lease stays lapsed: garbage collection may since have deleted
  // what the job uploaded or was told exists, so it must not commit.
  if (!live) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id, ": lease expired (no call for ",
                     absl::FormatDuration(options_.job_lease), "); start a new backup"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<v1::Job, int64_t>> Repository::RunningJob(absl::string_view job_id) {
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(job_id));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (job->state() != v1::JOB_STATE_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is ", v1::JobState_Name(job->state()), ", not running"));
  }
  RETURN_IF_ERROR(RenewLease(job_id));
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(job->agent()));
  if (!agent.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", job->agent()));
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(agent->tenant()));
  return std::make_pair(*std::move(job), tenant);
}

absl::StatusOr<v1::FindMissingChunksResponse> Repository::FindMissingChunks(
    const v1::FindMissingChunksRequest& request) {
  RETURN_IF_ERROR(CheckIds(request.ids(), kMaxIdsPerCall));
  ASSIGN_OR_RETURN(auto job, RunningJob(request.job_id()));
  std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing,
                   gc_guard_.FindMissingAndProtect(GcObject::kChunk, ids, [&] {
                     return catalog_->chunks().FindMissing(job.second, ids);
                   }));
  v1::FindMissingChunksResponse response;
  response.mutable_missing()->Add(missing.begin(), missing.end());
  return response;
}

absl::StatusOr<std::unique_ptr<PackIngest>> Repository::StartUpload(absl::string_view job_id) {
  ASSIGN_OR_RETURN(auto job, RunningJob(job_id));
  return std::make_unique<PackIngest>(catalog_, tiers_.front().get(), job.second,
                                      options_.pack_target_bytes);
}

absl::StatusOr<v1::FindMissingTreesResponse> Repository::FindMissingTrees(
    const v1::FindMissingTreesRequest& request) {
  RETURN_IF_ERROR(CheckIds(request.ids(), kMaxIdsPerCall));
  ASSIGN_OR_RETURN(auto job, RunningJob(request.job_id()));
  std::vector<std::string> ids(request.ids().begin(), request.ids().end());
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing,
                   gc_guard_.FindMissingAndProtect(GcObject::kTree, ids, [&] {
                     return catalog_->trees().FindMissing(job.second, ids);
                   }));
  v1::FindMissingTreesResponse response;
  response.mutable_missing()->Add(missing.begin(), missing.end());
  return response;
}

absl::Status Repository::ValidateTree(int64_t tenant, absl::string_view id,
                                      absl::string_view data,
                                      const absl::flat_hash_set<std::string>& earlier) {
  if (data.size() > kMaxTreeBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tree is ", data.size(), " bytes; at most ", kMaxTreeBytes));
  }
  v1::Tree tree;
  if (!tree.ParseFromString(std::string(data))) {
    return absl::InvalidArgumentError("tree does not parse");
  }
  std::vector<std::string> chunk_ids;
  std::vector<std::string> subtree_ids;
  const std::string* previous = nullptr;
  for (const v1::TreeEntry& entry : tree.entries()) {
    RETURN_IF_ERROR(ValidateName(entry.name()));
    if (previous != nullptr && !(*previous < entry.name())) {
      return absl::InvalidArgumentError(
          absl::StrCat("tree entries must be sorted and unique; \"",
                       absl::CHexEscape(entry.name()), "\" is out of place"));
    }
    previous = &entry.name();
    switch (entry.type()) {
      case v1::ENTRY_TYPE_FILE: {
        uint64_t end = 0;
        for (const v1::ChunkRef& chunk : entry.chunks()) {
          if (chunk.id().size() != kChunkIdBytes || chunk.size() == 0 ||
              chunk.size() > kMaxChunkBytes || chunk.offset() < end) {
            return absl::InvalidArgumentError(absl::StrCat(
                "file \"", absl::CHexEscape(entry.name()), "\" has a malformed chunk list"));
          }
          // Compared without adding, so a hostile offset cannot wrap around.
          if (chunk.offset() > entry.size() || chunk.size() > entry.size() - chunk.offset()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "file \"", absl::CHexEscape(entry.name()), "\" has chunks past its size"));
          }
          end = chunk.offset() + chunk.size();
          chunk_ids.push_back(chunk.id());
        }
        break;
      }
      case v1::ENTRY_TYPE_DIRECTORY:
        if (entry.subtree_id().size() != kChunkIdBytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "directory \"", absl::CHexEscape(entry.name()), "\" has no valid subtree id"));
        }
        if (!earlier.contains(entry.subtree_id())) subtree_ids.push_back(entry.subtree_id());
        break;
      case v1::ENTRY_TYPE_SYMLINK:
      case v1::ENTRY_TYPE_HARDLINK:
        if (entry.link_target().empty() || entry.link_target().size() > kMaxPathTotalBytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "link \"", absl::CHexEscape(entry.name()), "\" has an empty or over-long target"));
        }
        break;
      case v1::ENTRY_TYPE_FIFO:
      case v1::ENTRY_TYPE_CHAR_DEVICE:
      case v1::ENTRY_TYPE_BLOCK_DEVICE:
      case v1::ENTRY_TYPE_SOCKET:
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "entry \"", absl::CHexEscape(entry.name()), "\" has an unknown type"));
    }
  }
  // Everything a tree references must already be stored: so a stored root
  // tree means a complete snapshot. Asked through the GC guard, so what is
  // found here cannot be collected before the tree is stored.
  for (size_t i = 0; i < chunk_ids.size(); i += kMaxIdsPerCall) {
    absl::Span<const std::string> batch =
        absl::MakeConstSpan(chunk_ids).subspan(i, std::min(kMaxIdsPerCall, chunk_ids.size() - i));
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing,
                     gc_guard_.FindMissingAndProtect(GcObject::kChunk, batch, [&] {
                       return catalog_->chunks().FindMissing(tenant, batch);
                     }));
    if (!missing.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("tree ", HexOf(id), " references chunk ",
                       HexOf(chunk_ids[i + missing[0]]), " which is not stored; upload it first"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing_trees,
                   gc_guard_.FindMissingAndProtect(GcObject::kTree, subtree_ids, [&] {
                     return catalog_->trees().FindMissing(tenant, subtree_ids);
                   }));
  if (!missing_trees.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree ", HexOf(id), " references subtree ",
                     HexOf(subtree_ids[missing_trees[0]]), " which is not stored"));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::PutTreesResponse> Repository::PutTrees(const v1::PutTreesRequest& request) {
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
  ASSIGN_OR_RETURN(auto job, RunningJob(request.job_id()));
  int64_t tenant = job.second;
  // Every tree is checked first, then all are stored in one transaction: a
  // call stores all its trees or none, with one fsync.
  std::vector<std::pair<std::string, std::string>> trees;
  absl::flat_hash_set<std::string> earlier;
  for (const std::string& data : request.trees()) {
    std::string id = TreeId(data);
    RETURN_IF_ERROR(ValidateTree(tenant, id, data, earlier));
    earlier.insert(id);
    trees.emplace_back(std::move(id), data);
  }
  RETURN_IF_ERROR(catalog_->trees().Put(tenant, trees));
  v1::PutTreesResponse response;
  response.set_stored(static_cast<uint32_t>(trees.size()));
  return response;
}

absl::StatusOr<v1::GetTreeResponse> Repository::GetTree(const v1::GetTreeRequest& request) {
  if (!request.id().empty() && request.id().size() != kChunkIdBytes) {
    return absl::InvalidArgumentError("a tree id is 32 bytes (or empty for the root)");
  }
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot,
                   catalog_->snapshots().Get(request.snapshot_id()));
  if (!snapshot.has_value()) {
    return absl::NotFoundError(absl::StrCat("no snapshot ", request.snapshot_id()));
  }
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(snapshot->tenant()));
  const std::string& id = request.id().empty() ? snapshot->root_tree_id() : request.id();
  ASSIGN_OR_RETURN(std::optional<std::string> tree, catalog_->trees().Get(tenant, id));
  if (!tree.has_value()) {
    return absl::NotFoundError(absl::StrCat("no tree ", HexOf(id)));
  }
  v1::GetTreeResponse response;
  response.set_tree(*std::move(tree));
  return response;
}

absl::StatusOr<int64_t> Repository::SnapshotTenant(absl::string_view snapshot_id) {
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot, catalog_->snapshots().Get(snapshot_id));
  if (!snapshot.has_value()) {
    return absl::NotFoundError(absl::StrCat("no snapshot ", snapshot_id));
  }
  return catalog_->agents().TenantId(snapshot->tenant());
}

absl::StatusOr<v1::CommitSnapshotResponse> Repository::CommitSnapshot(
    const v1::CommitSnapshotRequest& request) {
  if (request.root_tree_id().size() != kChunkIdBytes) {
    return absl::InvalidArgumentError("the root tree id is 32 bytes");
  }
  if (static_cast<size_t>(request.file_errors_size()) > kMaxFileErrors) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", kMaxFileErrors, " file errors per job"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
  if (job->state() != v1::JOB_STATE_RUNNING) {
    // A retried commit of a job that already committed returns its snapshot.
    if (!job->snapshot_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<v1::Snapshot> done, catalog_->snapshots().Get(job->snapshot_id()));
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
  RETURN_IF_ERROR(RenewLease(job->id()));
  ASSIGN_OR_RETURN(std::optional<v1::AgentInfo> agent, catalog_->agents().Get(job->agent()));
  if (!agent.has_value()) return absl::NotFoundError(absl::StrCat("no agent ", job->agent()));
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(agent->tenant()));
  std::vector<std::string> root{request.root_tree_id()};
  ASSIGN_OR_RETURN(std::vector<uint32_t> missing,
                   gc_guard_.FindMissingAndProtect(GcObject::kTree, root, [&] {
                     return catalog_->trees().FindMissing(tenant, root);
                   }));
  if (!missing.empty()) {
    return absl::FailedPreconditionError("the root tree is not stored; PutTrees first");
  }

  int64_t now = NowMs();
  v1::Snapshot snapshot;
  snapshot.set_id(NewSnapshotId());
  snapshot.set_agent(job->agent());
  snapshot.set_tenant(agent->tenant());
  for (const std::string& root : job->backup().roots()) snapshot.add_roots(root);
  snapshot.set_level(job->backup().level());
  snapshot.set_root_tree_id(request.root_tree_id());
  snapshot.set_created_unix_ms(now);
  *snapshot.mutable_stats() = request.stats();
  snapshot.set_job_id(job->id());
  if (job->backup().level() != v1::BACKUP_LEVEL_FULL) {
    std::optional<v1::BackupLevel> parent_level;
    if (job->backup().level() == v1::BACKUP_LEVEL_DIFFERENTIAL) {
      parent_level = v1::BACKUP_LEVEL_FULL;
    }
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> parent,
                     catalog_->snapshots().Latest(job->agent(), snapshot.roots(0), parent_level));
    if (parent.has_value()) snapshot.set_parent_id(parent->id());
  }

  job->set_state(request.file_errors().empty() ? v1::JOB_STATE_SUCCEEDED
                                               : v1::JOB_STATE_PARTIAL);
  job->set_finished_unix_ms(now);
  job->set_snapshot_id(snapshot.id());
  *job->mutable_file_errors() = request.file_errors();
  job->mutable_progress()->set_files_done(request.stats().files());
  job->mutable_progress()->set_bytes_done(request.stats().bytes_scanned());
  ASSIGN_OR_RETURN(v1::Snapshot committed, catalog_->snapshots().Commit(snapshot, *job));
  jobs_->Notify();
  // The agent's "last backup" for status.
  agent->set_last_backup_unix_ms(now);
  agent->set_last_snapshot_id(committed.id());
  agent->set_last_seen_unix_ms(now);
  RETURN_IF_ERROR(catalog_->agents().Upsert(*agent));
  v1::CommitSnapshotResponse response;
  *response.mutable_snapshot() = std::move(committed);
  return response;
}

absl::Status Repository::FinishJob(const v1::FinishJobRequest& request) {
  if (!IsFinished(request.state())) {
    return absl::InvalidArgumentError("FinishJob needs a final state");
  }
  if (static_cast<size_t>(request.file_errors_size()) > kMaxFileErrors ||
      request.error().size() > 4096) {
    return absl::ResourceExhaustedError("too many file errors or an over-long error");
  }
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(request.job_id()));
  if (!job.has_value()) return absl::NotFoundError(absl::StrCat("no job ", request.job_id()));
  if (IsFinished(job->state())) return absl::OkStatus();  // retried
  job->set_state(request.state());
  job->set_error(request.error());
  *job->mutable_file_errors() = request.file_errors();
  if (request.has_progress()) {
    v1::JobProgress progress = request.progress();
    if (progress.files_total() == 0) progress.set_files_total(job->progress().files_total());
    if (progress.bytes_total() == 0) progress.set_bytes_total(job->progress().bytes_total());
    *job->mutable_progress() = progress;
  }
  job->set_finished_unix_ms(NowMs());
  return jobs_->Update(*job);
}

absl::StatusOr<std::string> Repository::ReadChunk(int64_t tenant, absl::string_view id) {
  if (id.size() != kChunkIdBytes) return absl::InvalidArgumentError("a chunk id is 32 bytes");
  ASSIGN_OR_RETURN(std::optional<ChunkLocation> loc, catalog_->chunks().Locate(tenant, id));
  if (!loc.has_value()) return absl::NotFoundError(absl::StrCat("no chunk ", HexOf(id)));
  Tier* tier = FindTier(loc->tier);
  if (tier == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("chunk ", HexOf(id), " is on tier ", loc->tier, " which is not configured"));
  }
  std::string sealed;
  absl::Status read = tier->Read(loc->pack_name, loc->offset, loc->length, &sealed);
  if (absl::IsNotFound(read)) {
    // Compaction may have moved the chunk and deleted its old pack between
    // the lookup and the read; the new location is committed by then.
    ASSIGN_OR_RETURN(std::optional<ChunkLocation> moved, catalog_->chunks().Locate(tenant, id));
    if (moved.has_value() && moved->pack_id != loc->pack_id) {
      tier = FindTier(moved->tier);
      if (tier == nullptr) {
        return absl::UnavailableError(absl::StrCat("chunk ", HexOf(id), " is on tier ",
                                                   moved->tier, " which is not configured"));
      }
      read = tier->Read(moved->pack_name, moved->offset, moved->length, &sealed);
    }
  }
  RETURN_IF_ERROR(read);
  return sealed;
}

}  // namespace cairn
