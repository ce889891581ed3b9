#include "agent/delta_base.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace cairn {
namespace {

// Parent directories looked at above the file name, and siblings tried at
// each (nearest number first): a bound on the stats one file costs.
constexpr size_t kLevels = 4;
constexpr size_t kCandidatesPerLevel = 4;
// More digits than this do not fit a step number.
constexpr size_t kMaxDigits = 18;

struct DigitRun {
  size_t begin;
  size_t end;
  uint64_t value;
};

std::optional<DigitRun> LastDigitRun(absl::string_view name) {
  size_t end = name.size();
  while (end > 0 && !absl::ascii_isdigit(static_cast<unsigned char>(name[end - 1]))) --end;
  if (end == 0) return std::nullopt;
  size_t begin = end;
  while (begin > 0 && absl::ascii_isdigit(static_cast<unsigned char>(name[begin - 1]))) --begin;
  if (end - begin > kMaxDigits) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = begin; i < end; ++i) value = value * 10 + static_cast<uint64_t>(name[i] - '0');
  return DigitRun{begin, end, value};
}

// Siblings of `name` in `dir` that differ from it only in its last digit
// run, with a lower number; nearest first, at most kCandidatesPerLevel.
std::vector<std::string> LowerSiblings(const std::string& dir, absl::string_view name,
                                       const DigitRun& run) {
  absl::string_view prefix = name.substr(0, run.begin);
  absl::string_view suffix = name.substr(run.end);
  std::vector<std::pair<uint64_t, std::string>> found;
  DIR* d = opendir(dir.empty() ? "/" : dir.c_str());
  if (d == nullptr) return {};
  while (struct dirent* e = readdir(d)) {
    absl::string_view other(e->d_name);
    if (other.size() <= prefix.size() + suffix.size() || !absl::StartsWith(other, prefix) ||
        !absl::EndsWith(other, suffix)) {
      continue;
    }
    std::optional<DigitRun> o = LastDigitRun(other);
    if (!o.has_value() || o->begin != prefix.size() || o->end != other.size() - suffix.size() ||
        o->value >= run.value) {
      continue;
    }
    found.emplace_back(o->value, std::string(other));
  }
  closedir(d);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  std::vector<std::string> out;
  for (size_t i = 0; i < found.size() && i < kCandidatesPerLevel; ++i) {
    out.push_back(std::move(found[i].second));
  }
  return out;
}

}  // namespace

std::optional<std::string> PredecessorPath(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(path.substr(1), '/', absl::SkipEmpty());
  for (size_t level = 0; level < kLevels && level < parts.size(); ++level) {
    const size_t i = parts.size() - 1 - level;
    std::optional<DigitRun> run = LastDigitRun(parts[i]);
    if (!run.has_value()) continue;
    const std::string dir =
        absl::StrCat("/", absl::StrJoin(parts.begin(), parts.begin() + static_cast<long>(i), "/"));
    const std::string rest =
        absl::StrJoin(parts.begin() + static_cast<long>(i) + 1, parts.end(), "/");
    for (const std::string& sibling : LowerSiblings(dir, parts[i], *run)) {
      std::string candidate = absl::StrCat(dir == "/" ? "" : dir, "/", sibling);
      if (!rest.empty()) absl::StrAppend(&candidate, "/", rest);
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
    }
  }
  return std::nullopt;
}

std::optional<DeltaSource> DeltaSource::Open(const std::string& path, const FileProbe& probe) {
  if (probe.regions.empty()) return std::nullopt;
  std::optional<std::string> predecessor = PredecessorPath(path);
  if (!predecessor.has_value()) return std::nullopt;
  absl::StatusOr<UniqueFd> fd = OpenFile(*predecessor, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) return std::nullopt;
  struct stat st;
  if (fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  absl::StatusOr<FileProbe> old =
      ProbeFile(fd->get(), static_cast<uint64_t>(st.st_size), *predecessor);
  if (!old.ok() || old->kind != probe.kind || old->regions.size() != probe.regions.size()) {
    return std::nullopt;
  }
  // Tensors must match; what lies between them (the header, whose metadata
  // may name the step) may differ in length.
  for (size_t i = 0; i < probe.regions.size(); ++i) {
    if (old->regions[i].type != probe.regions[i].type ||
        (probe.regions[i].type != ElementType::kNone &&
         old->regions[i].length != probe.regions[i].length)) {
      return std::nullopt;
    }
  }
  return DeltaSource(*std::move(predecessor), *std::move(fd), std::move(old->regions));
}

absl::Status DeltaSource::ReadBase(size_t region, uint64_t offset_in_region, uint64_t length,
                                   std::string* base) const {
  if (region >= regions_.size() || offset_in_region > regions_[region].length ||
      regions_[region].length - offset_in_region < length) {
    return absl::OutOfRangeError(absl::StrCat("no region ", region, " range in ", path_));
  }
  return PreadFully(fd_.get(), regions_[region].offset + offset_in_region, length, base, path_);
}

}  // namespace cairn
