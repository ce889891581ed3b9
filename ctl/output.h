// How cairnctl prints: byte sizes, ages, states and aligned tables for
// people; protobuf JSON for scripts.
#ifndef CAIRN_CTL_OUTPUT_H_
#define CAIRN_CTL_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/v1/types.pb.h"

namespace cairn {

std::string HumanBytes(uint64_t bytes);
// "3m ago", "2h ago", "never".
std::string Ago(int64_t unix_ms);
std::string StateName(v1::JobState state);
std::string KindName(v1::JobKind kind);
std::string LevelName(v1::BackupLevel level);
std::string TypeName(v1::EntryType type);

// Columns padded to their widest cell.
class Table final {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace cairn

#endif  // CAIRN_CTL_OUTPUT_H_
