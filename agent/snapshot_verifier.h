// `cairn-agent verify` and verify jobs: reads a snapshot's chunks back from
// the server and checks each with the tenant key — it must decrypt, and its
// plaintext must hash to its id — so garbage stored under a valid id is
// found (the server cannot tell, it has no key). Damaged chunks are reported
// to the server, which marks them so the next full backup stores them again.
// The trees are read as a restore reads them: the snapshot's manifest MAC
// first, then each tree against the id its parent names. A sample reads a
// share of the chunks, chosen by id (uniform: ids are keyed hashes).
// Memory is bounded: the ids already checked are remembered up to a limit.
//
//   ASSIGN_OR_RETURN(VerifyResult r, RunVerify(&conn, crypto, {.snapshot_ids = {"s-..."}}));
#ifndef CAIRN_AGENT_SNAPSHOT_VERIFIER_H_
#define CAIRN_AGENT_SNAPSHOT_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/agent_config.h"
#include "agent/server_connection.h"
#include "cairn/v1/types.pb.h"

namespace cairn {

struct VerifyOptions {
  std::vector<std::string> snapshot_ids;
  uint32_t sample_percent = 100;  // 1..100
  int workers = 0;                // decrypting threads; 0 = one per core
  std::function<void(const v1::JobProgress&)> progress;
};

struct VerifyResult {
  uint64_t snapshots = 0;
  uint64_t chunks_checked = 0;
  uint64_t bytes_checked = 0;           // plaintext
  uint64_t damaged = 0;                 // do not decrypt, or decrypt to other data
  uint64_t missing = 0;                 // the server did not send them
  uint64_t reported = 0;                // damaged chunks the server marked
  std::vector<v1::FileError> problems;  // "chunk <hex>" and why; at most 100
};

// Verifies the snapshots in order. An error when a snapshot cannot be read
// at all (its manifest does not verify, a tree is missing or tampered with);
// damaged and missing chunks are counted in the result, not errors.
absl::StatusOr<VerifyResult> RunVerify(ServerConnection* connection, const AgentCrypto& crypto,
                                       const VerifyOptions& options);

// "3 chunks damaged, 1 missing of 12345 checked; the server marked the
// damaged ones: the next full backup stores them again".
std::string VerifySummary(const VerifyResult& result);

}  // namespace cairn

#endif  // CAIRN_AGENT_SNAPSHOT_VERIFIER_H_
