// The catalog's metadata as objects on the tiers, beside the packs, so that
// the packs and these objects alone bring every snapshot back
// (`cairn-server --rebuild-catalog`, catalog_rebuild.h) even when every
// catalog bundle is lost. Both kinds are sealed with the catalog key: whoever
// holds the bucket reads no file name and can forge nothing.
//
// Tree pack "trees-<unix ms>-<24 hex>.ctp": the pack format
// (common/pack_format.h). Its first blob has the id TreePackHeaderId(object)
// and holds the tenant's name; every other blob has a tree's id and holds
// the zstd-framed tree. Each blob is sealed under BLAKE2b(object, id), so a
// blob cannot be moved to another pack (another tenant) or renamed.
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

// The id a tree pack's header blob is stored under.
ChunkId TreePackHeaderId(absl::string_view object);
// The id a blob of a tree pack is sealed under (also for the header blob,
// with id = TreePackHeaderId).
ChunkId TreePackSealId(absl::string_view object, absl::string_view id);

// Writes and commits tree pack `object` holding `trees` (of one tenant).
absl::Status WriteTreePack(Tier* tier, absl::string_view object, absl::string_view tenant,
                           absl::Span<const TreeRow> trees, const SecretKey& key);

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
