#include "bench/catalog_scale/synthetic_catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cairn/v1/types.pb.h"
#include "common/ids.h"
#include "common/status_macros.h"
#include "server/catalog/sqlite_db.h"
#include "server/catalog/tree_blob.h"

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

SyntheticCatalog::Pack SyntheticCatalog::NextPack() {
  const uint32_t per_pack = options_.chunks_per_pack;
  const uint32_t per_file = std::max<uint32_t>(1, std::min(options_.chunks_per_file, per_pack));
  Pack pack;
  pack.chunks.resize(per_pack);
  v1::Tree directory;
  v1::TreeEntry* file = nullptr;
  for (uint32_t i = 0; i < per_pack; ++i) {
    StoredChunk& c = pack.chunks[i];
    c.id = NewId();
    c.offset = pack.bytes;
    c.raw_size = options_.chunk_bytes;
    c.length = options_.chunk_bytes + 40;  // sealed: nonce and tag
    pack.bytes += c.length;
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
  pack.name = absl::StrFormat("pack-%016x", packs_ + 1);
  pack.tree_id = NewId();
  pack.tree = directory.SerializeAsString();
  return pack;
}

void SyntheticCatalog::Recorded(const Pack& pack) {
  for (const StoredChunk& c : pack.chunks) {
    ++chunks_;
    Keep(c.id);
  }
  ++packs_;
  ++trees_;
  directories_.push_back(pack.tree_id);
}

absl::Status SyntheticCatalog::BulkGrowTo(uint64_t chunks, const std::string& path) {
  if (chunks <= chunks_) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  // Nothing else has the file open: no journal, no fsync, a 4 GiB cache.
  RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=OFF"));
  RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=OFF"));
  RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-4194304"));
  if (tenant_ < 0) {
    ASSIGN_OR_RETURN(SqliteStatement tenant, db->Prepare("SELECT id FROM tenants WHERE name=?"));
    tenant.BindText(1, options_.tenant);
    ASSIGN_OR_RETURN(bool found, tenant.Step());
    if (!found) return absl::FailedPreconditionError("record one step first: no tenant yet");
    tenant_ = tenant.ColumnInt(0);
  }
  RETURN_IF_ERROR(BulkInsert(chunks, db.get()));
  return db->Exec("PRAGMA journal_mode=WAL");
}

absl::Status SyntheticCatalog::BulkInsert(uint64_t chunks, SqliteDb* db) {
  // The statements of ChunkStore::InsertPack and InsertChunks (a new id
  // needs no check) and TreeStore::Put.
  ASSIGN_OR_RETURN(SqliteStatement insert_pack,
                   db->Prepare("INSERT INTO packs(tier, name, size, entries, created_ms) "
                               "VALUES(?, ?, ?, ?, ?) RETURNING id"));
  ASSIGN_OR_RETURN(SqliteStatement insert_chunk,
                   db->Prepare("INSERT INTO chunks(tenant_id, id, pack_id, offset, length, "
                               "raw_size, base_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6, NULL)"));
  ASSIGN_OR_RETURN(SqliteStatement insert_tree,
                   db->Prepare("INSERT INTO trees(tenant_id, id, data, created_ms) "
                               "VALUES(?, ?, ?, ?)"));
  constexpr int kPacksPerTransaction = 256;
  while (chunks_ < chunks) {
    RETURN_IF_ERROR(db->Exec("BEGIN"));
    for (int i = 0; i < kPacksPerTransaction && chunks_ < chunks; ++i) {
      Pack pack = NextPack();
      const int64_t now_ms = absl::ToUnixMillis(absl::Now());
      insert_pack.Reset();
      insert_pack.BindText(1, "hot");
      insert_pack.BindText(2, pack.name);
      insert_pack.Bind(3, static_cast<int64_t>(pack.bytes));
      insert_pack.Bind(4, static_cast<int64_t>(pack.chunks.size()));
      insert_pack.Bind(5, now_ms);
      ASSIGN_OR_RETURN(bool inserted, insert_pack.Step());
      if (!inserted) return absl::InternalError("INSERT INTO packs returned no id");
      const int64_t pack_id = insert_pack.ColumnInt(0);
      insert_pack.Reset();
      for (const StoredChunk& c : pack.chunks) {
        insert_chunk.Reset();
        insert_chunk.Bind(1, tenant_);
        insert_chunk.BindBlob(2, c.id);
        insert_chunk.Bind(3, pack_id);
        insert_chunk.Bind(4, static_cast<int64_t>(c.offset));
        insert_chunk.Bind(5, static_cast<int64_t>(c.length));
        insert_chunk.Bind(6, static_cast<int64_t>(c.raw_size));
        RETURN_IF_ERROR(insert_chunk.Run());
      }
      insert_tree.Reset();
      insert_tree.Bind(1, tenant_);
      insert_tree.BindBlob(2, pack.tree_id);
      insert_tree.BindBlob(3, PackTreeBlob(pack.tree));
      insert_tree.Bind(4, now_ms);
      RETURN_IF_ERROR(insert_tree.Run());
      Recorded(pack);
    }
    RETURN_IF_ERROR(db->Exec("COMMIT"));
  }
  return absl::OkStatus();
}

absl::Status SyntheticCatalog::CommitSnapshot() {
  std::vector<std::string> directories;
  directories.swap(directories_);
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
  while (chunks_ < chunks) {
    Pack pack = NextPack();
    ASSIGN_OR_RETURN(uint64_t added, catalog_->chunks().AddPack(tenant_, "hot", pack.name,
                                                                pack.bytes, pack.chunks));
    if (added != pack.chunks.size()) {
      return absl::InternalError(absl::StrCat("pack ", pack.name, ": ", added, " of ",
                                              pack.chunks.size(),
                                              " chunks were new (an id repeated?)"));
    }
    RETURN_IF_ERROR(catalog_->trees().Put(tenant_, {{pack.tree_id, pack.tree}}));
    Recorded(pack);
  }
  if (directories_.empty()) return absl::OkStatus();
  return CommitSnapshot();
}

}  // namespace cairn
