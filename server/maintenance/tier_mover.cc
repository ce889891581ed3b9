#include "server/maintenance/tier_mover.h"

#include <sodium.h>

#include <algorithm>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr uint32_t kPage = 1000;

// BLAKE2b-256 over bytes given in pieces.
class Blake2b {
 public:
  Blake2b() { crypto_generichash_init(&state_, nullptr, 0, 32); }
  void Update(absl::string_view piece) {
    crypto_generichash_update(&state_, reinterpret_cast<const unsigned char*>(piece.data()),
                              piece.size());
  }
  std::string Final() {
    std::string out(32, '\0');
    crypto_generichash_final(&state_, reinterpret_cast<unsigned char*>(out.data()), out.size());
    return out;
  }

 private:
  crypto_generichash_state state_;
};

// BLAKE2b-256 of an object, read in pieces.
absl::StatusOr<std::string> HashObject(Tier* tier, const std::string& name, uint64_t size,
                                       size_t piece_bytes) {
  Blake2b hash;
  std::string piece;
  for (uint64_t off = 0; off < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece_bytes, size - off));
    RETURN_IF_ERROR(tier->Read(name, off, n, &piece));
    hash.Update(piece);
    off += n;
  }
  return hash.Final();
}

bool Holds(const PlacedPack& p, absl::string_view tier) {
  return std::find(p.locations.begin(), p.locations.end(), tier) != p.locations.end();
}

}  // namespace

absl::Status TierMover::CopyPack(Tier* from, Tier* to, const PackRecord& pack, size_t piece_bytes,
                                 v1::MoveTierProgress* progress) {
  ASSIGN_OR_RETURN(uint64_t size, from->Size(pack.name));
  if (size != pack.size) {
    return absl::DataLossError(absl::StrCat("pack ", pack.name, " on tier ", from->name(), " is ",
                                            size, " bytes, the catalog says ", pack.size));
  }
  Blake2b hash;
  ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> writer, to->Create(pack.name));
  std::string piece;
  for (uint64_t off = 0; off < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(piece_bytes, size - off));
    RETURN_IF_ERROR(from->Read(pack.name, off, n, &piece));
    hash.Update(piece);
    RETURN_IF_ERROR(writer->Append(piece));
    off += n;
    progress->set_bytes_done(progress->bytes_done() + n);
  }
  RETURN_IF_ERROR(writer->Commit());
  const std::string sent = hash.Final();
  absl::StatusOr<std::string> stored = HashObject(to, pack.name, size, piece_bytes);
  if (!stored.ok() || *stored != sent) {
    (void)to->Delete(pack.name);
    return stored.ok() ? absl::DataLossError(absl::StrCat("the copy of ", pack.name, " on tier ",
                                                          to->name(), " reads back different"))
                       : stored.status();
  }
  return absl::OkStatus();
}

absl::Status TierMover::DeleteSources(Tier* from, const TierMoveOptions& options,
                                      std::vector<std::string>* moved,
                                      v1::MoveTierProgress* progress) {
  if (moved->empty()) return absl::OkStatus();
  if (options.before_delete) RETURN_IF_ERROR(options.before_delete());
  for (const std::string& name : *moved) {
    absl::Status deleted = from->Delete(name);
    if (!deleted.ok() && !absl::IsNotFound(deleted)) {
      // Left as an orphan: the next gc deletes it.
      progress->add_problems(absl::StrCat("moved ", name, " but could not delete it from tier ",
                                          from->name(), ": ", deleted.message()));
    }
  }
  moved->clear();
  return absl::OkStatus();
}

absl::StatusOr<bool> TierMover::CopyOne(const PackRecord& pack, absl::string_view from_name,
                                        absl::string_view to_name) {
  if (!running_.TryLock()) {
    return absl::FailedPreconditionError("a tier move or copy is already running");
  }
  absl::Cleanup unlock = [this] { running_.Unlock(); };
  ASSIGN_OR_RETURN(Tier * from, tiers_->Get(from_name));
  ASSIGN_OR_RETURN(Tier * to, tiers_->Get(to_name));
  v1::MoveTierProgress ignored;
  RETURN_IF_ERROR(CopyPack(from, to, pack, TierMoveOptions().piece_bytes, &ignored));
  return catalog_->placement().AddCopy(pack.id, to_name);
}

