#include "bench/catalog_scale/synthetic_catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cairn/v1/types.pb.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {

SyntheticCatalog::SyntheticCatalog(Catalog* catalog, SyntheticOptions options)
    : catalog_(catalog), options_(std::move(options)), random_(options_.seed) {
  sample_.reserve(options_.sample_size);
}

std::string SyntheticCatalog::NewId() {
  std::string id(32, '\0');
  for (size_t i = 0; i < id.size(); i += 8) {
    uint64_t word = random_();
    std::copy_n(reinterpret_cast<const char*>(&word), 8, id.begin() + static_cast<ptrdiff_t>(i));
  }
  return id;
}

void SyntheticCatalog::Keep(const std::string& id) {
  // Reservoir sampling over every id added so far (chunks_ counts this one).
  if (sample_.size() < options_.sample_size) {
    sample_.push_back(id);
    return;
  }
  uint64_t slot = random_() % chunks_;
  if (slot < sample_.size()) sample_[slot] = id;
}

absl::StatusOr<std::string> SyntheticCatalog::AddPack() {
  const uint32_t per_pack = options_.chunks_per_pack;
  const uint32_t per_file = std::max<uint32_t>(1, std::min(options_.chunks_per_file, per_pack));
  std::vector<StoredChunk> chunks(per_pack);
  v1::Tree directory;
  v1::TreeEntry* file = nullptr;
  uint64_t pack_bytes = 0;
  for (uint32_t i = 0; i < per_pack; ++i) {
    StoredChunk& c = chunks[i];
    c.id = NewId();
    c.offset = pack_bytes;
    c.raw_size = options_.chunk_bytes;
    c.length = options_.chunk_bytes + 40;  // sealed: nonce and tag
    pack_bytes += c.length;
    if (i % per_file == 0) {
      file = directory.add_entries();
      file->set_name(absl::StrFormat("shard-%06u.bin", i / per_file));
      file->set_type(v1::ENTRY_TYPE_FILE);
      file->set_mode(0644);
      file->set_mtime_ns(absl::GetCurrentTimeNanos());
    }
    v1::ChunkRef* ref = file->add_chunks();
    ref->set_id(c.id);
    ref->set_offset(file->size());
    ref->set_size(c.raw_size);
    file->set_size(file->size() + c.raw_size);
  }
  const std::string pack_name = absl::StrFormat("pack-%016x", packs_ + 1);
  ASSIGN_OR_RETURN(uint64_t added,
                   catalog_->chunks().AddPack(tenant_, "hot", pack_name, pack_bytes, chunks));
  if (added != per_pack) {
    return absl::InternalError(absl::StrCat("pack ", pack_name, ": ", added, " of ", per_pack,
                                            " chunks were new (an id repeated?)"));
  }
  for (const StoredChunk& c : chunks) {
    ++chunks_;
    Keep(c.id);
  }
  ++packs_;
  std::string tree_id = NewId();
  RETURN_IF_ERROR(catalog_->trees().Put(tenant_, {{tree_id, directory.SerializeAsString()}}));
  ++trees_;
  return tree_id;
}

absl::Status SyntheticCatalog::CommitSnapshot(const std::vector<std::string>& directories) {
  v1::Tree root;
  for (size_t i = 0; i < directories.size(); ++i) {
    v1::TreeEntry* dir = root.add_entries();
    dir->set_name(absl::StrFormat("dir-%08u", i));
    dir->set_type(v1::ENTRY_TYPE_DIRECTORY);
    dir->set_mode(0755);
    dir->set_subtree_id(directories[i]);
  }
  std::string root_id = NewId();
  RETURN_IF_ERROR(catalog_->trees().Put(tenant_, {{root_id, root.SerializeAsString()}}));
  ++trees_;

  const int64_t now = absl::ToUnixMillis(absl::Now());
  v1::Job job;
  job.set_id(NewJobId());
  job.set_kind(v1::JOB_KIND_BACKUP);
  job.set_state(v1::JOB_STATE_RUNNING);
  job.set_agent("scale-agent");
  job.set_created_unix_ms(now);
  job.set_started_unix_ms(now);
  RETURN_IF_ERROR(catalog_->jobs().Insert(job, now));
  v1::Snapshot snapshot;
  snapshot.set_id(SnapshotIdForJob(job.id()));
  snapshot.set_agent(job.agent());
  snapshot.set_tenant(options_.tenant);
  snapshot.add_roots("/data");
  snapshot.set_level(v1::BACKUP_LEVEL_FULL);
  snapshot.set_root_tree_id(root_id);
  snapshot.set_created_unix_ms(now);
  snapshot.set_job_id(job.id());
  job.set_state(v1::JOB_STATE_SUCCEEDED);
  job.set_snapshot_id(snapshot.id());
  job.set_finished_unix_ms(now);
  RETURN_IF_ERROR(catalog_->snapshots().Commit(snapshot, job).status());
  ++snapshots_;
  return absl::OkStatus();
}

absl::Status SyntheticCatalog::GrowTo(uint64_t chunks) {
  if (tenant_ < 0) {
    ASSIGN_OR_RETURN(tenant_, catalog_->agents().TenantId(options_.tenant));
  }
  if (chunks <= chunks_) return absl::OkStatus();
  std::vector<std::string> directories;
  while (chunks_ < chunks) {
    ASSIGN_OR_RETURN(std::string directory, AddPack());
    directories.push_back(std::move(directory));
  }
  return CommitSnapshot(directories);
}

}  // namespace cairn
