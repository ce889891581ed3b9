#include "server/ingest/chunk_reader.h"

#include <algorithm>
#include <future>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

bool SamePack(const ChunkLocation& a, const ChunkLocation& b) {
  return a.pack_id == b.pack_id && a.tier == b.tier;
}

}  // namespace

absl::Status ChunkReader::Read(int64_t tenant, absl::Span<const std::string> ids, Emit emit,
                               ChunkReadStats* stats) {
  std::vector<const std::string*> distinct;
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& id : ids) {
    if (seen.insert(id).second) distinct.push_back(&id);
  }
  std::vector<std::string> lookup;
  lookup.reserve(distinct.size());
  for (const std::string* id : distinct) lookup.push_back(*id);
  ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> where,
                   chunks_->LocateMany(tenant, lookup));
  std::vector<Located> located;
  located.reserve(distinct.size());
  for (size_t i = 0; i < distinct.size(); ++i) {
    if (!where[i].has_value()) {
      return absl::NotFoundError(absl::StrCat("no chunk ", HexOf(*distinct[i])));
    }
    located.push_back(Located{distinct[i], *std::move(where[i])});
  }
  return ReadSorted(tenant, std::move(located), emit, stats, /*retry_moved=*/true);
}

absl::Status ChunkReader::ReadSuperseded(int64_t tenant, absl::Span<const std::string> ids,
                                         Emit emit, ChunkReadStats* stats) {
  absl::flat_hash_set<absl::string_view> seen;
  std::vector<std::string> lookup;
  for (const std::string& id : ids) {
    if (seen.insert(id).second) lookup.push_back(id);
  }
  ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> where,
                   chunks_->LocateMany(tenant, lookup, /*superseded=*/true));
  std::vector<Located> located;
  for (size_t i = 0; i < lookup.size(); ++i) {
    if (where[i].has_value()) located.push_back(Located{&lookup[i], *std::move(where[i])});
  }
  return ReadSorted(tenant, std::move(located), emit, stats, /*retry_moved=*/false);
}

absl::Status ChunkReader::ReadRun(const ChunkLocation& first, uint64_t length, std::string* out) {
  std::vector<std::string> copies;
  if (placement_ != nullptr) {
    ASSIGN_OR_RETURN(copies, placement_->Copies(first.pack_id));
  }
  if (copies.empty()) {
    ASSIGN_OR_RETURN(Tier * tier, tiers_->Get(first.tier));
    return tier->Read(first.pack_name, first.offset, length, out);
  }
  // Nearest first (the configured order), tiers that are down last.
  std::vector<std::string> order = copies;
  order.push_back(first.tier);
  std::stable_sort(order.begin(), order.end(), [this](const std::string& a, const std::string& b) {
    return std::make_pair(tiers_->Avoid(a), tiers_->Rank(a)) <
           std::make_pair(tiers_->Avoid(b), tiers_->Rank(b));
  });
  absl::Status first_error;
  for (const std::string& where : order) {
    absl::StatusOr<Tier*> tier = tiers_->Get(where);
    absl::Status read =
        tier.ok() ? (*tier)->Read(first.pack_name, first.offset, length, out) : tier.status();
    if (read.ok()) return read;
    if (first_error.ok()) first_error = read;
  }
  return first_error;
}

absl::Status ChunkReader::ReadSorted(int64_t tenant, std::vector<Located> located, Emit emit,
                                     ChunkReadStats* stats, bool retry_moved) {
  std::sort(located.begin(), located.end(), [](const Located& a, const Located& b) {
    return std::tie(a.where.tier, a.where.pack_id, a.where.offset) <
           std::tie(b.where.tier, b.where.pack_id, b.where.offset);
  });
  // Runs: [begin, end) of `located` in one pack, in order, small gaps,
  // bounded size.
  struct Run {
    size_t begin, end;
    uint64_t length;
  };
  std::vector<Run> runs;
  for (size_t begin = 0; begin < located.size();) {
    const ChunkLocation& first = located[begin].where;
    uint64_t run_end = first.offset + first.length;
    size_t end = begin + 1;
    while (end < located.size()) {
      const ChunkLocation& next = located[end].where;
      if (!SamePack(first, next) || next.offset < run_end || next.offset - run_end > kMaxGapBytes ||
          next.offset + next.length - first.offset > kMaxRunBytes) {
        break;
      }
      run_end = next.offset + next.length;
      ++end;
    }
    runs.push_back({begin, end, run_end - first.offset});
    begin = end;
  }
  // While one run is handed out, the next (when large enough to be worth a
  // thread) is read: an object store's latency overlaps the restore's work.
  // Memory: two runs.
  std::string buffer, ahead_buffer;
  std::future<absl::Status> ahead;
  size_t ahead_run = runs.size();
  for (size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const ChunkLocation& first = located[run.begin].where;
    absl::Status read;
    if (ahead_run == r) {
      read = ahead.get();
      buffer.swap(ahead_buffer);
    } else {
      read = ReadRun(first, run.length, &buffer);
    }
    if (r + 1 < runs.size() && runs[r + 1].length >= kMinReadAheadBytes) {
      ahead_run = r + 1;
      ahead = std::async(std::launch::async, [this, &located, &runs, &ahead_buffer, r] {
        return ReadRun(located[runs[r + 1].begin].where, runs[r + 1].length, &ahead_buffer);
      });
    }
    if (absl::IsNotFound(read) && retry_moved) {
      // Compaction or a tier move may have moved these chunks and deleted
      // the old object between the lookup and the read; their new places
      // are committed.
      std::vector<Located> moved(located.begin() + run.begin, located.begin() + run.end);
      std::vector<std::string> ids;
      for (const Located& l : moved) ids.push_back(*l.id);
      ASSIGN_OR_RETURN(std::vector<std::optional<ChunkLocation>> now,
                       chunks_->LocateMany(tenant, ids));
      for (size_t i = 0; i < moved.size(); ++i) {
        if (!now[i].has_value()) {
          return absl::NotFoundError(absl::StrCat("chunk ", HexOf(ids[i]), " vanished"));
        }
        moved[i].where = *std::move(now[i]);
      }
      RETURN_IF_ERROR(ReadSorted(tenant, std::move(moved), emit, stats, false));
      continue;
    }
    RETURN_IF_ERROR(read);
    if (stats != nullptr) {
      ++stats->tier_reads;
      stats->bytes_read += buffer.size();
    }
    for (size_t i = run.begin; i < run.end; ++i) {
      const ChunkLocation& at = located[i].where;
      RETURN_IF_ERROR(emit(*located[i].id,
                           absl::string_view(buffer).substr(at.offset - first.offset, at.length)));
      if (stats != nullptr) ++stats->chunks;
    }
  }
  return absl::OkStatus();
}

}  // namespace cairn
