#include "server/maintenance/garbage_collector.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/pack_format.h"
#include "common/status_macros.h"
#include "common/tree_pages.h"
#include "server/maintenance/pack_compactor.h"

namespace cairn {
namespace {

// Bytes of trees read per catalog call, so the catalog is never held long.
constexpr uint64_t kTreePageBytes = 8u << 20;
constexpr uint32_t kChunkPage = 4096;

// A tenant's tree or chunk, compactly (ids are 32 bytes).
struct ObjKey {
  int64_t tenant = 0;
  std::array<char, kChunkIdBytes> id{};

  bool operator==(const ObjKey& other) const { return tenant == other.tenant && id == other.id; }
  template <typename H>
  friend H AbslHashValue(H h, const ObjKey& key) {
    return H::combine(std::move(h), key.tenant, absl::string_view(key.id.data(), key.id.size()));
  }
};

std::optional<ObjKey> KeyOf(int64_t tenant, absl::string_view id) {
  if (id.size() != kChunkIdBytes) return std::nullopt;
  ObjKey key;
  key.tenant = tenant;
  std::memcpy(key.id.data(), id.data(), kChunkIdBytes);
  return key;
}

std::string IdOf(const ObjKey& key) { return std::string(key.id.data(), key.id.size()); }

// One run's state; lives for one GarbageCollector::Run.
class Collection final {
 public:
  Collection(Catalog* catalog, const TierSet* tiers, GcGuard* guard,
             const std::function<absl::Time()>& clock, const GcOptions& options)
      : catalog_(catalog), tiers_(tiers), guard_(guard), clock_(clock), options_(options) {}

  absl::StatusOr<GcReport> Run() {
    int64_t now = absl::ToUnixMillis(clock_());
    // Read after the guard began: a backup that begins later hears all its
    // answers in periods the guard keeps, and makes only data newer than now.
    ASSIGN_OR_RETURN(auto live, catalog_->jobs().LiveBackups(now));
    std::vector<std::string> live_ids;
    horizon_ms_ = now - absl::ToInt64Milliseconds(options_.grace);
    for (const auto& [id, created_ms] : live) {
      live_ids.push_back(id);
      horizon_ms_ =
          std::min(horizon_ms_, created_ms - absl::ToInt64Milliseconds(options_.clock_slack));
    }
    guard_->ForgetAnswersBefore(live_ids);
    held_since_ms_ = now - absl::ToInt64Milliseconds(options_.superseded_hold);
    if (!options_.dry_run) {
      RETURN_IF_ERROR(catalog_->chunks().ReleaseSuperseded(held_since_ms_).status());
    }
    RETURN_IF_ERROR(Phase(GcPhase::kStarted));
    RETURN_IF_ERROR(CollectTrees());
    RETURN_IF_ERROR(CollectChunks());
    RETURN_IF_ERROR(Compact());
    if (!options_.dry_run) RETURN_IF_ERROR(DeleteOrphans());
    RETURN_IF_ERROR(Phase(GcPhase::kFinished));
    return report_;
  }

 private:
  struct TreeInfo {
    int64_t created_ms = 0;
    std::vector<ObjKey> subtrees;
  };

  absl::Status BeforeDelete() {
    return options_.before_delete ? options_.before_delete() : absl::OkStatus();
  }

  absl::Status Phase(GcPhase phase) {
    return options_.phase_hook ? options_.phase_hook(phase) : absl::OkStatus();
  }

  void Problem(std::string text) { report_.problems.push_back(std::move(text)); }

  // Pages through every tree, parsed. An unparsable tree is reported to
  // `fn` as nullopt: nothing it references can be known.
  template <typename Fn>
  absl::Status ForEachTree(Fn fn) {
    int64_t after_tenant = 0;
    std::string after_id;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<TreeRow> page,
                       catalog_->trees().Page(after_tenant, after_id, kTreePageBytes));
      if (page.empty()) return absl::OkStatus();
      for (TreeRow& row : page) {
        std::optional<v1::Tree> tree;
        v1::Tree parsed;
        if (parsed.ParseFromString(row.data)) tree = std::move(parsed);
        fn(row, tree);
      }
      after_tenant = page.back().tenant;
      after_id = page.back().id;
    }
  }

