#include "server/recovery/catalog_rebuild.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/v1/types.pb.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/catalog/sqlite_db.h"
#include "server/ingest/tree_validator.h"
#include "server/recovery/tier_metadata.h"
#include "server/tiers/pack_index.h"

namespace cairn {
namespace {

// The working index: every chunk of the packs the catalog did not know
// (entries), the chunks a snapshot being checked needs (pending) and those
// of the snapshots found whole (wanted), and the trees already found whole.
constexpr char kScratchSchema[] = R"sql(
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
CREATE TABLE entries(id BLOB PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL,
                     length INTEGER NOT NULL, raw_size INTEGER NOT NULL, base BLOB)
  WITHOUT ROWID;
CREATE TABLE packs(name TEXT PRIMARY KEY, tier INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE TABLE pending(tenant INTEGER NOT NULL, id BLOB NOT NULL, PRIMARY KEY(tenant, id))
  WITHOUT ROWID;
CREATE TABLE wanted(tenant INTEGER NOT NULL, id BLOB NOT NULL, PRIMARY KEY(tenant, id))
  WITHOUT ROWID;
CREATE TABLE good_trees(tenant INTEGER NOT NULL, id BLOB NOT NULL, PRIMARY KEY(tenant, id))
  WITHOUT ROWID;
)sql";

using Holders = std::vector<size_t>;  // indexes into the tiers, in preference order

class Importer {
 public:
  Importer(Catalog* catalog, const std::vector<Tier*>& tiers, const SecretKey& key,
           SqliteDb* scratch, RebuildReport* report)
      : catalog_(catalog), tiers_(tiers), key_(key), scratch_(scratch), report_(report) {}

  absl::Status Run() {
    RETURN_IF_ERROR(List());
    RETURN_IF_ERROR(IndexPacks());
    RETURN_IF_ERROR(ImportTreePacks());
    ASSIGN_OR_RETURN(std::vector<v1::TierSnapshotRecord> records, ReadRecords());
    std::vector<v1::TierSnapshotRecord> whole;
    for (v1::TierSnapshotRecord& r : records) {
      ASSIGN_OR_RETURN(std::optional<std::string> why, Check(r));
      if (why.has_value()) {
        report_->skipped.push_back(absl::StrCat("snapshot ", r.snapshot().id(), " of agent ",
                                                r.snapshot().agent(), ": ", *why));
      } else {
        whole.push_back(std::move(r));
      }
    }
    RETURN_IF_ERROR(CatalogueWanted());
    for (const v1::TierSnapshotRecord& r : whole) {
      ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(r.job().id()));
      if (!job.has_value()) RETURN_IF_ERROR(catalog_->jobs().Insert(r.job(), 0));
      RETURN_IF_ERROR(catalog_->snapshots().Commit(r.snapshot(), r.job()).status());
      report_->snapshots_restored.push_back(r.snapshot().id());
    }
    return absl::OkStatus();
  }

 private:
  void Problem(size_t tier, absl::string_view object, const absl::Status& s) {
    report_->problems.push_back(
        absl::StrCat("tier ", tiers_[tier]->name(), ": ", object, ": ", s.message()));
  }

  absl::StatusOr<int64_t> Tenant(const std::string& name) {
    auto it = tenant_ids_.find(name);
    if (it != tenant_ids_.end()) return it->second;
    ASSIGN_OR_RETURN(int64_t id, catalog_->agents().TenantId(name));
    tenant_ids_[name] = id;
    return id;
  }

