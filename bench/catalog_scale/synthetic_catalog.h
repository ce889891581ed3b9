// A catalog grown to millions of chunk rows without uploading a byte: packs,
// their chunks, directory trees that reference every chunk, and a snapshot
// per growth step, all recorded through the catalog's own stores (ChunkStore
// ::AddPack, TreeStore::Put, SnapshotStore::Commit: a durable transaction
// each, as the server writes them). No pack object exists on any tier; the
// catalog is what is measured (catalog_scale.h).
//
// Each pack holds `chunks_per_pack` chunks of 64 KiB; its chunks are the
// files of one directory tree, `chunks_per_file` chunks to a file; each step's
// directories are the entries of that step's root tree. So every chunk and
// tree stays reachable, and a collection finds nothing to delete.
//
//   SyntheticCatalog synthetic(catalog.get(), {.chunks_per_pack = 1024});
//   RETURN_IF_ERROR(synthetic.GrowTo(10'000'000));
//   const std::vector<std::string>& held = synthetic.sample();  // ids it holds
#ifndef CAIRN_BENCH_CATALOG_SCALE_SYNTHETIC_CATALOG_H_
#define CAIRN_BENCH_CATALOG_SCALE_SYNTHETIC_CATALOG_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/catalog/catalog.h"
#include "server/catalog/sqlite_db.h"

namespace cairn {

struct SyntheticOptions {
  std::string tenant = "scale";
  uint32_t chunks_per_pack = 1024;
  uint32_t chunks_per_file = 64;
  uint32_t chunk_bytes = 64u << 10;
  size_t sample_size = 1u << 16;  // held ids kept (a uniform sample) for probes
  uint64_t seed = 1;
};

class SyntheticCatalog final {
 public:
  SyntheticCatalog(Catalog* catalog, SyntheticOptions options);

  // Adds packs until the catalog holds at least `chunks` chunk rows (whole
  // packs), each in one durable transaction as the server records them,
  // then one snapshot whose root tree lists this step's directories (those
  // BulkGrowTo added too).
  absl::Status GrowTo(uint64_t chunks);
  // The fast way to a large catalog: adds packs until it holds at least
  // `chunks` rows, writing the rows ChunkStore::AddPack and TreeStore::Put
  // write, but many packs per transaction, without a journal or fsync, on
  // the catalog file at `path` while no Catalog has it open (a crash leaves
  // it corrupt). Their directories go into the next GrowTo's snapshot.
  absl::Status BulkGrowTo(uint64_t chunks, const std::string& path);
  // The catalog to record through from now on (the one at `path`, reopened
  // after BulkGrowTo).
  void set_catalog(Catalog* catalog) { catalog_ = catalog; }

  uint64_t chunks() const { return chunks_; }
  uint64_t packs() const { return packs_; }
  uint64_t trees() const { return trees_; }
  uint64_t snapshots() const { return snapshots_; }
  // A uniform sample of the chunk ids held (reservoir sampling).
  const std::vector<std::string>& sample() const { return sample_; }
  // 32 random bytes: with overwhelming probability an id no one holds.
  std::string NewId();

 private:
  // One pack's chunk rows and the directory tree whose files reference them.
  struct Pack {
    std::string name;
    uint64_t bytes = 0;
    std::vector<StoredChunk> chunks;
    std::string tree_id;
    std::string tree;  // serialized cairn.v1.Tree
  };
  Pack NextPack();
  // Counts a pack recorded (its chunks, its tree, the sample).
  void Recorded(const Pack& pack);
  // BulkGrowTo's rows, on `db` (its statements gone when it returns).
  absl::Status BulkInsert(uint64_t chunks, SqliteDb* db);
  absl::Status CommitSnapshot();
  void Keep(const std::string& id);

  Catalog* catalog_;
  const SyntheticOptions options_;
  std::mt19937_64 random_;
  int64_t tenant_ = -1;
  uint64_t chunks_ = 0;
  uint64_t packs_ = 0;
  uint64_t trees_ = 0;
  uint64_t snapshots_ = 0;
  std::vector<std::string> sample_;
  std::vector<std::string> directories_;  // of packs recorded since the last snapshot
};

}  // namespace cairn

#endif  // CAIRN_BENCH_CATALOG_SCALE_SYNTHETIC_CATALOG_H_