absl::StatusOr<v1::MoveTierProgress> TierMover::Run(
    const TierMoveOptions& options,
    const std::function<bool(const v1::MoveTierProgress&)>& progress) {
  if (!running_.TryLock()) {
    return absl::FailedPreconditionError("a tier move or copy is already running");
  }
  absl::Cleanup unlock = [this] { running_.Unlock(); };
  if (options.from == options.to) {
    return absl::InvalidArgumentError("--from and --to name the same tier");
  }
  ASSIGN_OR_RETURN(Tier * from, tiers_->Get(options.from));
  ASSIGN_OR_RETURN(Tier * to, tiers_->Get(options.to));
  // No age given: every pack, even one written this very millisecond.
  const int64_t before_ms = options.older_than <= absl::ZeroDuration()
                                ? INT64_MAX
                                : absl::ToUnixMillis(options.clock() - options.older_than);
  PlacementStore& placement = catalog_->placement();

  v1::MoveTierProgress p;
  // First pass: totals, page by page (memory does not grow with the tier).
  for (int64_t after = 0;;) {
    ASSIGN_OR_RETURN(std::vector<PlacedPack> page,
                     placement.PacksOn(options.from, before_ms, after, kPage));
    if (page.empty()) break;
    for (const PlacedPack& pack : page) {
      if (pack.pack.quarantined || (options.copy && Holds(pack, options.to)) ||
          (options.select && !options.select(pack)))
        continue;
      p.set_packs_total(p.packs_total() + 1);
      if (!Holds(pack, options.to)) p.set_bytes_total(p.bytes_total() + pack.pack.size);
    }
    after = page.back().pack.id;
  }
  if (!progress(p) || options.dry_run) {
    p.set_finished(true);
    return p;
  }

  std::vector<std::string> moved;
  bool stopped = false;
  for (int64_t after = 0; !stopped;) {
    ASSIGN_OR_RETURN(std::vector<PlacedPack> page,
                     placement.PacksOn(options.from, before_ms, after, kPage));
    if (page.empty()) break;
    after = page.back().pack.id;
    for (const PlacedPack& pack : page) {
      if (pack.pack.quarantined || (options.copy && Holds(pack, options.to)) ||
          (options.select && !options.select(pack))) {
        p.set_packs_skipped(p.packs_skipped() + 1);
        continue;
      }
      if (!Holds(pack, options.to)) {
        absl::Status copied = CopyPack(from, to, pack.pack, options.piece_bytes, &p);
        if (!copied.ok()) {
          p.add_problems(absl::StrCat("pack ", pack.pack.name, ": ", copied.message()));
          if (!progress(p)) {
            stopped = true;
            break;
          }
          continue;
        }
      }
      ASSIGN_OR_RETURN(bool recorded,
                       options.copy ? placement.AddCopy(pack.pack.id, options.to)
                                    : placement.Relocate(pack.pack.id, options.from, options.to));
      if (!recorded) {
        // Collected or compacted meanwhile: the copy is an orphan gc removes.
        p.set_packs_skipped(p.packs_skipped() + 1);
      } else {
        p.set_packs_done(p.packs_done() + 1);
        if (!options.copy) moved.push_back(pack.pack.name);
      }
      if (moved.size() >= options.delete_batch) {
        RETURN_IF_ERROR(DeleteSources(from, options, &moved, &p));
      }
      if (!progress(p)) {
        stopped = true;
        break;
      }
    }
  }
  RETURN_IF_ERROR(DeleteSources(from, options, &moved, &p));
  p.set_finished(true);
  return p;
}

}  // namespace cairn
