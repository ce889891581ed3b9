// Message tags of the data channel (docs/security.md, "The data channel"):
// the plaintext port that carries sealed chunk bytes, authenticated but not
// encrypted a second time. Each message of a data call carries a 16-byte
// Poly1305 tag under a one-time key: the first 32 bytes of the XChaCha20
// keystream of the session key, with the message kind, the call number and
// the message's sequence number in the call as the nonce. A tag therefore
// binds the message to its session, its call, its place in the call and its
// direction: nothing can be altered, replayed, reordered, dropped from the
// middle or moved to another call without failing. The session key never
// crosses the data port (the agent gets it over TLS).
//
// A tag covers a message's fields in a fixed order, each as its length
// (8 bytes, little-endian) and its bytes, so no two field lists share an
// encoding.
//
//   DataMac mac(key, DataMessageKind::kUploadRequest, call, seq);
//   mac.Field(job_id); mac.Field(id); mac.Number(size); mac.Field(base_id);
//   mac.Pieces(sealed_pieces);
//   request.set_mac(mac.Finish());
#ifndef CAIRN_COMMON_DATA_MAC_H_
#define CAIRN_COMMON_DATA_MAC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/v1/agent.pb.h"

namespace cairn {

enum class DataMessageKind : uint8_t {
  kUploadRequest = 1,   // UploadChunkRequest, agent to server
  kUploadResponse = 2,  // UploadChunksResponse, server to agent
  kReadRequest = 3,     // ReadChunksRequest, agent to server (seq 0)
  kReadResponse = 4,    // ReadChunkResponse, server to agent
};

inline constexpr size_t kDataMacBytes = 16;
// Session ids: random, not secret (they cross the data port in metadata).
inline constexpr size_t kDataSessionIdBytes = 16;

// The gRPC metadata of a data call: the session (hex) and the call number
// (decimal, unique within the session, from 1).
inline constexpr char kDataSessionMetadata[] = "cairn-data-session";
inline constexpr char kDataCallMetadata[] = "cairn-data-call";

// A data session's key. 32 bytes in ordinary memory, wiped when freed: a
// server holds one per session, thousands at once, too many for
// sodium_malloc's guarded pages (a few memory mappings each; SecretKey).
class DataKey final {
 public:
  static constexpr size_t kSize = 32;
  static DataKey Random();
  // InvalidArgument unless `bytes` is exactly kSize long.
  static absl::StatusOr<DataKey> FromBytes(absl::string_view bytes);
  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey();

  const uint8_t* data() const { return bytes_; }
  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_), kSize);
  }
  bool Equals(const DataKey& other) const;

 private:
  DataKey() = default;
  uint8_t bytes_[kSize] = {};
};

class DataMac final {
 public:
  DataMac(const DataKey& session_key, DataMessageKind kind, uint64_t call, uint64_t seq);
  ~DataMac();
  DataMac(const DataMac&) = delete;
  DataMac& operator=(const DataMac&) = delete;

  void Field(absl::string_view bytes);
  // One field given as pieces (a payload still in gRPC's slices).
  void Pieces(const std::vector<absl::string_view>& pieces);
  void Number(uint64_t value);
  // Bytes as they are, no length before them: a field fed in pieces after
  // Number(its total length), as Pieces() does.
  void Bytes(absl::string_view bytes) { Update(bytes.data(), bytes.size()); }
  // The 16-byte tag; the object is spent.
  std::string Finish();

 private:
  void Update(const void* data, size_t size);

  void* ctx_ = nullptr;  // EVP_MAC_CTX
  bool failed_ = false;
};

// Constant-time: whether `tag` is `expected` (both kDataMacBytes long).
bool DataMacMatches(absl::string_view tag, absl::string_view expected);

// The tag of an UploadChunkRequest (without its mac field).
std::string UploadRequestMac(const DataKey& key, uint64_t call, uint64_t seq,
                             absl::string_view job_id, absl::string_view id, uint32_t size,
                             absl::string_view base_id,
                             const std::vector<absl::string_view>& sealed);
// The tag of the UploadChunksResponse that ends a call whose agent sent
// `messages` requests: the agent learns the server took all of them.
std::string UploadResponseMac(const DataKey& key, uint64_t call, uint64_t messages,
                              uint64_t chunks_stored, uint64_t chunks_already_present,
                              uint64_t bytes_stored);

// The tag of a ReadChunksRequest (the one message of its call: seq 0).
// Covers every field but `mac`.
std::string ReadRequestMac(const DataKey& key, uint64_t call, const v1::ReadChunksRequest& request);
// The tag of the `seq`th ReadChunkResponse of a call.
std::string ReadResponseMac(const DataKey& key, uint64_t call, uint64_t seq, absl::string_view id,
                            absl::string_view sealed);

}  // namespace cairn

#endif  // CAIRN_COMMON_DATA_MAC_H_
