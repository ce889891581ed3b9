// Sends the chunks of one backup job that the server lacks. Chunks are
// checked in batches (FindMissingChunks), the missing ones compressed and
// sealed on a pool of workers, and streamed in an UploadChunks call. Memory
// is bounded: Add() blocks while more than `max_inflight_bytes` are queued.
//
// In-flight claims (server/ingest/chunk_claims.h): a chunk another backup of
// the tenant is uploading at this moment is not sent again but set aside
// (at most max_inflight_bytes / 2 of them). Those are asked about again
// (with a growing pause) once this uploader's own stream is closed, so its
// uploads are durable and nobody waits on it while it waits: at Finish(), or
// earlier when the set-aside chunks reach their bound. A chunk that is still
// missing then (its claim ended without it) is uploaded in a new stream.
//
//   ChunkUploader uploader(&conn, crypto, job_id, workers, 64 << 20);
//   for (...) RETURN_IF_ERROR(uploader.Add(id, data));
//   ASSIGN_OR_RETURN(UploadStats stats, uploader.Finish());  // durable now
#ifndef CAIRN_AGENT_CHUNK_UPLOADER_H_
#define CAIRN_AGENT_CHUNK_UPLOADER_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "common/codec.h"

namespace cairn {

struct UploadStats {
  uint64_t chunks_checked = 0;
  uint64_t chunks_uploaded = 0;
  uint64_t bytes_uploaded = 0;    // sealed bytes
  uint64_t chunks_as_deltas = 0;  // of chunks_uploaded: checkpoint deltas
  uint64_t chunks_waited = 0;     // another backup uploaded them (claims)
};

// The base a chunk may be stored as a delta of (agent/delta_base.h): the same
// tensor piece of the previous checkpoint, its id and plaintext.
struct ChunkBase {
  ChunkId id;
  std::string plain;  // as long as the chunk
};

class ChunkUploader final {
 public:
  // `bandwidth_bytes_per_second` caps what is sent (0 = no cap), so a backup
  // leaves the network to training traffic.
  ChunkUploader(ServerConnection* connection, const AgentCrypto* crypto, std::string job_id,
                int workers, size_t max_inflight_bytes, uint64_t bandwidth_bytes_per_second = 0);
  ~ChunkUploader();
  ChunkUploader(const ChunkUploader&) = delete;
  ChunkUploader& operator=(const ChunkUploader&) = delete;

  // Takes a copy of `data`; `hint` tells the codec what the bytes are. With
  // a `base`, the chunk is stored as a delta of it when the server holds the
  // base with a chain shorter than crypto.delta_chain and the delta is the
  // smaller frame. Returns the first error the pipeline has met.
  absl::Status Add(const ChunkId& id, absl::string_view data, const DataHint& hint = {},
                   std::optional<ChunkBase> base = std::nullopt);
  // Sends what is queued and closes the stream: OK means every chunk added is
  // durable on the server.
  absl::StatusOr<UploadStats> Finish();
  // The first error the pipeline met (the server, not a file): OK until then.
  absl::Status error() {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  struct Item {
    ChunkId id;
    std::string data;  // plaintext until sealed
    DataHint hint;
    uint32_t raw_size = 0;          // set when `data` is released
    std::optional<ChunkBase> base;  // kept only while the server may take a delta
    bool as_delta = false;          // the sealed frame is a delta of base->id
  };
  // Frames `item` (whole, or as a delta of its base when that is smaller).
  void Frame(Item* item, std::string* framed, std::string* scratch);
  absl::Status CheckBatch();
  // Asks FindMissingChunks about `items`: missing ones go to the pipeline,
  // in-flight ones to `deferred_`, stored ones are dropped (and counted in
  // `stored` when set).
  absl::Status Ask(std::vector<Item>* items, uint64_t* stored);
  // Hands `item` to the sealers once the pipeline has room.
  void Enqueue(Item item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until the set-aside chunks are stored (by whoever).
  absl::Status ResolveDeferred();
  // Sends everything queued and closes the current stream: what it carried
  // is durable once this returns OK.
  absl::Status CloseStream();
  void SealLoop();
  void SendLoop();
  // The sender's stream: opened at its first chunk, closed on request.
  void OpenStream();
  absl::Status FinishStream();
  void Fail(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopThreads();

  ServerConnection* connection_;
  const AgentCrypto* crypto_;
  std::string job_id_;
  size_t max_inflight_bytes_;
  uint64_t bandwidth_bytes_per_second_;

  // Touched only by the caller's thread.
  std::vector<Item> batch_;
  size_t batch_bytes_ = 0;
  absl::flat_hash_set<ChunkId> queued_ids_;
  std::vector<Item> deferred_;  // in flight elsewhere: asked again later
  size_t deferred_bytes_ = 0;
  UploadStats stats_;

  absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  size_t inflight_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Item> to_seal_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<Item, std::string>> to_send_ ABSL_GUARDED_BY(mu_);  // (item, sealed)
  int sealing_ ABSL_GUARDED_BY(mu_) = 0;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool send_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t close_requests_ ABSL_GUARDED_BY(mu_) = 0;  // CloseStream calls
  uint64_t closes_done_ ABSL_GUARDED_BY(mu_) = 0;     // ... the sender answered
  uint64_t uploaded_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t uploaded_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t uploaded_deltas_ ABSL_GUARDED_BY(mu_) = 0;

  // The current stream; replaced only by the sender thread, under mu_ (the
  // destructor cancels it).
  std::unique_ptr<grpc::ClientContext> context_ ABSL_GUARDED_BY(mu_);
  v1::UploadChunksResponse response_;
  std::unique_ptr<grpc::ClientWriter<v1::UploadChunkRequest>> writer_;  // sender only
  // The stream's data call (docs/security.md, "The data channel"), and the
  // number of messages it has sent; sender only. None: over TLS.
  std::optional<ServerConnection::DataCall> data_call_;
  uint64_t data_messages_ = 0;
  std::vector<std::thread> sealers_;
  std::thread sender_;
  bool finished_ = false;
};

}  // namespace cairn

#endif  // CAIRN_AGENT_CHUNK_UPLOADER_H_
