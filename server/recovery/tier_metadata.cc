#include "server/recovery/tier_metadata.h"

#include <sodium.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/codec.h"
#include "common/ids.h"
#include "common/le_coding.h"
#include "common/limits.h"
#include "common/pack_format.h"
#include "common/seal.h"
#include "common/status_macros.h"
#include "common/tree_id.h"
#include "server/tiers/pack_index.h"

namespace cairn {
namespace {

ChunkId Blake2b(absl::string_view domain, absl::string_view a, absl::string_view b) {
  std::string in =
      absl::StrCat(domain, absl::string_view("\0", 1), a, absl::string_view("\0", 1), b);
  ChunkId id;
  crypto_generichash(id.data(), id.size(), reinterpret_cast<const unsigned char*>(in.data()),
                     in.size(), nullptr, 0);
  return id;
}

std::string IdBytes(const ChunkId& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), id.size());
}

ChunkId ToChunkId(absl::string_view bytes) {
  ChunkId id{};
  std::copy(bytes.begin(), bytes.begin() + std::min(bytes.size(), id.size()), id.begin());
  return id;
}

constexpr uint32_t kMaxTenantNameBytes = 4096;
// A group record: the tree's id, then its length.
constexpr size_t kRecordHeaderBytes = kChunkIdBytes + 4;
// What a group may decode to: a full group, or one tree larger than that.
constexpr size_t kMaxGroupBytes =
    std::max<size_t>(kTreeGroupTargetBytes, kMaxTreeBytes + kRecordHeaderBytes);
// Level 3. On the nodes of the benchmark's 100k-file tree (10 MB, in 4 MiB
// groups) it stored 2.10 MB, less than levels 1, 9 or 15 (2.20 MB each);
// levels 16 and up store ~20% less but take 3 s and more per 10 MB, and the
// mirror runs in the commit path (docs/scale.md).
constexpr int kTreeGroupLevel = 3;

void AppendRecord(absl::string_view id, absl::string_view tree, std::string* group) {
  group->append(id.data(), id.size());
  AppendLe32(static_cast<uint32_t>(tree.size()), group);
  group->append(tree.data(), tree.size());
}

// Hands each record of a decoded group to `tree` after checking that its
// bytes hash to its id.
absl::Status ReadGroup(
    absl::string_view object, size_t blob, absl::string_view group, const std::string& tenant,
    const std::function<absl::Status(const std::string& tenant, const std::string& id,
                                     std::string bytes)>& tree) {
  if (group.empty()) {
    return absl::DataLossError(absl::StrCat("tree pack ", object, ": blob ", blob, " is empty"));
  }
  while (!group.empty()) {
    if (group.size() < kRecordHeaderBytes) {
      return absl::DataLossError(
          absl::StrCat("tree pack ", object, ": blob ", blob, " ends inside a record header"));
    }
    const std::string id(group.substr(0, kChunkIdBytes));
    const uint32_t length = LoadLe32(group.data() + kChunkIdBytes);
    group.remove_prefix(kRecordHeaderBytes);
    if (length > group.size() || length > kMaxTreeBytes) {
      return absl::DataLossError(absl::StrCat("tree pack ", object, ": blob ", blob,
                                              ": a record says ", length, " bytes, ", group.size(),
                                              " are left"));
    }
    std::string bytes(group.substr(0, length));
    group.remove_prefix(length);
    if (TreeId(bytes) != id) {
      return absl::DataLossError(
          absl::StrCat("tree pack ", object, ": tree ", HexOf(id), " does not hash to its id"));
    }
    RETURN_IF_ERROR(tree(tenant, id, std::move(bytes)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string NewTreePackName() {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof(bytes));
  return absl::StrCat(kTreePackPrefix, absl::ToUnixMillis(absl::Now()), "-",
                      HexOf(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes))),
                      kTreePackSuffix);
}

std::string SnapshotRecordName(absl::string_view snapshot_id) {
  return absl::StrCat(kSnapshotRecordPrefix, snapshot_id, kSnapshotRecordSuffix);
}

std::string SnapshotIdOfRecord(absl::string_view object) {
  if (!absl::ConsumePrefix(&object, kSnapshotRecordPrefix) ||
      !absl::ConsumeSuffix(&object, kSnapshotRecordSuffix) || object.empty()) {
    return "";
  }
  return std::string(object);
}

bool IsTreePackName(absl::string_view object) {
  return absl::StartsWith(object, kTreePackPrefix) && absl::EndsWith(object, kTreePackSuffix);
}

ChunkId TreePackHeaderId(absl::string_view object) {
  return Blake2b("cairn tree pack header v2", object, "");
}

ChunkId TreePackV1HeaderId(absl::string_view object) {
  return Blake2b("cairn tree pack header", object, "");
}

ChunkId TreePackGroupId(absl::string_view object, size_t index) {
  return Blake2b("cairn tree pack group", object, absl::StrCat(index));
}

ChunkId TreePackSealId(absl::string_view object, absl::string_view id) {
  return Blake2b("cairn tree pack blob", object, id);
}

absl::Status WriteTreePack(Tier* tier, absl::string_view object, absl::string_view tenant,
                           absl::Span<const TreeRow> trees, const SecretKey& key,
                           uint64_t group_bytes) {
  group_bytes = std::min(group_bytes, kTreeGroupTargetBytes);  // what readers take
  Sealer sealer(key);
  ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> out, tier->Create(object));
  PackBuilder builder;
  RETURN_IF_ERROR(out->Append(PackBuilder::Header()));
  auto add = [&](const ChunkId& id, absl::string_view plain, int level) -> absl::Status {
    std::string framed;
    Compress(CodecChoice{.automatic = false, .codec = Codec::kZstd, .level = level}, plain,
             &framed);
    std::string sealed;
    RETURN_IF_ERROR(sealer.Seal(TreePackSealId(object, IdBytes(id)), framed, &sealed));
    RETURN_IF_ERROR(builder.Add(id, static_cast<uint32_t>(plain.size()), sealed).status());
    return out->Append(sealed);
  };
  RETURN_IF_ERROR(add(TreePackHeaderId(object), tenant, 3));
  std::string group;
  size_t groups = 0;
  auto flush = [&]() -> absl::Status {
    if (group.empty()) return absl::OkStatus();
    RETURN_IF_ERROR(add(TreePackGroupId(object, ++groups), group, kTreeGroupLevel));
    group.clear();
    return absl::OkStatus();
  };
  for (const TreeRow& t : trees) {
    if (t.id.size() != kChunkIdBytes) {
      return absl::InternalError(absl::StrCat("tree id of ", t.id.size(), " bytes"));
    }
    if (t.data.size() > kMaxTreeBytes) {
      return absl::InternalError(absl::StrCat("a tree of ", t.data.size(), " bytes"));
    }
    if (group.size() + kRecordHeaderBytes + t.data.size() > group_bytes) RETURN_IF_ERROR(flush());
    AppendRecord(t.id, t.data, &group);
  }
  RETURN_IF_ERROR(flush());
  RETURN_IF_ERROR(out->Append(builder.Finish()));
  return out->Commit();
}

