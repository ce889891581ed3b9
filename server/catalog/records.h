// Plain records the catalog stores return: where chunks live, packs, and the
// rows garbage collection pages through. Agents, jobs, snapshots and policies
// are their cairn.v1 protobuf messages.
#ifndef CAIRN_SERVER_CATALOG_RECORDS_H_
#define CAIRN_SERVER_CATALOG_RECORDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace cairn {

// Where a stored chunk lives.
struct ChunkLocation {
  int64_t pack_id = 0;
  std::string tier;
  std::string pack_name;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_size = 0;
};

// One chunk of a pack that has been made durable, to be catalogued; also a
// chunk copied into a new pack by compaction (`from_pack` then names its
// source).
struct StoredChunk {
  std::string id;  // 32 bytes
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_size = 0;
  int64_t from_pack = 0;
  std::string base_id;  // a checkpoint delta's base chunk; empty for a whole chunk
};

struct PackRecord {
  int64_t id = 0;
  std::string tier;
  std::string name;
  uint64_t size = 0;
  uint64_t entries = 0;
  bool quarantined = false;
  // Tiers holding copies besides `tier`; filled where the pack is deleted
  // (their objects are deleted too).
  std::vector<std::string> copies;
};

// A tree or chunk of one tenant.
struct TenantObject {
  int64_t tenant = 0;
  std::string id;
};

// A catalogued chunk row.
struct ChunkRow {
  int64_t tenant = 0;
  std::string id;
  int64_t pack_id = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_size = 0;
  std::string base_id;  // a checkpoint delta's base chunk; empty for a whole chunk
};

// A stored tree row, with its bytes.
struct TreeRow {
  int64_t tenant = 0;
  std::string id;
  int64_t created_ms = 0;
  std::string data;
};

// A pack with what still lives in it.
struct PackUsage {
  PackRecord pack;
  int64_t created_ms = 0;
  int64_t tenant = 0;  // of its chunks (a pack holds one tenant's); 0 when empty
  uint64_t live_chunks = 0;
  uint64_t live_bytes = 0;  // sealed bytes of the chunks still catalogued here
  bool held = false;        // holds superseded copies of chunks: not to be rewritten
};

struct CatalogTotals {
  uint64_t chunks = 0;
  uint64_t unique_bytes = 0;
  uint64_t stored_bytes = 0;
  uint64_t snapshots = 0;
  uint64_t logical_bytes = 0;
  uint64_t packs = 0;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_CATALOG_RECORDS_H_
