// Chunks and the packs that hold them. A chunk row is written only once its
// pack is durable on its tier; chunks are scoped by tenant, so one tenant can
// neither see nor probe another's. A quarantined pack's chunks count as
// missing (the next backup uploads them again) and a new copy replaces the
// quarantined location.
//
//   ASSIGN_OR_RETURN(std::vector<uint32_t> missing, catalog->chunks().FindMissing(tenant, ids));
//   ASSIGN_OR_RETURN(uint64_t added, catalog->chunks().AddPack(tenant, "hot", name, size, rows));
#ifndef CAIRN_SERVER_CATALOG_CHUNK_STORE_H_
#define CAIRN_SERVER_CATALOG_CHUNK_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/catalog/read_connection.h"
#include "server/catalog/records.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

class ChunkStore final {
 public:
  // `clock` stamps creation and update times. `reader` (read_connection.h)
  // serves the lookups of running backups: FindMissing, ChainDepths, HasRows.
  ChunkStore(std::unique_ptr<SqliteDb> db, std::function<absl::Time()> clock,
             std::unique_ptr<SqliteDb> reader)
      : db_(std::move(db)), clock_(std::move(clock)), reader_(std::move(reader)) {}

  // Indexes into `ids` of the chunks this tenant does not hold in a healthy
  // pack. A checkpoint delta counts as held only while every chunk of its
  // chain (its base, the base's base, ...) is held.
  absl::StatusOr<std::vector<uint32_t>> FindMissing(int64_t tenant,
                                                    absl::Span<const std::string> ids);
  // For each id: how many bases its chain has (0 for a whole chunk), or
  // nullopt when the tenant does not hold it readable (as FindMissing).
  absl::StatusOr<std::vector<std::optional<int>>> ChainDepths(int64_t tenant,
                                                              absl::Span<const std::string> ids);
  // Records a durable pack and its chunks in one transaction. A chunk the
  // tenant already has keeps its first location, unless that copy is
  // damaged, in a quarantined pack, or a delta whose chain no longer reads
  // (then the old copy is kept aside in superseded_chunks and the new one
  // replaces it); returns how many were new or replaced.
  absl::StatusOr<uint64_t> AddPack(int64_t tenant, absl::string_view tier,
                                   absl::string_view pack_name, uint64_t pack_size,
                                   absl::Span<const StoredChunk> chunks);
  // Records more chunks, of `tenant`, in pack `pack_name` already recorded
  // (a catalog rebuild, when two tenants that share a key share a pack);
  // NotFound when it is not.
  absl::StatusOr<uint64_t> AddToPack(int64_t tenant, absl::string_view pack_name,
                                     absl::Span<const StoredChunk> chunks);
  absl::StatusOr<std::optional<ChunkLocation>> Locate(int64_t tenant, absl::string_view id);
  // Locate for many ids at once, answers in the order of `ids`. With
  // `superseded`, each id's newest superseded copy (superseded_chunks).
  absl::StatusOr<std::vector<std::optional<ChunkLocation>>> LocateMany(
      int64_t tenant, absl::Span<const std::string> ids, bool superseded = false);

  absl::StatusOr<std::vector<PackRecord>> ListPacks();
  absl::StatusOr<std::optional<PackRecord>> GetPack(int64_t pack_id);
  // The ids of the chunks catalogued in one pack (for verify).
  absl::StatusOr<std::vector<std::string>> PackChunkIds(int64_t pack_id);
  absl::Status Quarantine(int64_t pack_id);

  // --- For garbage collection (docs/gc.md) ---
  // Every pack with what still lives in it.
  absl::StatusOr<std::vector<PackUsage>> Usage();
  // Ends the hold on copies superseded before `before_ms` (their packs may
  // then be compacted or deleted); how many were released.
  absl::StatusOr<uint64_t> ReleaseSuperseded(int64_t before_ms);
  absl::StatusOr<std::vector<ChunkRow>> LiveChunksOfPack(int64_t pack_id);
  // Chunks after (tenant, id) in key order whose pack was created before
  // `packs_before_ms`, at most `limit`.
  absl::StatusOr<std::vector<ChunkRow>> Page(int64_t after_tenant, absl::string_view after_id,
                                             int64_t packs_before_ms, uint32_t limit);
  // For each id: whether the tenant has a row for it, readable or not (a
  // chunk stored again to replace a copy is then stored whole).
  absl::StatusOr<std::vector<bool>> HasRows(int64_t tenant, absl::Span<const std::string> ids);
  // The checkpoint deltas (rows with a base) after (tenant, id) in key
  // order, at most `limit`: a collection keeps the base of every delta it keeps.
  absl::StatusOr<std::vector<ChunkRow>> DeltaPage(int64_t after_tenant, absl::string_view after_id,
                                                  uint32_t limit);
  // The base of a delta copy kept aside (superseded_chunks): that copy must
  // still decode while it is held, so a collection keeps its base too.
  struct SupersededBase {
    int64_t rowid = 0;
    int64_t tenant = 0;
    std::string base_id;
  };
  // The bases of the delta copies superseded at or after `since_ms`, after
  // superseded_chunks row `after_rowid` in rowid order, at most `limit`.
  absl::StatusOr<std::vector<SupersededBase>> SupersededBasePage(int64_t since_ms,
                                                                 int64_t after_rowid,
                                                                 uint32_t limit);
  // Deletes chunk rows and then every pack row left without chunks, in one
  // transaction; returns those packs (their objects are the caller's to delete).
  absl::StatusOr<std::vector<PackRecord>> Delete(absl::Span<const TenantObject> chunks,
                                                 uint64_t* deleted);
  // Records the durable pack `pack_name` and repoints each moved chunk of
  // `tenant` still in its `from_pack` to it, then deletes the source packs
  // left without chunks, in one transaction; returns the deleted packs.
  absl::StatusOr<std::vector<PackRecord>> MoveChunks(int64_t tenant, absl::string_view tier,
                                                     absl::string_view pack_name,
                                                     uint64_t pack_size,
                                                     absl::Span<const StoredChunk> moves);

  // chunks, unique_bytes, stored_bytes and packs of the totals.
  // Marks chunks an agent's verify found damaged: they count as missing (so
  // the next backup that has their data stores it again, replacing this
  // copy) but nothing is deleted (an agent cannot destroy data by lying).
  // How many were marked.
  absl::StatusOr<uint64_t> MarkDamaged(int64_t tenant, absl::Span<const std::string> ids);
  absl::StatusOr<uint64_t> DamagedCount();
  // The sealed bytes of the tenant's chunks.
  absl::StatusOr<uint64_t> TenantStoredBytes(int64_t tenant);
  absl::StatusOr<CatalogTotals> Totals();

 private:
  // Walks a chunk's chain with `healthy` (kHealthySql): its depth, or
  // nullopt when a link is missing, unhealthy or beyond kMaxDeltaDepth.
  static absl::StatusOr<std::optional<int>> ChainDepth(SqliteStatement* healthy, int64_t tenant,
                                                       absl::string_view id);
  absl::StatusOr<int64_t> InsertPack(absl::string_view tier, absl::string_view name, uint64_t size,
                                     uint64_t entries) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<PackRecord>> DeleteEmptyPacks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The chunk rows of AddPack and AddToPack; in the caller's transaction.
  absl::StatusOr<uint64_t> InsertChunks(int64_t tenant, int64_t pack_id,
                                        absl::Span<const StoredChunk> chunks)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::function<absl::Time()> clock_;
  ReadConnection reader_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_CHUNK_STORE_H_
