// Bounds every RPC and decoder enforces, in one place so the agent, the
// server and the docs agree. A request over a bound is refused before any
// work is done (RESOURCE_EXHAUSTED or INVALID_ARGUMENT).
#ifndef CAIRN_COMMON_LIMITS_H_
#define CAIRN_COMMON_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace cairn {

inline constexpr size_t kChunkIdBytes = 32;
// Largest plaintext chunk (the chunker's max is at most this).
inline constexpr uint32_t kMaxChunkBytes = 16u << 20;
// Largest sealed chunk: plaintext plus codec frame and AEAD overhead.
inline constexpr uint32_t kMaxSealedChunkBytes = kMaxChunkBytes + 1024;
// gRPC message cap on both sides.
inline constexpr int kMaxGrpcMessageBytes = 32 << 20;
// Ids per FindMissingChunks / FindMissingTrees call.
inline constexpr size_t kMaxIdsPerCall = 4096;
// Ids per ReadChunks call.
inline constexpr size_t kMaxReadIdsPerCall = 1024;
// Points of the classifier plot one GetStorageStats call returns.
inline constexpr uint32_t kMaxPlotPoints = 10000;
// The longest chain of checkpoint deltas (common/delta_codec.h) the server
// stores: a chunk decodes from at most this many bases, so a restore reads
// at most kMaxDeltaDepth + 1 chunks for one. Agents choose shorter chains
// (agent config `delta_chain`, default 4).
inline constexpr int kMaxDeltaDepth = 8;
// One serialized directory tree, and one PutTrees call.
inline constexpr size_t kMaxTreeBytes = 12u << 20;
inline constexpr size_t kMaxTreesPerCall = 64;
inline constexpr size_t kMaxTreesBytesPerCall = 14u << 20;
// Entries reported per job.
inline constexpr size_t kMaxFileErrors = 100;
// Agent and tenant names.
inline constexpr size_t kMaxNameLength = 64;
// Page sizes of admin listings.
inline constexpr uint32_t kDefaultListLimit = 50;
inline constexpr uint32_t kMaxListLimit = 1000;
inline constexpr uint32_t kMaxFilesPage = 10000;
// Paths (one component; whole path).
inline constexpr size_t kMaxPathComponentBytes = 255;
inline constexpr size_t kMaxPathTotalBytes = 4096;

}  // namespace cairn

#endif  // CAIRN_COMMON_LIMITS_H_