absl::Status ReadTreePack(
    Tier* tier, absl::string_view object, const SecretKey& key,
    const std::function<absl::Status(const std::string& tenant, const std::string& id,
                                     std::string bytes)>& tree) {
  ASSIGN_OR_RETURN(std::vector<PackEntry> entries, ReadPackIndex(tier, object));
  const ChunkId header_id = TreePackHeaderId(object);
  const ChunkId v1_header_id = TreePackV1HeaderId(object);
  if (entries.empty() || (entries[0].id != header_id && entries[0].id != v1_header_id)) {
    return absl::DataLossError(
        absl::StrCat("tree pack ", object, " has no header for its name (renamed?)"));
  }
  const bool grouped = entries[0].id == header_id;
  Sealer sealer(key);
  std::string tenant;
  std::string sealed;
  std::string framed;
  for (size_t i = 0; i < entries.size(); ++i) {
    const PackEntry& e = entries[i];
    if (grouped && i > 0 && e.id != TreePackGroupId(object, i)) {
      return absl::DataLossError(absl::StrCat("tree pack ", object, ": blob ", i,
                                              " is not the group its place names (moved?)"));
    }
    RETURN_IF_ERROR(tier->Read(object, e.offset, e.length, &sealed));
    RETURN_IF_ERROR(VerifyBlob(e, sealed));
    const std::string id = IdBytes(e.id);
    absl::Status opened = sealer.Open(TreePackSealId(object, id), sealed, &framed);
    if (!opened.ok()) {
      return absl::DataLossError(absl::StrCat("tree pack ", object, ": blob ", i,
                                              " does not open with the catalog key (wrong key, "
                                              "or the pack was tampered with)"));
    }
    std::string plain;
    const size_t max_raw = i == 0 ? kMaxTenantNameBytes : grouped ? kMaxGroupBytes : kMaxTreeBytes;
    absl::Status decoded = Decompress(framed, max_raw, &plain, Frames::kNoPlanes);
    if (!decoded.ok()) {
      return absl::DataLossError(
          absl::StrCat("tree pack ", object, ": blob ", i, ": ", decoded.message()));
    }
    if (i == 0) {
      if (plain.empty()) {
        return absl::DataLossError(absl::StrCat("tree pack ", object, " names no tenant"));
      }
      tenant = std::move(plain);
      continue;
    }
    if (grouped) {
      RETURN_IF_ERROR(ReadGroup(object, i, plain, tenant, tree));
      continue;
    }
    if (e.id == v1_header_id || TreeId(plain) != id) {
      return absl::DataLossError(
          absl::StrCat("tree pack ", object, ": tree ", HexOf(id), " does not hash to its id"));
    }
    RETURN_IF_ERROR(tree(tenant, id, std::move(plain)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeSnapshotRecord(const v1::TierSnapshotRecord& record,
                                                 absl::string_view object, const SecretKey& key) {
  std::string plain;
  if (!record.SerializeToString(&plain)) {
    return absl::InternalError("cannot serialize a snapshot record");
  }
  std::string sealed;
  RETURN_IF_ERROR(Sealer(key).Seal(Blake2b("cairn snapshot record", object, ""), plain, &sealed));
  return sealed;
}

absl::StatusOr<v1::TierSnapshotRecord> DecodeSnapshotRecord(absl::string_view sealed,
                                                            absl::string_view object,
                                                            const SecretKey& key) {
  std::string plain;
  if (!Sealer(key).Open(Blake2b("cairn snapshot record", object, ""), sealed, &plain).ok()) {
    return absl::DataLossError(absl::StrCat("snapshot record ", object,
                                            " does not open with the catalog key (wrong key, "
                                            "renamed, or tampered with)"));
  }
  v1::TierSnapshotRecord record;
  if (!record.ParseFromString(plain) || SnapshotRecordName(record.snapshot().id()) != object ||
      record.snapshot().root_tree_id().size() != kChunkIdBytes ||
      record.snapshot().tenant().empty() || record.job().id() != record.snapshot().job_id()) {
    return absl::DataLossError(absl::StrCat("snapshot record ", object, " is malformed"));
  }
  return record;
}

}  // namespace cairn
