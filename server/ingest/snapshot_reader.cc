#include "server/ingest/snapshot_reader.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace cairn {

absl::StatusOr<int64_t> SnapshotReader::TenantOf(const Caller& caller,
                                                 absl::string_view snapshot_id, v1::Snapshot* out) {
  ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot, catalog_->snapshots().Get(snapshot_id));
  if (!snapshot.has_value()) return absl::NotFoundError(absl::StrCat("no snapshot ", snapshot_id));
  if (!caller.MayUseTenant(snapshot->tenant())) {
    return absl::PermissionDeniedError(absl::StrCat(caller.Describe(), " may not read snapshot ",
                                                    snapshot_id, " of another tenant"));
  }
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(snapshot->tenant()));
  if (out != nullptr) *out = *std::move(snapshot);
  return tenant;
}

absl::StatusOr<v1::GetTreeResponse> SnapshotReader::GetTree(const Caller& caller,
                                                            const v1::GetTreeRequest& request) {
  if (!request.id().empty() && request.id().size() != kChunkIdBytes) {
    return absl::InvalidArgumentError("a tree id is 32 bytes (or empty for the root)");
  }
  v1::Snapshot snapshot;
  ASSIGN_OR_RETURN(int64_t tenant, TenantOf(caller, request.snapshot_id(), &snapshot));
  const std::string& id = request.id().empty() ? snapshot.root_tree_id() : request.id();
  ASSIGN_OR_RETURN(std::optional<std::string> tree, catalog_->trees().Get(tenant, id));
  if (!tree.has_value()) return absl::NotFoundError(absl::StrCat("no tree ", HexOf(id)));
  v1::GetTreeResponse response;
  response.set_tree(*std::move(tree));
  if (request.id().empty()) *response.mutable_snapshot() = std::move(snapshot);
  return response;
}

absl::StatusOr<v1::GetTreesResponse> SnapshotReader::GetTrees(const Caller& caller,
                                                              const v1::GetTreesRequest& request) {
  if (request.ids_size() == 0 || static_cast<size_t>(request.ids_size()) > kMaxTreesPerCall) {
    return absl::InvalidArgumentError(
        absl::StrCat("GetTrees takes 1 to ", kMaxTreesPerCall, " ids, got ", request.ids_size()));
  }
  for (const std::string& id : request.ids()) {
    if (id.size() != kChunkIdBytes) return absl::InvalidArgumentError("a tree id is 32 bytes");
  }
  ASSIGN_OR_RETURN(int64_t tenant, TenantOf(caller, request.snapshot_id()));
  v1::GetTreesResponse response;
  size_t bytes = 0;
  for (const std::string& id : request.ids()) {
    ASSIGN_OR_RETURN(std::optional<std::string> tree, catalog_->trees().Get(tenant, id));
    if (!tree.has_value()) return absl::NotFoundError(absl::StrCat("no tree ", HexOf(id)));
    if (response.trees_size() > 0 && bytes + tree->size() > kMaxTreesBytesPerCall) break;
    bytes += tree->size();
    response.add_trees(*std::move(tree));
  }
  return response;
}

namespace {

// The ids of a read or damage report: at most kMaxReadIdsPerCall, each 32 bytes.
absl::StatusOr<std::vector<std::string>> BoundedChunkIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  if (static_cast<size_t>(ids.size()) > kMaxReadIdsPerCall) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ids.size(), " ids in one call; at most ", kMaxReadIdsPerCall));
  }
  for (const std::string& id : ids) {
    if (id.size() != kChunkIdBytes) return absl::InvalidArgumentError("a chunk id is 32 bytes");
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

}  // namespace

absl::Status SnapshotReader::ReadChunks(const Caller& caller, const v1::ReadChunksRequest& request,
                                        ChunkReader::Emit emit, ChunkReadStats* stats) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, BoundedChunkIds(request.ids()));
  ASSIGN_OR_RETURN(int64_t tenant, TenantOf(caller, request.snapshot_id()));
  if (request.superseded()) return chunks_.ReadSuperseded(tenant, ids, emit, stats);
  return chunks_.Read(tenant, ids, emit, stats);
}

absl::StatusOr<v1::ReportDamagedChunksResponse> SnapshotReader::ReportDamagedChunks(
    const Caller& caller, const v1::ReportDamagedChunksRequest& request) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, BoundedChunkIds(request.ids()));
  ASSIGN_OR_RETURN(int64_t tenant, TenantOf(caller, request.snapshot_id()));
  ASSIGN_OR_RETURN(uint64_t marked, catalog_->chunks().MarkDamaged(tenant, ids));
  v1::ReportDamagedChunksResponse response;
  response.set_forgotten(static_cast<uint32_t>(marked));
  return response;
}

}  // namespace cairn