  // Trees no snapshot reaches, older than the horizon, and not reported to a
  // backup, go. What a spared tree references stays with it.
  absl::Status CollectTrees() {
    absl::flat_hash_map<ObjKey, TreeInfo> trees;
    std::vector<ObjKey> roots;
    RETURN_IF_ERROR(ForEachTree([&](const TreeRow& row, const std::optional<v1::Tree>& tree) {
      std::optional<ObjKey> key = KeyOf(row.tenant, row.id);
      if (!key.has_value()) return;  // not a tree id this server writes: leave it
      TreeInfo& info = trees[*key];
      info.created_ms = row.created_ms;
      if (!tree.has_value()) {
        Problem(absl::StrCat("tree ", HexOf(row.id), " does not parse; kept"));
        unsafe_tenants_.insert(row.tenant);
        roots.push_back(*key);
        return;
      }
      for (const std::string& child : ChildTreeIds(*tree)) {  // subdirectories and pages
        std::optional<ObjKey> sub = KeyOf(row.tenant, child);
        if (sub.has_value()) info.subtrees.push_back(*sub);
      }
      // Young trees may belong to a backup not yet committed.
      if (row.created_ms >= horizon_ms_) roots.push_back(*key);
    }));
    // Listed after the trees: a snapshot committed meanwhile keeps its trees.
    ASSIGN_OR_RETURN(std::vector<TenantObject> snapshot_roots, catalog_->snapshots().RootTrees());
    for (const TenantObject& r : snapshot_roots) {
      std::optional<ObjKey> key = KeyOf(r.tenant, r.id);
      if (key.has_value()) roots.push_back(*key);
    }
    absl::flat_hash_set<ObjKey> reached;
    Reach(trees, roots, &reached);
    std::vector<ObjKey> candidates;
    std::vector<std::string> candidate_ids;
    for (const auto& [key, info] : trees) {
      if (reached.contains(key)) continue;
      candidates.push_back(key);
      candidate_ids.push_back(IdOf(key));
    }
    guard_->SetCandidates(GcObject::kTree, candidate_ids);
    RETURN_IF_ERROR(Phase(GcPhase::kTreeCandidates));

    RETURN_IF_ERROR(guard_->Sweep([&](const GcGuard::Sparer& sparer) -> absl::Status {
      std::vector<ObjKey> spared;
      for (const ObjKey& key : candidates) {
        GcSpare why = sparer.Why(GcObject::kTree, IdOf(key));
        if (why == GcSpare::kNo) continue;
        spared.push_back(key);
        if (why == GcSpare::kRescued) {
          ++report_.trees_rescued;
        } else {
          ++report_.spared_maybe_reused;
        }
      }
      // A backup told a tree exists relies on everything below it.
      Reach(trees, spared, &reached);
      std::vector<TenantObject> doomed;
      for (const ObjKey& key : candidates) {
        // A tenant with an unparsable tree may reach anything of its own.
        if (reached.contains(key) || unsafe_tenants_.contains(key.tenant)) continue;
        doomed.push_back(TenantObject{key.tenant, IdOf(key)});
        if (options_.dry_run) doomed_trees_.insert(key);
      }
      if (options_.dry_run) {
        report_.trees_deleted = doomed.size();
        return absl::OkStatus();
      }
      ASSIGN_OR_RETURN(report_.trees_deleted, catalog_->trees().Delete(doomed));
      return absl::OkStatus();
    }));
    return Phase(GcPhase::kTreesSwept);
  }

