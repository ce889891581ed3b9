#include "server/rpc/chunk_upload.h"

#include <optional>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/data_mac.h"
#include "common/grpc_status.h"
#include "server/ingest/pack_ingest.h"
#include "server/rpc/upload_request.h"

namespace cairn {
namespace {

absl::Status Refused(uint64_t call, uint64_t seq, bool untagged) {
  return absl::UnauthenticatedError(
      absl::StrCat("message ", seq, " of data call ", call,
                   untagged ? " has no tag" : "'s tag does not match (altered, replayed or moved)",
                   "; the call is ended and that chunk not stored"));
}

// Whether message `seq` of the data call carries its tag, in a pass of its
// own (the first message, whose job the upload starts with).
absl::Status CheckTag(const DataCallGrant& data, uint64_t seq, const UploadRequest& chunk) {
  const std::string expected = UploadRequestMac(*data.key, data.call, seq, chunk.job_id, chunk.id,
                                                chunk.size, chunk.base_id, chunk.sealed);
  if (DataMacMatches(chunk.mac, expected)) return absl::OkStatus();
  return Refused(data.call, seq, chunk.mac.empty());
}

}  // namespace

namespace {

// The same check made in the pass that stores the chunk
// (PackIngest::Add): the sealed bytes are read once, in cache.
class TagCheck final : public ChunkBytesCheck {
 public:
  TagCheck(const DataCallGrant& data, uint64_t seq, const UploadRequest& chunk)
      : mac_(*data.key, DataMessageKind::kUploadRequest, data.call, seq),
        tag_(chunk.mac),
        call_(data.call),
        seq_(seq) {
    mac_.Field(chunk.job_id);
    mac_.Field(chunk.id);
    mac_.Number(chunk.size);
    mac_.Field(chunk.base_id);
    mac_.Number(chunk.sealed_bytes);
  }
  void Update(absl::string_view piece) override { mac_.Bytes(piece); }
  absl::Status Verify() override {
    if (DataMacMatches(tag_, mac_.Finish())) return absl::OkStatus();
    return Refused(call_, seq_, tag_.empty());
  }

 private:
  DataMac mac_;
  std::string tag_;
  uint64_t call_;
  uint64_t seq_;
};

}  // namespace

grpc::Status ServeUploadChunks(ServerCore* core, const Caller& caller, grpc::ServerContext* context,
                               grpc::ServerReader<grpc::ByteBuffer>* reader,
                               v1::UploadChunksResponse* response, const DataCallGrant* data) {
  absl::StatusOr<StreamLimiter::Slot> slot = core->streams().Acquire(caller.Principal());
  if (!slot.ok()) return ToGrpcStatus(slot.status());
  grpc::ByteBuffer received;
  UploadRequest chunk;
  uint64_t seq = 0;
  // Counted however the stream ends.
  uint64_t received_bytes = 0;
  absl::Cleanup count = [&] { core->metrics().UploadDone(received_bytes, 0, 0, 0, 0); };
  if (!reader->Read(&received)) {
    // An empty stream stores nothing.
    if (data != nullptr) response->set_mac(UploadResponseMac(*data->key, data->call, 0, 0, 0, 0));
    return grpc::Status::OK;
  }
  // The first message's tag is checked before the upload starts: the job it
  // names is then the one the agent sent. Later ones are checked in the pass
  // that stores them.
  absl::Status parsed = ParseUploadRequest(received, &chunk);
  if (parsed.ok() && data != nullptr) parsed = CheckTag(*data, 0, chunk);
  if (!parsed.ok()) return ToGrpcStatus(parsed);
  seq = 1;
  bool checked = true;
  absl::StatusOr<std::unique_ptr<PackIngest>> ingest =
      core->ingest().StartUpload(caller, chunk.job_id);
  if (!ingest.ok()) return ToGrpcStatus(ingest.status());
  do {
    received_bytes += chunk.sealed_bytes;
    std::optional<TagCheck> tag;
    if (data != nullptr && !checked) tag.emplace(*data, seq - 1, chunk);
    absl::Status status = (*ingest)->Add(chunk.id, chunk.size, chunk.sealed, chunk.base_id,
                                         tag.has_value() ? &*tag : nullptr);
    if (!status.ok()) return ToGrpcStatus(status);
    // Not held while waiting for the next one.
    received.Clear();
    chunk.sealed.clear();
    chunk.slices.clear();
    if (!reader->Read(&received)) break;
    parsed = ParseUploadRequest(received, &chunk);
    if (!parsed.ok()) return ToGrpcStatus(parsed);
    ++seq;
    checked = false;
  } while (true);
  // A stream the client abandoned half-way stores nothing unfinished.
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  absl::Status status = (*ingest)->Finish();
  if (!status.ok()) return ToGrpcStatus(status);
  const IngestStats& stats = (*ingest)->stats();
  core->metrics().UploadDone(0, stats.chunks_stored, stats.chunks_already_present,
                             stats.bytes_stored, stats.packs);
  response->set_chunks_stored(stats.chunks_stored);
  response->set_chunks_already_present(stats.chunks_already_present);
  response->set_bytes_stored(stats.bytes_stored);
  if (data != nullptr) {
    response->set_mac(UploadResponseMac(*data->key, data->call, seq, stats.chunks_stored,
                                        stats.chunks_already_present, stats.bytes_stored));
  }
  return grpc::Status::OK;
}

}  // namespace cairn
