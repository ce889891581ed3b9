#include "server/catalog/tree_blob.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"
#include "common/zstd_context.h"

namespace cairn {
namespace {

constexpr char kCompressed = '\0';
// Names, sizes and times compress; chunk ids do not. Level 3 costs ~20 µs
// for a 10 KB tree, once, at PutTrees.
constexpr int kLevel = 3;

}  // namespace

std::string PackTreeBlob(absl::string_view serialized) {
  ZSTD_CCtx* cctx = ThreadZstdCCtx();
  if (cctx == nullptr || serialized.empty()) return std::string(serialized);
  std::string blob(1 + ZSTD_compressBound(serialized.size()), kCompressed);
  // With the frame's checksum (4 bytes), so a damaged row is an error, not a
  // different tree. The thread's context is shared: its parameters are set
  // here and reset after.
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  size_t n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, kLevel);
  if (!ZSTD_isError(n)) n = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  // Without the checksum the tree is kept raw, not compressed unchecked.
  if (!ZSTD_isError(n)) {
    n = ZSTD_compress2(cctx, blob.data() + 1, blob.size() - 1, serialized.data(),
                       serialized.size());
  }
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  if (ZSTD_isError(n) || 1 + n >= serialized.size()) return std::string(serialized);
  blob.resize(1 + n);
  return blob;
}

absl::StatusOr<std::string> UnpackTreeBlob(absl::string_view blob) {
  if (blob.empty() || blob[0] != kCompressed) return std::string(blob);
  blob.remove_prefix(1);
  const unsigned long long size = ZSTD_getFrameContentSize(blob.data(), blob.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
      size > kMaxTreeBlobBytes) {
    return absl::DataLossError(
        "a tree in the catalog is damaged (its compressed frame has no valid size)");
  }
  ZSTD_DCtx* dctx = ThreadZstdDCtx();
  if (dctx == nullptr) return absl::ResourceExhaustedError("zstd cannot allocate a context");
  std::string serialized(static_cast<size_t>(size), '\0');
  size_t n =
      ZSTD_decompressDCtx(dctx, serialized.data(), serialized.size(), blob.data(), blob.size());
  if (ZSTD_isError(n) || n != serialized.size()) {
    return absl::DataLossError(absl::StrCat("a tree in the catalog is damaged (",
                                            ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short", ")"));
  }
  return serialized;
}

}  // namespace cairn
