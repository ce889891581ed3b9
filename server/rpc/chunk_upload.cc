#include "server/rpc/chunk_upload.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/data_mac.h"
#include "common/grpc_status.h"
#include "server/rpc/upload_request.h"

namespace cairn {
namespace {

// Whether message `seq` of the data call carries its tag.
absl::Status CheckTag(const DataCallGrant& data, uint64_t seq, const UploadRequest& chunk) {
  const std::string expected = UploadRequestMac(*data.key, data.call, seq, chunk.job_id, chunk.id,
                                                chunk.size, chunk.base_id, chunk.sealed);
  if (DataMacMatches(chunk.mac, expected)) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      "message ", seq, " of data call ", data.call,
      chunk.mac.empty() ? " has no tag" : "'s tag does not match (altered, replayed or moved)",
      "; the call is ended and that chunk not stored"));
}

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
  auto next = [&]() -> absl::Status {
    absl::Status parsed = ParseUploadRequest(received, &chunk);
    if (parsed.ok() && data != nullptr) parsed = CheckTag(*data, seq, chunk);
    ++seq;
    return parsed;
  };
  if (!reader->Read(&received)) {
    // An empty stream stores nothing.
    if (data != nullptr) response->set_mac(UploadResponseMac(*data->key, data->call, 0, 0, 0, 0));
    return grpc::Status::OK;
  }
  absl::Status parsed = next();
  if (!parsed.ok()) return ToGrpcStatus(parsed);
  absl::StatusOr<std::unique_ptr<PackIngest>> ingest =
      core->ingest().StartUpload(caller, chunk.job_id);
  if (!ingest.ok()) return ToGrpcStatus(ingest.status());
  do {
    received_bytes += chunk.sealed_bytes;
    absl::Status status = (*ingest)->Add(chunk.id, chunk.size, chunk.sealed, chunk.base_id);
    if (!status.ok()) return ToGrpcStatus(status);
    // Not held while waiting for the next one.
    received.Clear();
    chunk.sealed.clear();
    chunk.slices.clear();
    if (!reader->Read(&received)) break;
    parsed = next();
    if (!parsed.ok()) return ToGrpcStatus(parsed);
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
