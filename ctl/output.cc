#include "ctl/output.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"

namespace cairn {

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string Ago(int64_t unix_ms) {
  if (unix_ms <= 0) return "never";
  int64_t seconds = (absl::ToUnixMillis(absl::Now()) - unix_ms) / 1000;
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return absl::StrCat(seconds, "s ago");
  if (seconds < 7200) return absl::StrCat(seconds / 60, "m ago");
  if (seconds < 172800) return absl::StrCat(seconds / 3600, "h ago");
  return absl::StrCat(seconds / 86400, "d ago");
}

namespace {
std::string EnumSuffix(const std::string& name, absl::string_view prefix) {
  std::string out = name.substr(std::min(name.size(), prefix.size()));
  return absl::AsciiStrToLower(out);
}
}  // namespace

std::string StateName(v1::JobState state) {
  return EnumSuffix(v1::JobState_Name(state), "JOB_STATE_");
}
std::string KindName(v1::JobKind kind) { return EnumSuffix(v1::JobKind_Name(kind), "JOB_KIND_"); }
std::string LevelName(v1::BackupLevel level) {
  return EnumSuffix(v1::BackupLevel_Name(level), "BACKUP_LEVEL_");
}
std::string TypeName(v1::EntryType type) {
  return EnumSuffix(v1::EntryType_Name(type), "ENTRY_TYPE_");
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace cairn
