#include "tests/agent/tree_manifest_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kBlock = 4096;

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

char TypeChar(mode_t mode) {
  if (S_ISREG(mode)) return 'f';
  if (S_ISDIR(mode)) return 'd';
  if (S_ISLNK(mode)) return 'l';
  if (S_ISFIFO(mode)) return 'p';
  if (S_ISCHR(mode)) return 'c';
  if (S_ISBLK(mode)) return 'b';
  if (S_ISSOCK(mode)) return 's';
  return '?';
}

// Hashes the non-zero kBlock-aligned blocks of the file's data extents with
// their offsets: two files with the same logical bytes get the same digest
// whatever their hole layout, and a 5 GiB sparse file costs only its data.
absl::StatusOr<std::string> DigestFd(int fd, uint64_t size, const std::string& path) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  std::string buffer(1u << 20, '\0');
  const std::string zeros(kBlock, '\0');
  uint64_t pos = 0;
  while (pos < size) {
    off_t data = lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;
      return PosixError(errno, "lseek(SEEK_DATA)", path);
    }
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return PosixError(errno, "lseek(SEEK_HOLE)", path);
    uint64_t start = static_cast<uint64_t>(data) / kBlock * kBlock;
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    while (start < end) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), end - start));
      want = (want + kBlock - 1) / kBlock * kBlock;
      ssize_t n = pread(fd, buffer.data(), want, static_cast<off_t>(start));
      if (n < 0) return PosixError(errno, "pread", path);
      if (n == 0) break;
      for (size_t off = 0; off < static_cast<size_t>(n); off += kBlock) {
        size_t len = std::min<size_t>(kBlock, static_cast<size_t>(n) - off);
        absl::string_view block(buffer.data() + off, len);
        if (block == absl::string_view(zeros).substr(0, len)) continue;
        uint64_t at = start + off;
        EVP_DigestUpdate(sha.get(), &at, sizeof(at));
        EVP_DigestUpdate(sha.get(), block.data(), block.size());
      }
      start += static_cast<uint64_t>(n);
    }
    pos = std::max<uint64_t>(end, pos + 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &digest_size);
  return HexOf(absl::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

absl::Status Walk(int dir_fd, const std::string& rel, TreeManifest* out,
                  std::map<std::pair<dev_t, ino_t>, std::string>* first_names) {
  int dup_fd = dup(dir_fd);
  if (dup_fd < 0) return PosixError(errno, "dup", rel);
  DIR* dir = fdopendir(dup_fd);
  if (dir == nullptr) {
    close(dup_fd);
    return PosixError(errno, "opendir", rel);
  }
  std::vector<std::string> names;
  while (struct dirent* d = readdir(dir)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return PosixError(errno, "stat", path);
    }
    PathInfo info;
    info.type = TypeChar(st.st_mode);
    info.perms = st.st_mode & 07777;
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.mtime_ns = Nanos(st.st_mtim);
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) info.rdev = st.st_rdev;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, inserted] = first_names->try_emplace(std::make_pair(st.st_dev, st.st_ino), path);
      info.link_group = it->second;
    }
    if (S_ISREG(st.st_mode)) {
      info.size = static_cast<uint64_t>(st.st_size);
      int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return PosixError(errno, "open", path);
      UniqueFd file(fd);
      ASSIGN_OR_RETURN(info.digest, DigestFd(fd, info.size, path));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(4097, '\0');
      ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return PosixError(errno, "readlink", path);
      target.resize(static_cast<size_t>(n));
      info.link_target = target;
    }
    (*out)[path] = info;
    if (S_ISDIR(st.st_mode)) {
      int child = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0) return PosixError(errno, "open directory", path);
      UniqueFd child_fd(child);
      RETURN_IF_ERROR(Walk(child, path, out, first_names));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string DescribePathInfo(const PathInfo& info) {
  return absl::StrCat(
      "type=", std::string(1, info.type), " perms=", absl::StrFormat("%04o", info.perms),
      " uid=", info.uid, " gid=", info.gid, " mtime_ns=", info.mtime_ns, " size=", info.size,
      " digest=", info.digest.substr(0, 16), " link=\"", absl::CHexEscape(info.link_target),
      "\" group=\"", absl::CHexEscape(info.link_group), "\" rdev=", info.rdev);
}

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root) {
  int fd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open", root);
  UniqueFd dir(fd);
  TreeManifest manifest;
  std::map<std::pair<dev_t, ino_t>, std::string> first_names;
  RETURN_IF_ERROR(Walk(fd, "", &manifest, &first_names));
  return manifest;
}

TreeManifest SubManifest(const TreeManifest& manifest, const std::string& prefix) {
  if (prefix.empty()) return manifest;
  TreeManifest out;
  for (const auto& [path, info] : manifest) {
    if (path == prefix ||
        (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
         path[prefix.size()] == '/')) {
      out[path] = info;
    }
  }
  return out;
}

std::string DiffManifests(const TreeManifest& want, const TreeManifest& got,
                          bool ignore_dir_mtime) {
  std::string diff;
  for (const auto& [path, info] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      absl::StrAppend(&diff, "missing: \"", absl::CHexEscape(path), "\"\n");
      continue;
    }
    PathInfo a = info;
    PathInfo b = it->second;
    if (ignore_dir_mtime && a.type == 'd' && b.type == 'd') b.mtime_ns = a.mtime_ns;
    if (!(a == b)) {
      absl::StrAppend(&diff, "differs: \"", absl::CHexEscape(path), "\"\n  want ",
                      DescribePathInfo(a), "\n  got  ", DescribePathInfo(b), "\n");
    }
  }
  for (const auto& [path, info] : got) {
    if (want.find(path) == want.end()) {
      absl::StrAppend(&diff, "unexpected: \"", absl::CHexEscape(path), "\" ",
                      DescribePathInfo(info), "\n");
    }
  }
  return diff;
}

absl::StatusOr<std::string> ContentDigest(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY | O_NOFOLLOW));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return PosixError(errno, "fstat", path);
  return DigestFd(fd.get(), static_cast<uint64_t>(st.st_size), path);
}

}  // namespace cairn
