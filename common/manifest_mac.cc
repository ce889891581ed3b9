#include "common/manifest_mac.h"

#include <sodium.h>

#include <cstring>

#include "common/le_coding.h"
#include "common/sodium_init.h"

namespace cairn {
namespace {

constexpr absl::string_view kDomain = "cairn snapshot manifest v1";

void AppendField(std::string* out, absl::string_view field) {
  AppendLe64(field.size(), out);
  out->append(field.data(), field.size());
}

}  // namespace

ManifestKey::ManifestKey(const SecretKey& meta_key) {
  EnsureSodiumInitialized();
  std::memcpy(key_.data(), meta_key.data(), key_.size());
}

std::string ManifestKey::Mac(const SnapshotManifest& m) const {
  std::string message;
  for (absl::string_view field :
       {kDomain, m.tenant, m.agent, m.root, m.root_tree_id, m.snapshot_id}) {
    AppendField(&message, field);
  }
  std::string mac(kManifestMacBytes, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(mac.data()), mac.size(),
                     reinterpret_cast<const uint8_t*>(message.data()), message.size(), key_.data(),
                     key_.size());
  return mac;
}

absl::Status ManifestKey::Verify(const SnapshotManifest& manifest, absl::string_view mac) const {
  if (mac.empty()) {
    return absl::DataLossError(
        "the snapshot carries no manifest MAC (committed by an agent older than manifest "
        "signing): it cannot be checked, so it is not trusted");
  }
  const std::string expected = Mac(manifest);
  if (mac.size() != expected.size() ||
      sodium_memcmp(mac.data(), expected.data(), expected.size()) != 0) {
    return absl::DataLossError(
        "the snapshot's manifest does not verify under this tenant's key: the server's copy "
        "was tampered with, or this is another tenant's key. Nothing was written");
  }
  return absl::OkStatus();
}

}  // namespace cairn
