// Receives the sealed chunks of one upload stream and turns them into durable
// packs: append to an open pack on the hot tier, and once the pack reaches its
// target size (or the stream ends) commit it (fsync, rename, fsync dir) and
// only then record its chunks in the catalog. A chunk counts as stored only
// once its pack is durable; a stream that breaks leaves at most an
// uncommitted temp file, which the tier removes.
//
//   PackIngest ingest(&catalog->chunks(), tier, tenant, target_bytes);
//   for (...) RETURN_IF_ERROR(ingest.Add(id, size, sealed));
//   RETURN_IF_ERROR(ingest.Finish());
#ifndef CAIRN_SERVER_INGEST_PACK_INGEST_H_
#define CAIRN_SERVER_INGEST_PACK_INGEST_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "server/catalog/chunk_store.h"
#include "server/ingest/chunk_claims.h"
#include "server/ingest/pack_writer.h"
#include "server/tiers/tier.h"

namespace cairn {

struct IngestStats {
  uint64_t chunks_stored = 0;
  uint64_t chunks_already_present = 0;
  uint64_t bytes_stored = 0;
  uint64_t packs = 0;
};

// A check of a chunk's bytes made in the pass that stores them (the data
// port's tag: server/rpc/chunk_upload.cc): fed every piece, then asked.
class ChunkBytesCheck {
 public:
  virtual ~ChunkBytesCheck() = default;
  virtual void Update(absl::string_view piece) = 0;
  // OK when the bytes fed are the ones expected; otherwise the error the
  // ingest fails with.
  virtual absl::Status Verify() = 0;
};

class PackIngest final {
 public:
  // `charge`, when set, is asked before each chunk is appended (the tenant's
  // quota); its error fails the ingest.
  PackIngest(ChunkStore* chunks, Tier* tier, int64_t tenant, uint64_t pack_target_bytes,
             std::function<absl::Status(uint64_t)> charge = nullptr);
  // Ends `job`'s in-flight claims (set by TrackClaims): its stream is over.
  ~PackIngest();
  PackIngest(const PackIngest&) = delete;
  PackIngest& operator=(const PackIngest&) = delete;

  // This stream uploads for backup `job`: each chunk received keeps the
  // job's claims alive, each durable pack ends the claims on its chunks, and
  // the end of the stream ends the rest.
  void TrackClaims(ChunkClaims* claims, absl::string_view job);

  // Checks framing (id length, sizes within bounds) and appends. A checkpoint
  // delta names its `base_id`, which the tenant must hold with a chain
  // shorter than kMaxDeltaDepth. After an error the ingest stays failed and
  // stores nothing more.
  absl::Status Add(absl::string_view id, uint32_t raw_size, absl::string_view sealed,
                   absl::string_view base_id = {});
  // The same for a sealed chunk given as consecutive pieces (the slices gRPC
  // received it in: server/rpc/upload_request.h), so it is never copied whole.
  // With a `check`, each piece is fed to it in the pass that checksums and
  // writes it, and a chunk it refuses fails the ingest before the chunk is
  // recorded or its pack committed.
  absl::Status Add(absl::string_view id, uint32_t raw_size,
                   absl::Span<const absl::string_view> sealed, absl::string_view base_id = {},
                   ChunkBytesCheck* check = nullptr);
  // Makes everything added durable and catalogued.
  absl::Status Finish();
  const IngestStats& stats() const { return stats_; }

 private:
  absl::Status AddOrFail(absl::string_view id, uint32_t raw_size,
                         absl::Span<const absl::string_view> sealed, absl::string_view base_id,
                         ChunkBytesCheck* check);
  absl::Status CheckBase(absl::string_view id, absl::string_view base_id,
                         std::optional<ChunkId>* base);
  absl::Status SealPack();

  ChunkStore* chunks_;
  Tier* tier_;
  int64_t tenant_;
  uint64_t pack_target_bytes_;
  std::function<absl::Status(uint64_t)> charge_;
  absl::Status failed_;
  std::unique_ptr<PackWriter> pack_;
  std::vector<StoredChunk> pending_;
  absl::flat_hash_set<std::string> in_open_pack_;
  ChunkClaims* claims_ = nullptr;
  std::string claims_job_;
  IngestStats stats_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_INGEST_PACK_INGEST_H_