  static void Reach(const absl::flat_hash_map<ObjKey, TreeInfo>& trees,
                    const std::vector<ObjKey>& from, absl::flat_hash_set<ObjKey>* reached) {
    std::vector<ObjKey> stack;
    for (const ObjKey& key : from) {
      if (reached->insert(key).second) stack.push_back(key);
    }
    while (!stack.empty()) {
      ObjKey key = stack.back();
      stack.pop_back();
      auto it = trees.find(key);
      if (it == trees.end()) continue;
      for (const ObjKey& sub : it->second.subtrees) {
        if (reached->insert(sub).second) stack.push_back(sub);
      }
    }
  }

  // Chunks no remaining tree references, in packs older than the horizon and
  // not reported to a backup, go; then packs left without chunks.
  absl::Status CollectChunks() {
    // The mark: a 64-bit fingerprint of each referenced (tenant, id), 8
    // bytes a chunk instead of a 40-byte key (docs/scale.md: the mark's
    // memory is the collection's peak). A garbage chunk whose fingerprint
    // equals a referenced one's (odds ~n/2^64 each) is only kept, never a
    // referenced chunk deleted. When the fingerprints would not fit
    // `mark_memory_bytes`, pass k marks and checks only those ≡ k (mod
    // passes). Each pass walks the trees anew; a chunk is a candidate only if
    // no tree referenced it at its own pass's walk, and the guard's reuse
    // log (started before the first) covers backups in between.
    ASSIGN_OR_RETURN(CatalogTotals totals, catalog_->chunks().Totals());
    const uint64_t passes = MarkPasses(totals.chunks, options_.mark_memory_bytes);
    report_.mark_passes = passes;
    std::vector<ChunkRow> candidates;
    for (uint64_t pass = 0; pass < passes; ++pass) {
      absl::flat_hash_set<uint64_t> referenced;
      RETURN_IF_ERROR(ForEachTree([&](const TreeRow& row, const std::optional<v1::Tree>& tree) {
        if (!tree.has_value()) {
          unsafe_tenants_.insert(row.tenant);
          return;
        }
        std::optional<ObjKey> self = KeyOf(row.tenant, row.id);
        if (self.has_value() && doomed_trees_.contains(*self)) return;  // dry run
        for (const v1::TreeEntry& entry : tree->entries()) {
          for (const v1::ChunkRef& chunk : entry.chunks()) {
            const uint64_t fingerprint = absl::HashOf(row.tenant, chunk.id());
            if (fingerprint % passes == pass) referenced.insert(fingerprint);
          }
        }
      }));
      int64_t after_tenant = 0;
      std::string after_id;
      while (true) {
        ASSIGN_OR_RETURN(std::vector<ChunkRow> page,
                         catalog_->chunks().Page(after_tenant, after_id, horizon_ms_, kChunkPage));
        if (page.empty()) break;
        after_tenant = page.back().tenant;
        after_id = page.back().id;
        for (ChunkRow& c : page) {
          if (unsafe_tenants_.contains(c.tenant)) continue;
          // Not a chunk id this server writes: leave it.
          if (c.id.size() != kChunkIdBytes) continue;
          const uint64_t fingerprint = absl::HashOf(c.tenant, c.id);
          if (fingerprint % passes != pass || referenced.contains(fingerprint)) continue;
          candidates.push_back(std::move(c));
        }
      }
    }
    // Every checkpoint delta's base: a delta that stays keeps its chain, and
    // so does a delta copy kept aside after a damage report while it is held.
    absl::flat_hash_map<ObjKey, ObjKey> base_of;
    RETURN_IF_ERROR(LoadDeltaBases(&base_of));
    std::vector<ObjKey> held_bases;
    RETURN_IF_ERROR(LoadSupersededBases(&held_bases));
    std::vector<std::string> candidate_ids;
    candidate_ids.reserve(candidates.size());
    for (const ChunkRow& c : candidates) candidate_ids.push_back(c.id);
    guard_->SetCandidates(GcObject::kChunk, candidate_ids);
    candidate_ids = {};
    RETURN_IF_ERROR(Phase(GcPhase::kChunkCandidates));

    std::vector<PackRecord> emptied;
    RETURN_IF_ERROR(guard_->Sweep([&](const GcGuard::Sparer& sparer) -> absl::Status {
      absl::flat_hash_set<ObjKey> going;
      for (const ChunkRow& c : candidates) {
        GcSpare why = sparer.Why(GcObject::kChunk, c.id);
        if (why == GcSpare::kRescued) {
          ++report_.chunks_rescued;
        } else if (why == GcSpare::kMaybeReused) {
          ++report_.spared_maybe_reused;
        } else {
          going.insert(*KeyOf(c.tenant, c.id));
        }
      }
      report_.chunks_kept_as_bases = KeepBases(base_of, held_bases, &going);
      std::vector<TenantObject> doomed;
      for (const ChunkRow& c : candidates) {
        if (!going.contains(*KeyOf(c.tenant, c.id))) continue;
        doomed.push_back(TenantObject{c.tenant, c.id});
        Removed& r = removed_[c.pack_id];
        ++r.chunks;
        r.bytes += c.length;
      }
      if (options_.dry_run) {
        report_.chunks_deleted = doomed.size();
        return absl::OkStatus();
      }
      // The rows go first, in one transaction; objects only after it committed.
      ASSIGN_OR_RETURN(emptied, catalog_->chunks().Delete(doomed, &report_.chunks_deleted));
      return absl::OkStatus();
    }));
    RETURN_IF_ERROR(Phase(GcPhase::kChunksSwept));
    if (!emptied.empty()) RETURN_IF_ERROR(BeforeDelete());
    return DeleteObjects(emptied, GcPhase::kEmptyPackDeleted);
  }

