#include "server/rpc/chunk_read.h"

#include <string>

#include "common/data_mac.h"
#include "common/grpc_status.h"

namespace cairn {

grpc::Status ServeReadChunks(ServerCore* core, const Caller& caller, grpc::ServerContext* context,
                             const v1::ReadChunksRequest& request,
                             grpc::ServerWriter<v1::ReadChunkResponse>* writer,
                             const DataCallGrant* data) {
  absl::StatusOr<StreamLimiter::Slot> slot = core->streams().Acquire(caller.Principal());
  if (!slot.ok()) return ToGrpcStatus(slot.status());
  v1::ReadChunkResponse chunk;
  uint64_t chunks = 0, bytes = 0;
  absl::Status read = core->reader().ReadChunks(
      caller, request, [&](absl::string_view id, absl::string_view sealed) {
        if (context->IsCancelled()) return absl::CancelledError("the reader went away");
        chunk.set_id(std::string(id));
        chunk.set_sealed(std::string(sealed));
        if (data != nullptr) {
          chunk.set_mac(ReadResponseMac(*data->key, data->call, chunks, id, sealed));
        }
        if (!writer->Write(chunk)) return absl::CancelledError("the reader went away");
        ++chunks;
        bytes += sealed.size();
        return absl::OkStatus();
      });
  core->metrics().ChunksRead(chunks, bytes);
  return ToGrpcStatus(read);
}

}  // namespace cairn