  // What each tier holds that the catalog does not know.
  absl::Status List() {
    absl::flat_hash_set<std::string> known_packs;
    ASSIGN_OR_RETURN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
    for (PackRecord& p : packs) known_packs.insert(std::move(p.name));
    ASSIGN_OR_RETURN(std::vector<std::string> tree_packs, catalog_->mirror().TreePacks());
    absl::flat_hash_set<std::string> known_tree_packs(tree_packs.begin(), tree_packs.end());
    ASSIGN_OR_RETURN(std::vector<std::string> ids, catalog_->mirror().SnapshotIds());
    absl::flat_hash_set<std::string> known_snapshots(ids.begin(), ids.end());
    for (size_t t = 0; t < tiers_.size(); ++t) {
      absl::StatusOr<std::vector<std::string>> names = tiers_[t]->List();
      if (!names.ok()) {
        Problem(t, "(listing)", names.status());
        continue;
      }
      for (std::string& name : *names) {
        if (absl::StartsWith(name, "pack-")) {
          if (!known_packs.contains(name)) packs_[name].push_back(t);
        } else if (IsTreePackName(name)) {
          if (!known_tree_packs.contains(name)) tree_packs_[name].push_back(t);
        } else {
          std::string id = SnapshotIdOfRecord(name);
          if (!id.empty() && !known_snapshots.contains(id)) records_[name].push_back(t);
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status IndexPacks() {
    ASSIGN_OR_RETURN(SqliteStatement entry,
                     scratch_->Prepare(
                         // A whole copy of a chunk wins over a delta copy
                         // (whose base a collection may have taken).
                         "INSERT INTO entries(id, pack, offset, length, raw_size, base) "
                         "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                         "pack=excluded.pack, offset=excluded.offset, length=excluded.length, "
                         "raw_size=excluded.raw_size, base=NULL "
                         "WHERE entries.base IS NOT NULL AND excluded.base IS NULL"));
    ASSIGN_OR_RETURN(SqliteStatement pack,
                     scratch_->Prepare("INSERT INTO packs(name, tier, size) VALUES(?, ?, ?)"));
    for (auto& [name, holders] : packs_) {
      for (size_t i = 0; i < holders.size(); ++i) {
        const size_t t = holders[i];
        uint64_t size = 0;
        absl::StatusOr<std::vector<PackEntry>> index = ReadPackIndex(tiers_[t], name, &size);
        if (!index.ok()) {
          Problem(t, name, index.status());
          continue;
        }
        // The tier that read well first is where the pack is catalogued;
        // those that did not read are no copies.
        holders.erase(holders.begin(), holders.begin() + i);
        RETURN_IF_ERROR(scratch_->Exec("BEGIN"));
        pack.Reset();
        pack.BindText(1, name);
        pack.Bind(2, static_cast<int64_t>(t));
        pack.Bind(3, static_cast<int64_t>(size));
        RETURN_IF_ERROR(pack.Run());
        for (const PackEntry& e : *index) {
          entry.Reset();
          entry.BindBlob(
              1, absl::string_view(reinterpret_cast<const char*>(e.id.data()), e.id.size()));
          entry.BindText(2, name);
          entry.Bind(3, static_cast<int64_t>(e.offset));
          entry.Bind(4, e.length);
          entry.Bind(5, e.raw_size);
          if (e.base.has_value()) {
            entry.BindBlob(6, absl::string_view(reinterpret_cast<const char*>(e.base->data()),
                                                e.base->size()));
          } else {
            entry.BindNull(6);
          }
          RETURN_IF_ERROR(entry.Run());
        }
        RETURN_IF_ERROR(scratch_->Exec("COMMIT"));
        ++report_->packs_indexed;
        report_->chunks_indexed += index->size();
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::Status ImportTreePacks() {
    for (const auto& [name, holders] : tree_packs_) {
      for (size_t t : holders) {
        std::string tenant;
        std::vector<std::pair<std::string, std::string>> batch;
        size_t batch_bytes = 0;
        uint64_t trees = 0;
        auto flush = [&]() -> absl::Status {
          if (batch.empty()) return absl::OkStatus();
          ASSIGN_OR_RETURN(int64_t id, Tenant(tenant));
          RETURN_IF_ERROR(catalog_->trees().Put(id, batch));
          std::vector<std::string> ids;
          for (auto& [tree_id, bytes] : batch) ids.push_back(tree_id);
          RETURN_IF_ERROR(catalog_->mirror().MarkMirrored(id, ids, name));
          batch.clear();
          batch_bytes = 0;
          return absl::OkStatus();
        };
        absl::Status s =
            ReadTreePack(tiers_[t], name, key_,
                         [&](const std::string& owner, const std::string& id, std::string bytes) {
                           tenant = owner;
                           batch_bytes += bytes.size();
                           batch.emplace_back(id, std::move(bytes));
                           ++trees;
                           return batch_bytes >= (8 << 20) ? flush() : absl::OkStatus();
                         });
        if (s.ok()) s = flush();
        if (!s.ok()) {
          Problem(t, name, s);
          continue;
        }
        ++report_->tree_packs_read;
        report_->trees_imported += trees;
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<v1::TierSnapshotRecord>> ReadRecords() {
    std::vector<v1::TierSnapshotRecord> records;
    for (const auto& [name, holders] : records_) {
      for (size_t t : holders) {
        absl::StatusOr<uint64_t> size = tiers_[t]->Size(name);
        if (size.ok() && *size > (1 << 20)) size = absl::DataLossError("over 1 MiB");
        std::string sealed;
        absl::Status s = size.ok() ? tiers_[t]->Read(name, 0, *size, &sealed) : size.status();
        absl::StatusOr<v1::TierSnapshotRecord> record =
            s.ok() ? DecodeSnapshotRecord(sealed, name, key_) : s;
        if (!record.ok()) {
          Problem(t, name, record.status());
          continue;
        }
        records.push_back(*std::move(record));
        break;
      }
    }
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
      return a.snapshot().created_unix_ms() < b.snapshot().created_unix_ms();
    });
    return records;
  }

  // Whether every tree and chunk the snapshot reaches is found; why not when
  // it is not. The chunks it needs that the catalog lacks join `wanted`.
  absl::StatusOr<std::optional<std::string>> Check(const v1::TierSnapshotRecord& record) {
    const v1::Snapshot& s = record.snapshot();
    ASSIGN_OR_RETURN(int64_t tenant, Tenant(s.tenant()));
    if (!record.tenant_key_check().empty()) {
      ASSIGN_OR_RETURN(std::string check, catalog_->agents().SetKeyCheckIfUnset(
                                              s.tenant(), record.tenant_key_check()));
      if (check != record.tenant_key_check()) {
        return std::optional<std::string>("its tenant's key differs from the catalog's");
      }
    }
    RETURN_IF_ERROR(scratch_->Exec("DELETE FROM pending"));
    ASSIGN_OR_RETURN(SqliteStatement good,
                     scratch_->Prepare("SELECT 1 FROM good_trees WHERE tenant=? AND id=?"));
    ASSIGN_OR_RETURN(SqliteStatement in_pack,
                     scratch_->Prepare("SELECT base FROM entries WHERE id=?"));
    ASSIGN_OR_RETURN(SqliteStatement pend,
                     scratch_->Prepare("INSERT OR IGNORE INTO pending(tenant, id) "
                                       "VALUES(?, ?)"));
    std::vector<std::string> stack{s.root_tree_id()};
    absl::flat_hash_set<std::string> visited;
    while (!stack.empty()) {
      std::string id = std::move(stack.back());
      stack.pop_back();
      if (!visited.insert(id).second) continue;
      good.Reset();
      good.Bind(1, tenant);
      good.BindBlob(2, id);
      ASSIGN_OR_RETURN(bool known_good, good.Step());
      if (known_good) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> bytes, catalog_->trees().Get(tenant, id));
      if (!bytes.has_value()) {
        return std::optional<std::string>(absl::StrCat("tree ", HexOf(id), " is on no tier"));
      }
      absl::StatusOr<TreeReferences> refs = CheckTree(*bytes);
      if (!refs.ok()) {
        return std::optional<std::string>(
            absl::StrCat("tree ", HexOf(id), " is malformed: ", refs.status().message()));
      }
      for (std::string& sub : refs->subtree_ids) stack.push_back(std::move(sub));
      std::vector<std::string>& chunks = refs->chunk_ids;
      std::sort(chunks.begin(), chunks.end());
      chunks.erase(std::unique(chunks.begin(), chunks.end()), chunks.end());
      ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> located,
                       catalog_->chunks().LocateMany(tenant, chunks));
      for (size_t i = 0; i < chunks.size(); ++i) {
        if (located[i].has_value()) continue;
        // A checkpoint delta needs its chain of bases too (a base the
        // catalog already holds brought its own chain).
        std::string id = chunks[i];
        for (int depth = 0; !id.empty(); ++depth) {
          in_pack.Reset();
          in_pack.BindBlob(1, id);
          ASSIGN_OR_RETURN(bool found, in_pack.Step());
          if (!found) {
            return std::optional<std::string>(
                depth == 0 ? absl::StrCat("chunk ", HexOf(id), " is in no pack")
                           : absl::StrCat("chunk ", HexOf(chunks[i]), " is a delta of chunk ",
                                          HexOf(id), ", which is in no pack"));
          }
          if (depth > kMaxDeltaDepth) {
            return std::optional<std::string>(absl::StrCat(
                "chunk ", HexOf(chunks[i]), " is a delta in a chain longer than ", kMaxDeltaDepth));
          }
          std::string base = in_pack.ColumnBlob(0);
          pend.Reset();
          pend.Bind(1, tenant);
          pend.BindBlob(2, id);
          RETURN_IF_ERROR(pend.Run());
          if (!base.empty()) {
            ASSIGN_OR_RETURN(std::optional<ChunkLocation> held,
                             catalog_->chunks().Locate(tenant, base));
            if (held.has_value()) break;
          }
          id = std::move(base);
        }
      }
    }
    RETURN_IF_ERROR(scratch_->Exec("BEGIN"));
    RETURN_IF_ERROR(
        scratch_->Exec("INSERT OR IGNORE INTO wanted(tenant, id) SELECT tenant, id FROM pending"));
    ASSIGN_OR_RETURN(SqliteStatement mark,
                     scratch_->Prepare("INSERT OR IGNORE INTO good_trees(tenant, id) "
                                       "VALUES(?, ?)"));
    for (const std::string& id : visited) {
      mark.Reset();
      mark.Bind(1, tenant);
      mark.BindBlob(2, id);
      RETURN_IF_ERROR(mark.Run());
    }
    RETURN_IF_ERROR(scratch_->Exec("COMMIT"));
    return std::optional<std::string>();
  }

  // Catalogues the chunks the whole snapshots need, pack by pack.
  absl::Status CatalogueWanted() {
    ASSIGN_OR_RETURN(SqliteStatement list, scratch_->Prepare(R"sql(
        SELECT w.tenant, e.pack, p.tier, p.size, w.id, e.offset, e.length, e.raw_size, e.base
        FROM wanted w JOIN entries e ON e.id = w.id JOIN packs p ON p.name = e.pack
        ORDER BY e.pack, w.tenant, e.offset)sql"));
    int64_t tenant = 0;
    std::string pack;
    size_t tier = 0;
    uint64_t size = 0;
    std::vector<StoredChunk> chunks;
    absl::flat_hash_set<std::string> catalogued;  // packs with a row already
    auto flush = [&]() -> absl::Status {
      if (chunks.empty()) return absl::OkStatus();
      absl::StatusOr<uint64_t> added =
          catalogued.contains(pack)
              ? catalog_->chunks().AddToPack(tenant, pack, chunks)
              : catalog_->chunks().AddPack(tenant, tiers_[tier]->name(), pack, size, chunks);
      RETURN_IF_ERROR(added.status());
      catalogued.insert(pack);
      report_->chunks_catalogued += *added;
      ASSIGN_OR_RETURN(std::optional<ChunkLocation> where,
                       catalog_->chunks().Locate(tenant, chunks.front().id));
      if (where.has_value()) {
        for (size_t t : packs_[pack]) {
          if (t == tier) continue;
          RETURN_IF_ERROR(
              catalog_->placement().AddCopy(where->pack_id, tiers_[t]->name()).status());
        }
      }
      chunks.clear();
      return absl::OkStatus();
    };
    while (true) {
      ASSIGN_OR_RETURN(bool row, list.Step());
      if (!row) break;
      // A pack holds one tenant's chunks, unless two tenants share a key
      // (their chunk ids then coincide): each tenant's share in turn.
      if (list.ColumnText(1) != pack || list.ColumnInt(0) != tenant) {
        RETURN_IF_ERROR(flush());
        pack = list.ColumnText(1);
        tenant = list.ColumnInt(0);
        tier = static_cast<size_t>(list.ColumnInt(2));
        size = static_cast<uint64_t>(list.ColumnInt(3));
      }
      StoredChunk& c = chunks.emplace_back();
      c.id = list.ColumnBlob(4);
      c.offset = static_cast<uint64_t>(list.ColumnInt(5));
      c.length = static_cast<uint32_t>(list.ColumnInt(6));
      c.raw_size = static_cast<uint32_t>(list.ColumnInt(7));
      c.base_id = list.ColumnBlob(8);
    }
    return flush();
  }

  Catalog* const catalog_;
  const std::vector<Tier*>& tiers_;
  const SecretKey& key_;
  SqliteDb* const scratch_;
  RebuildReport* const report_;
  absl::btree_map<std::string, Holders> packs_;
  absl::btree_map<std::string, Holders> tree_packs_;
  absl::btree_map<std::string, Holders> records_;
  absl::flat_hash_map<std::string, int64_t> tenant_ids_;
};

}  // namespace

absl::StatusOr<RebuildReport> ImportFromTiers(Catalog* catalog, const std::vector<Tier*>& tiers,
                                              const SecretKey& key,
                                              const std::string& scratch_path) {
  ::unlink(scratch_path.c_str());
  RebuildReport report;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> scratch, SqliteDb::Open(scratch_path));
    absl::Status s = scratch->Exec(kScratchSchema);
    if (s.ok()) s = Importer(catalog, tiers, key, scratch.get(), &report).Run();
    if (!s.ok()) {
      scratch.reset();
      ::unlink(scratch_path.c_str());
      return s;
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((scratch_path + suffix).c_str());
  return report;
}

absl::StatusOr<RebuildReport> RebuildCatalog(const std::vector<Tier*>& tiers, const SecretKey& key,
                                             const std::string& state_dir) {
  const std::string final_path = state_dir + "/catalog.db";
  struct stat st;
  if (::lstat(final_path.c_str(), &st) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(final_path,
                     " exists; a rebuild never overwrites a catalog (move it away "
                     "first, or use --recover-from-tier to start from a bundle)"));
  }
  RETURN_IF_ERROR(MakeDirectories(state_dir, 0750));
  const std::string building = state_dir + "/catalog.db.rebuild";
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((building + suffix).c_str());
  absl::StatusOr<RebuildReport> report;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::Open(building));
    report = ImportFromTiers(catalog.get(), tiers, key, state_dir + "/rebuild-scratch.db");
  }
  if (report.ok() && report->snapshots_restored.empty() && !report->problems.empty()) {
    // Most likely the wrong key: an empty catalog would only hide that.
    report = absl::DataLossError(
        absl::StrCat("no snapshot came back; the first problem: ", report->problems.front()));
  }
  if (!report.ok()) {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((building + suffix).c_str());
    return report.status();
  }
  {
    // Out of WAL mode, so the rebuilt catalog is one file to rename.
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(building));
    RETURN_IF_ERROR(db->Exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;"));
  }
  if (::rename(building.c_str(), final_path.c_str()) != 0) {
    return PosixError(errno, "rename the rebuilt catalog to", final_path);
  }
  RETURN_IF_ERROR(FsyncDirectory(state_dir));
  return report;
}

absl::StatusOr<RebuildReport> CatchUpFromTiers(const std::vector<Tier*>& tiers,
                                               const SecretKey& key, const std::string& state_dir) {
  ASSIGN_OR_RETURN(std::unique_ptr<Catalog> catalog, Catalog::Open(state_dir + "/catalog.db"));
  return ImportFromTiers(catalog.get(), tiers, key, state_dir + "/rebuild-scratch.db");
}

}  // namespace cairn