  absl::Status LoadDeltaBases(absl::flat_hash_map<ObjKey, ObjKey>* base_of) {
    int64_t after_tenant = 0;
    std::string after_id;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<ChunkRow> page,
                       catalog_->chunks().DeltaPage(after_tenant, after_id, kChunkPage));
      if (page.empty()) return absl::OkStatus();
      after_tenant = page.back().tenant;
      after_id = page.back().id;
      for (const ChunkRow& c : page) {
        std::optional<ObjKey> delta = KeyOf(c.tenant, c.id);
        std::optional<ObjKey> base = KeyOf(c.tenant, c.base_id);
        if (delta.has_value() && base.has_value()) base_of->emplace(*delta, *base);
      }
    }
  }

  // The bases of the delta copies in superseded_chunks that this
  // collection does not release (those superseded within the hold).
  absl::Status LoadSupersededBases(std::vector<ObjKey>* bases) {
    int64_t after_rowid = 0;
    while (true) {
      ASSIGN_OR_RETURN(
          std::vector<ChunkStore::SupersededBase> page,
          catalog_->chunks().SupersededBasePage(held_since_ms_, after_rowid, kChunkPage));
      if (page.empty()) return absl::OkStatus();
      after_rowid = page.back().rowid;
      for (const ChunkStore::SupersededBase& b : page) {
        std::optional<ObjKey> base = KeyOf(b.tenant, b.base_id);
        if (base.has_value()) bases->push_back(*base);
      }
    }
  }

  // Takes out of `going` every chunk that a delta staying (not in `going`)
  // or a held superseded delta (`held_bases`: their bases) decodes from,
  // through its whole chain; how many were taken out.
  static uint64_t KeepBases(const absl::flat_hash_map<ObjKey, ObjKey>& base_of,
                            const std::vector<ObjKey>& held_bases,
                            absl::flat_hash_set<ObjKey>* going) {
    uint64_t kept = 0;
    std::vector<ObjKey> stack;  // chunks that stay: their chains stay too
    for (const auto& [delta, base] : base_of) {
      if (!going->contains(delta)) stack.push_back(delta);
    }
    for (const ObjKey& base : held_bases) {
      if (going->erase(base) != 0) ++kept;
      stack.push_back(base);
    }
    while (!stack.empty()) {
      ObjKey delta = stack.back();
      stack.pop_back();
      auto it = base_of.find(delta);
      if (it == base_of.end() || going->erase(it->second) == 0) continue;
      ++kept;
      stack.push_back(it->second);  // a base that is a delta keeps its own base
    }
    return kept;
  }

  // Deletes the objects of packs whose rows are gone (committed).
  absl::Status DeleteObjects(const std::vector<PackRecord>& packs, GcPhase after_first) {
    bool first = true;
    for (const PackRecord& p : packs) {
      std::vector<std::string> locations = p.copies;
      locations.insert(locations.begin(), p.tier);
      for (const std::string& where : locations) {
        Tier* tier = tiers_->Find(where);
        if (tier == nullptr) {
          Problem(absl::StrCat("pack ", p.name, " is on tier ", where,
                               " which is not configured; its object was not deleted"));
          continue;
        }
        absl::Status deleted = tier->Delete(p.name);
        if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
      }
      ++report_.packs_deleted;
      report_.bytes_freed += static_cast<int64_t>(p.size);
      if (first) {
        first = false;
        RETURN_IF_ERROR(Phase(after_first));
      }
    }
    return absl::OkStatus();
  }

  // Packs whose live fraction is below compact_below are rewritten, per
  // (tier, tenant), oldest first (PackCompactor).
  absl::Status Compact() {
    if (options_.compact_below <= 0) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<PackUsage> usage, catalog_->chunks().Usage());
    std::map<std::pair<std::string, int64_t>, std::vector<PackRecord>> groups;
    for (PackUsage& p : usage) {
      if (options_.dry_run) {  // as if the sweep had run
        auto it = removed_.find(p.pack.id);
        if (it != removed_.end()) {
          p.live_chunks -= std::min(p.live_chunks, it->second.chunks);
          p.live_bytes -= std::min(p.live_bytes, it->second.bytes);
        }
        if (p.live_chunks == 0) {
          ++report_.packs_deleted;
          continue;
        }
      }
      uint64_t overhead = kPackHeaderSize + kPackFooterSize + p.pack.entries * kPackIndexEntrySize;
      if (p.pack.quarantined || p.held || p.live_chunks == 0 || p.pack.size <= overhead) continue;
      double live = static_cast<double>(p.live_bytes) / static_cast<double>(p.pack.size - overhead);
      if (live >= options_.compact_below) continue;
      if (options_.dry_run) {
        ++report_.packs_compacted;
        continue;
      }
      if (tiers_->Find(p.pack.tier) == nullptr) continue;
      groups[{p.pack.tier, p.tenant}].push_back(std::move(p.pack));
    }
    PackCompactor compactor(&catalog_->chunks(), tiers_, options_.pack_target_bytes,
                            [this](PackCompactor::Point point) {
                              switch (point) {
                                case PackCompactor::Point::kWritten:
                                  return Phase(GcPhase::kCompactPackWritten);
                                case PackCompactor::Point::kRepointed: {
                                  absl::Status s = Phase(GcPhase::kCompactRepointed);
                                  return s.ok() ? BeforeDelete() : s;
                                }
                                case PackCompactor::Point::kOldDeleted:
                                  return Phase(GcPhase::kCompactOldPackDeleted);
                              }
                              return absl::OkStatus();
                            });
    for (const auto& [where, packs] : groups) {
      CompactionCounts counts;
      absl::Status status = compactor.Compact(where.first, where.second, packs, &counts);
      report_.packs_compacted += counts.packs_compacted;
      report_.packs_written += counts.packs_written;
      report_.packs_deleted += counts.packs_deleted;
      report_.bytes_freed += counts.bytes_freed;
      for (std::string& p : counts.problems) Problem(std::move(p));
      RETURN_IF_ERROR(status);
    }
    return absl::OkStatus();
  }

  // Pack objects the catalog does not name: left by a crash between writing
  // and cataloguing, or between uncataloguing and deleting. Deleted once seen
  // orphaned for the grace period, so a pack being catalogued right now is safe.
  absl::Status DeleteOrphans() {
    bool first = true;
    for (const std::unique_ptr<Tier>& tier : tiers_->all()) {
      ASSIGN_OR_RETURN(std::vector<std::string> objects, tier->List());
      ASSIGN_OR_RETURN(std::vector<PackRecord> packs, catalog_->chunks().ListPacks());
      absl::flat_hash_set<std::string> known;
      for (const PackRecord& p : packs) {
        if (p.tier == tier->name()) known.insert(p.name);
      }
      // Copies count as known too; a copy being made has no row yet and
      // is spared by the grace period like any new pack.
      ASSIGN_OR_RETURN(std::vector<PlacedPack> copies,
                       catalog_->placement().PacksOn(tier->name(), INT64_MAX, 0, UINT32_MAX));
      for (const PlacedPack& p : copies) known.insert(p.pack.name);
      std::vector<std::string> orphans;
      for (std::string& name : objects) {
        if (absl::StartsWith(name, "pack-") && !known.contains(name)) {
          orphans.push_back(std::move(name));
        }
      }
      std::vector<std::string> due = guard_->OrphansDue(tier->name(), orphans, options_.grace);
      // An orphan may be a pack whose rows went after the newest bundle.
      if (!due.empty()) RETURN_IF_ERROR(BeforeDelete());
      for (const std::string& name : due) {
        absl::StatusOr<uint64_t> size = tier->Size(name);
        absl::Status deleted = tier->Delete(name);
        if (!deleted.ok() && !absl::IsNotFound(deleted)) return deleted;
        ++report_.orphans_deleted;
        ++report_.packs_deleted;
        if (size.ok()) report_.bytes_freed += static_cast<int64_t>(*size);
        if (first) {
          first = false;
          RETURN_IF_ERROR(Phase(GcPhase::kOrphanDeleted));
        }
      }
    }
    return absl::OkStatus();
  }

  struct Removed {
    uint64_t chunks = 0;
    uint64_t bytes = 0;
  };

  Catalog* catalog_;
  const TierSet* tiers_;
  GcGuard* guard_;
  const std::function<absl::Time()>& clock_;
  const GcOptions& options_;
  int64_t horizon_ms_ = 0;     // trees and packs created from here on stay
  int64_t held_since_ms_ = 0;  // copies superseded from here on are held
  // Tenants with an unparsable tree: their chunks cannot be judged.
  absl::flat_hash_set<int64_t> unsafe_tenants_;
  absl::flat_hash_set<ObjKey> doomed_trees_;       // dry run only
  absl::flat_hash_map<int64_t, Removed> removed_;  // per pack, by the sweep
  GcReport report_;
};

}  // namespace

uint64_t MarkPasses(uint64_t chunks, uint64_t memory_bytes) {
  const uint64_t per_pass = std::max<uint64_t>(1, memory_bytes / kMarkBytesPerChunk);
  return std::clamp<uint64_t>((chunks + per_pass - 1) / per_pass, 1, kMaxMarkPasses);
}

absl::StatusOr<GcReport> GarbageCollector::Run(const GcOptions& options) {
  if (!(options.compact_below >= 0 && options.compact_below <= 1)) {
    return absl::InvalidArgumentError("compact_below must be between 0 and 1");
  }
  if (options.grace < absl::ZeroDuration() || options.clock_slack < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the grace period and clock slack cannot be negative");
  }
  RETURN_IF_ERROR(guard_->Begin());
  absl::Cleanup end = [this] { guard_->End(); };
  Collection collection(catalog_, tiers_, guard_, clock_, options);
  return collection.Run();
}

}  // namespace cairn
