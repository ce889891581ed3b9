#include "server/ingest/tree_validator.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "cairn/v1/types.pb.h"
#include "common/limits.h"
#include "common/path_rules.h"
#include "common/status_macros.h"
#include "common/tree_pages.h"

namespace cairn {
namespace {

absl::Status CheckChunkList(const v1::TreeEntry& entry, std::vector<std::string>* ids) {
  uint64_t end = 0;
  for (const v1::ChunkRef& chunk : entry.chunks()) {
    if (chunk.id().size() != kChunkIdBytes || chunk.size() == 0 || chunk.size() > kMaxChunkBytes ||
        chunk.offset() < end) {
      return absl::InvalidArgumentError(
          absl::StrCat("file \"", absl::CHexEscape(entry.name()), "\" has a malformed chunk list"));
    }
    // Compared without adding, so a hostile offset cannot wrap around.
    if (chunk.offset() > entry.size() || chunk.size() > entry.size() - chunk.offset()) {
      return absl::InvalidArgumentError(
          absl::StrCat("file \"", absl::CHexEscape(entry.name()), "\" has chunks past its size"));
    }
    // A bundle slice (agent/file_bundles.h) lies inside its bundle.
    if (chunk.bundle_size() > kMaxChunkBytes ||
        (chunk.bundle_size() == 0 && chunk.bundle_offset() != 0) ||
        (chunk.bundle_size() > 0 && (chunk.size() > chunk.bundle_size() ||
                                     chunk.bundle_offset() > chunk.bundle_size() - chunk.size()))) {
      return absl::InvalidArgumentError(absl::StrCat("file \"", absl::CHexEscape(entry.name()),
                                                     "\" names a slice outside its bundle"));
    }
    end = chunk.offset() + chunk.size();
    ids->push_back(chunk.id());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TreeReferences> CheckTree(absl::string_view data) {
  if (data.size() > kMaxTreeBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("tree is ", data.size(), " bytes; at most ", kMaxTreeBytes));
  }
  v1::Tree tree;
  if (!tree.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::InvalidArgumentError("tree does not parse");
  }
  RETURN_IF_ERROR(CheckNodeShape(tree));
  TreeReferences refs;
  // An index node of a paged directory: its pages are trees it references.
  for (const v1::TreePage& page : tree.pages()) refs.subtree_ids.push_back(page.tree_id());
  const std::string* previous = nullptr;
  for (const v1::TreeEntry& entry : tree.entries()) {
    RETURN_IF_ERROR(ValidateName(entry.name()));
    if (previous != nullptr && !(*previous < entry.name())) {
      return absl::InvalidArgumentError(absl::StrCat("tree entries must be sorted and unique; \"",
                                                     absl::CHexEscape(entry.name()),
                                                     "\" is out of place"));
    }
    previous = &entry.name();
    switch (entry.type()) {
      case v1::ENTRY_TYPE_FILE:
        RETURN_IF_ERROR(CheckChunkList(entry, &refs.chunk_ids));
        break;
      case v1::ENTRY_TYPE_DIRECTORY:
        if (entry.subtree_id().size() != kChunkIdBytes) {
          return absl::InvalidArgumentError(absl::StrCat(
              "directory \"", absl::CHexEscape(entry.name()), "\" has no valid subtree id"));
        }
        refs.subtree_ids.push_back(entry.subtree_id());
        break;
      case v1::ENTRY_TYPE_SYMLINK:
      case v1::ENTRY_TYPE_HARDLINK:
        if (entry.link_target().empty() || entry.link_target().size() > kMaxPathTotalBytes) {
          return absl::InvalidArgumentError(absl::StrCat("link \"", absl::CHexEscape(entry.name()),
                                                         "\" has an empty or over-long target"));
        }
        break;
      case v1::ENTRY_TYPE_FIFO:
      case v1::ENTRY_TYPE_CHAR_DEVICE:
      case v1::ENTRY_TYPE_BLOCK_DEVICE:
      case v1::ENTRY_TYPE_SOCKET:
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("entry \"", absl::CHexEscape(entry.name()), "\" has an unknown type"));
    }
  }
  return refs;
}

}  // namespace cairn
