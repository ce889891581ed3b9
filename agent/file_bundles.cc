#include "agent/file_bundles.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "common/codec.h"
#include "common/data_classifier.h"
#include "common/status_macros.h"

namespace cairn {

bool LooksIncompressible(absl::string_view data) {
  return DataClassifier::Builtin().Classify(data) == DataClass::kCompressed;
}

absl::Status DirectoryBundles::AddSmall(v1::TreeEntry entry, absl::string_view data) {
  queue_.push_back(Queued{std::move(entry), -1, true});
  return Put(queue_.size() - 1, data);
}

absl::Status DirectoryBundles::Replace(size_t index, v1::TreeEntry entry, absl::string_view data) {
  queue_[index] = Queued{std::move(entry), -1, true};
  return Put(index, data);
}

absl::Status DirectoryBundles::Put(size_t index, absl::string_view data) {
  const int which = LooksIncompressible(data) ? 1 : 0;
  OpenBundle& bundle = open_[which];
  if (!bundle.bytes.empty() && (bundle.bytes.size() + data.size() > kBundleTargetBytes ||
                                bundle.members.size() >= kMaxBundleFiles)) {
    RETURN_IF_ERROR(SealOne(which));
  }
  v1::TreeEntry& entry = queue_[index].entry;
  entry.clear_chunks();
  v1::ChunkRef* ref = entry.add_chunks();
  ref->set_offset(0);
  ref->set_size(static_cast<uint32_t>(data.size()));
  ref->set_bundle_offset(static_cast<uint32_t>(bundle.bytes.size()));
  bundle.bytes.append(data.data(), data.size());
  bundle.members.push_back(index);
  queue_[index].open = which;
  return absl::OkStatus();
}

absl::Status DirectoryBundles::SealOne(int which) {
  OpenBundle& bundle = open_[which];
  if (bundle.bytes.empty()) return absl::OkStatus();
  const ChunkId id = crypto_->hasher.Hash(bundle.bytes);
  DataHint hint;
  if (which == 0) {
    hint.kind = DataHint::Class::kText;
    hint.level = kBundleZstdLevel;
  } else {
    hint.kind = DataHint::Class::kCompressed;
  }
  RETURN_IF_ERROR(uploader_->Add(id, bundle.bytes, hint));
  const std::string id_bytes(ChunkIdBytes(id));
  for (size_t index : bundle.members) {
    Queued& queued = queue_[index];
    v1::ChunkRef* ref = queued.entry.mutable_chunks(0);
    ref->set_id(id_bytes);
    ref->set_bundle_size(static_cast<uint32_t>(bundle.bytes.size()));
    queued.open = -1;
  }
  bundle.bytes.clear();
  bundle.members.clear();
  return absl::OkStatus();
}

absl::Status DirectoryBundles::Seal() {
  RETURN_IF_ERROR(SealOne(0));
  return SealOne(1);
}

std::vector<size_t> DirectoryBundles::Sparse() const {
  if (drained_) return {};
  // Bytes of each old bundle the queued unchanged files still use.
  struct Use {
    uint64_t live = 0;
    uint32_t size = 0;
    std::vector<size_t> members;
  };
  absl::flat_hash_map<std::string, Use> uses;
  for (size_t i = 0; i < queue_.size(); ++i) {
    const Queued& q = queue_[i];
    if (q.fresh || q.entry.type() != v1::ENTRY_TYPE_FILE || q.entry.chunks_size() != 1) continue;
    const v1::ChunkRef& ref = q.entry.chunks(0);
    if (ref.bundle_size() == 0) continue;
    Use& use = uses[ref.id()];
    use.live += ref.size();
    use.size = ref.bundle_size();
    use.members.push_back(i);
  }
  std::vector<size_t> sparse;
  for (const auto& [id, use] : uses) {
    if (use.live * 2 < use.size)
      sparse.insert(sparse.end(), use.members.begin(), use.members.end());
  }
  std::sort(sparse.begin(), sparse.end());
  return sparse;
}

absl::Status DirectoryBundles::Drain(const std::function<absl::Status(v1::TreeEntry)>& add) {
  RETURN_IF_ERROR(Seal());
  for (Queued& queued : queue_) RETURN_IF_ERROR(add(std::move(queued.entry)));
  queue_.clear();
  drained_ = true;
  return absl::OkStatus();
}

}  // namespace cairn
