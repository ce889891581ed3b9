// The catalog's metadata as objects on the tiers, beside the packs, so that
// the packs and these objects alone bring every snapshot back
// (`cairn-server --rebuild-catalog`, catalog_rebuild.h) even when every
// catalog bundle is lost. Both kinds are sealed with the catalog key: whoever
// holds the bucket reads no file name and can forge nothing.
//
// Tree pack "trees-<unix ms>-<24 hex>.ctp": the pack format
// (common/pack_format.h). Its first blob has the id TreePackHeaderId(object)
// and holds the tenant's name; every other blob is a group of trees with the
// id TreePackGroupId(object, i) for the i-th blob: up to
// kTreeGroupTargetBytes of records (32-byte tree id, 4-byte little-endian
// length, the serialized tree), zstd-framed as one. One frame per group,
// not per tree: the nodes of a snapshot share names, ids and times, and a
// 3 KiB node compressed alone cannot use any of that (measured on the bench's
// 100k-file tree in docs/scale.md). Each blob is sealed under
// BLAKE2b(object, id), so a blob cannot be moved to another pack (another
// tenant), to another place in its pack, or renamed.
//
// Packs written before groups (a header with the id TreePackV1HeaderId, one
// blob per tree under the tree's id) still read.
//
// Snapshot record "snap-<snapshot id>.csr": a sealed cairn.v1.TierSnapshotRecord,
// bound to its object name.
//
//   RETURN_IF_ERROR(WriteTreePack(tier, NewTreePackName(), "acme", trees, key));
//   RETURN_IF_ERROR(ReadTreePack(tier, name, key, [](std::string tenant, ...) {...}));
#ifndef CAIRN_SERVER_RECOVERY_TIER_METADATA_H_
#define CAIRN_SERVER_RECOVERY_TIER_METADATA_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cairn/v1/types.pb.h"
#include "common/chunk_id.h"
#include "common/secret_key.h"
#include "server/catalog/records.h"
#include "server/tiers/tier.h"

namespace cairn {

inline constexpr char kTreePackPrefix[] = "trees-";
inline constexpr char kTreePackSuffix[] = ".ctp";
inline constexpr char kSnapshotRecordPrefix[] = "snap-";
inline constexpr char kSnapshotRecordSuffix[] = ".csr";
// Raw tree bytes per tree pack the mirror aims at (a tree may end one past it).
inline constexpr uint64_t kTreePackTargetBytes = 32 << 20;

std::string NewTreePackName();
std::string SnapshotRecordName(absl::string_view snapshot_id);
// The snapshot id a record object is named for; empty if `object` is not a
// snapshot record's name.
std::string SnapshotIdOfRecord(absl::string_view object);
bool IsTreePackName(absl::string_view object);

// Plaintext bytes of trees per group blob; a tree larger than that is a
// group of its own.
inline constexpr uint64_t kTreeGroupTargetBytes = 4 << 20;

// The id a tree pack's header blob is stored under.
ChunkId TreePackHeaderId(absl::string_view object);
// The same for a pack of one blob per tree (written before groups).
ChunkId TreePackV1HeaderId(absl::string_view object);
// The id of blob `index` (1 for the first group) of a tree pack.
ChunkId TreePackGroupId(absl::string_view object, size_t index);
// The id a blob of a tree pack is sealed under (also for the header blob,
// with id = TreePackHeaderId).
ChunkId TreePackSealId(absl::string_view object, absl::string_view id);

// Writes and commits tree pack `object` holding `trees` (of one tenant), in
// groups of about `group_bytes` (tests make it small).
absl::Status WriteTreePack(Tier* tier, absl::string_view object, absl::string_view tenant,
                           absl::Span<const TreeRow> trees, const SecretKey& key,
                           uint64_t group_bytes = kTreeGroupTargetBytes);

// Reads tree pack `object` and calls `tree(tenant, id, bytes)` for each tree,
// after checking that the bytes are the tree the id names. DataLoss for a
// pack that is damaged, does not open with `key`, was renamed, or holds a
// tree whose bytes do not match its id; what `tree` returns ends the read.
absl::Status ReadTreePack(
    Tier* tier, absl::string_view object, const SecretKey& key,
    const std::function<absl::Status(const std::string& tenant, const std::string& id,
                                     std::string bytes)>& tree);

absl::StatusOr<std::string> EncodeSnapshotRecord(const v1::TierSnapshotRecord& record,
                                                 absl::string_view object, const SecretKey& key);
// DataLoss unless `sealed` opens with `key` as record `object` and holds a
// snapshot whose id the object is named for.
absl::StatusOr<v1::TierSnapshotRecord> DecodeSnapshotRecord(absl::string_view sealed,
                                                            absl::string_view object,
                                                            const SecretKey& key);

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_TIER_METADATA_H_
