#include "common/data_mac.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/sodium_init.h"

namespace cairn {
namespace {

EVP_MAC* Poly1305() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
  return mac;
}

}  // namespace

DataKey DataKey::Random() {
  EnsureSodiumInitialized();
  DataKey key;
  randombytes_buf(key.bytes_, kSize);
  return key;
}

absl::StatusOr<DataKey> DataKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a data session key is ", kSize, " bytes, not ", bytes.size()));
  }
  DataKey key;
  std::memcpy(key.bytes_, bytes.data(), kSize);
  return key;
}

DataKey::~DataKey() { sodium_memzero(bytes_, kSize); }

bool DataKey::Equals(const DataKey& other) const {
  return sodium_memcmp(bytes_, other.bytes_, kSize) == 0;
}

DataMac::DataMac(const DataKey& session_key, DataMessageKind kind, uint64_t call, uint64_t seq) {
  EnsureSodiumInitialized();
  uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = {};
  nonce[0] = static_cast<uint8_t>(kind);
  for (int i = 0; i < 8; ++i) {
    nonce[8 + i] = static_cast<uint8_t>(call >> (8 * i));
    nonce[16 + i] = static_cast<uint8_t>(seq >> (8 * i));
  }
  uint8_t one_time_key[32];
  crypto_stream_xchacha20(one_time_key, sizeof(one_time_key), nonce, session_key.data());
  EVP_MAC_CTX* ctx = Poly1305() != nullptr ? EVP_MAC_CTX_new(Poly1305()) : nullptr;
  failed_ = ctx == nullptr || EVP_MAC_init(ctx, one_time_key, sizeof(one_time_key), nullptr) != 1;
  sodium_memzero(one_time_key, sizeof(one_time_key));
  ctx_ = ctx;
}

DataMac::~DataMac() { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx_)); }

void DataMac::Update(const void* data, size_t size) {
  if (failed_ || size == 0) return;
  failed_ =
      EVP_MAC_update(static_cast<EVP_MAC_CTX*>(ctx_), static_cast<const uint8_t*>(data), size) != 1;
}

void DataMac::Number(uint64_t value) {
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  Update(bytes, sizeof(bytes));
}

void DataMac::Field(absl::string_view bytes) {
  Number(bytes.size());
  Update(bytes.data(), bytes.size());
}

void DataMac::Pieces(const std::vector<absl::string_view>& pieces) {
  uint64_t total = 0;
  for (absl::string_view p : pieces) total += p.size();
  Number(total);
  for (absl::string_view p : pieces) Update(p.data(), p.size());
}

std::string DataMac::Finish() {
  uint8_t tag[kDataMacBytes];
  size_t length = 0;
  if (!failed_) {
    failed_ = EVP_MAC_final(static_cast<EVP_MAC_CTX*>(ctx_), tag, &length, sizeof(tag)) != 1 ||
              length != kDataMacBytes;
  }
  // A tag that cannot be made is one no check accepts.
  if (failed_) return std::string();
  failed_ = true;
  return std::string(reinterpret_cast<const char*>(tag), sizeof(tag));
}

bool DataMacMatches(absl::string_view tag, absl::string_view expected) {
  if (tag.size() != kDataMacBytes || expected.size() != kDataMacBytes) return false;
  return sodium_memcmp(tag.data(), expected.data(), kDataMacBytes) == 0;
}

std::string UploadRequestMac(const DataKey& key, uint64_t call, uint64_t seq,
                             absl::string_view job_id, absl::string_view id, uint32_t size,
                             absl::string_view base_id,
                             const std::vector<absl::string_view>& sealed) {
  DataMac mac(key, DataMessageKind::kUploadRequest, call, seq);
  mac.Field(job_id);
  mac.Field(id);
  mac.Number(size);
  mac.Field(base_id);
  mac.Pieces(sealed);
  return mac.Finish();
}

std::string UploadResponseMac(const DataKey& key, uint64_t call, uint64_t messages,
                              uint64_t chunks_stored, uint64_t chunks_already_present,
                              uint64_t bytes_stored) {
  DataMac mac(key, DataMessageKind::kUploadResponse, call, messages);
  mac.Number(chunks_stored);
  mac.Number(chunks_already_present);
  mac.Number(bytes_stored);
  return mac.Finish();
}

std::string ReadRequestMac(const DataKey& key, uint64_t call,
                           const v1::ReadChunksRequest& request) {
  DataMac mac(key, DataMessageKind::kReadRequest, call, 0);
  mac.Field(request.snapshot_id());
  mac.Number(request.ids_size());
  for (const std::string& id : request.ids()) mac.Field(id);
  mac.Number(request.superseded() ? 1 : 0);
  return mac.Finish();
}

std::string ReadResponseMac(const DataKey& key, uint64_t call, uint64_t seq, absl::string_view id,
                            absl::string_view sealed) {
  DataMac mac(key, DataMessageKind::kReadResponse, call, seq);
  mac.Field(id);
  mac.Field(sealed);
  return mac.Finish();
}

}  // namespace cairn
