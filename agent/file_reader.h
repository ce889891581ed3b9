// Reads one regular file for a backup: its data extents (holes are skipped,
// so sparse files stay sparse), cut into chunks, each hashed and handed to the
// uploader with a codec hint from the file's kind (agent/file_probe.h). A
// tensor file (safetensors, .npy) is cut at tensor boundaries, so a tensor
// that did not change keeps its chunk ids whatever changed around it. If the file changes while it
// is read (size, mtime or ctime moves) it is read again, up to kMaxFileReads times, else reported
// as changing.
#ifndef CAIRN_AGENT_FILE_READER_H_
#define CAIRN_AGENT_FILE_READER_H_

#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/agent_config.h"
#include "agent/chunk_uploader.h"
#include "agent/file_probe.h"
#include "cairn/v1/types.pb.h"
#include "common/chunker.h"

namespace cairn {

inline constexpr int kMaxFileReads = 3;

struct FileContent {
  std::vector<v1::ChunkRef> chunks;
  FileProbe probe;  // what the file is, as of the read that was kept
  struct stat st;   // as of the read that was kept
  uint64_t bytes_read = 0;
  int reads = 0;  // 1 unless the file changed while being read
};

// `fd` is open for reading. `path` is for messages only. `disk_path`, the
// file's absolute path, finds the previous checkpoint's copy for deltas
// (agent/delta_base.h); empty: no deltas. `chunker` is reused
// across files (Reset per extent): a fresh one pays page faults on its buffer.
absl::StatusOr<FileContent> ReadFileChunks(int fd, const std::string& path,
                                           const AgentCrypto& crypto, Chunker* chunker,
                                           ChunkUploader* uploader,
                                           const std::string& disk_path = "");

// A small file read whole, for a bundle (agent/file_bundles.h).
struct SmallFileContent {
  std::string data;
  FileProbe probe;  // its kind, sniffed from `data` (no layout, no class)
  struct stat st;   // as of the read that was kept
  int reads = 0;
};

// Reads the file open as `fd` whole, with the same retries as
// ReadFileChunks. OutOfRange when it has grown past `max_bytes` (take the
// chunked path instead).
absl::StatusOr<SmallFileContent> ReadSmallFile(int fd, const std::string& path, uint64_t max_bytes);

}  // namespace cairn

#endif  // CAIRN_AGENT_FILE_READER_H_
