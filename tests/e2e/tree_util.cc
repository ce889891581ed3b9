#include "tests/e2e/tree_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"
#include "common/posix_error.h"
#include "common/status_macros.h"

namespace cairn::e2e {
namespace {

// splitmix64: fast, deterministic, good enough to defeat compression and dedup.
class ByteStream final {
 public:
  explicit ByteStream(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  void Fill(char* out, size_t n, bool compressible) {
    static constexpr absl::string_view kWords[] = {"epoch ",       "loss=0.",    "step ", "lr ",
                                                   "checkpoint\n", "grad_norm ", "42 ",   "ok "};
    size_t i = 0;
    if (compressible) {
      while (i < n) {
        absl::string_view w = kWords[Next() % 8];
        size_t take = std::min(w.size(), n - i);
        std::memcpy(out + i, w.data(), take);
        i += take;
      }
      return;
    }
    for (; i + 8 <= n; i += 8) {
      uint64_t v = Next();
      std::memcpy(out + i, &v, 8);
    }
    uint64_t v = Next();
    std::memcpy(out + i, &v, n - i);
  }

 private:
  uint64_t state_;
};

std::string Printable(absl::string_view path) { return absl::CHexEscape(path); }

absl::StatusOr<std::string> FileDigest(const std::string& path) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  absl::Cleanup free_ctx = [ctx] { EVP_MD_CTX_free(ctx); };
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buffer(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PosixError(errno, "read", path);
    if (n == 0) break;
    EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(n));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

struct InodeKey {
  dev_t dev;
  ino_t ino;
  bool operator<(const InodeKey& o) const { return std::tie(dev, ino) < std::tie(o.dev, o.ino); }
};

absl::Status CaptureDir(const std::string& root, const std::string& rel, TreeManifest* tree,
                        std::map<InodeKey, std::vector<std::string>>* inodes) {
  std::string dir = rel.empty() ? root : absl::StrCat(root, "/", rel);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return PosixError(errno, "opendir", dir);
  absl::Cleanup close_dir = [d] { ::closedir(d); };
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string child_rel = rel.empty() ? name : absl::StrCat(rel, "/", name);
    std::string path = absl::StrCat(root, "/", child_rel);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return PosixError(errno, "lstat", path);
    EntryRecord r;
    r.mode = st.st_mode & 07777;
    r.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) {
      r.type = 'f';
      r.size = static_cast<uint64_t>(st.st_size);
      ASSIGN_OR_RETURN(r.digest, FileDigest(path));
      if (st.st_nlink > 1) (*inodes)[InodeKey{st.st_dev, st.st_ino}].push_back(child_rel);
    } else if (S_ISDIR(st.st_mode)) {
      r.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      r.type = 'l';
      std::string target(4096, '\0');
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return PosixError(errno, "readlink", path);
      target.resize(static_cast<size_t>(n));
      r.link_target = std::move(target);
    } else {
      r.type = 'o';
    }
    (*tree)[child_rel] = r;
    if (r.type == 'd') RETURN_IF_ERROR(CaptureDir(root, child_rel, tree, inodes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteRandomFile(const std::string& path, uint64_t size, uint64_t seed, mode_t mode,
                             bool compressible) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  ByteStream bytes(seed);
  std::string block;
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(size - done, 1 << 20));
    block.resize(n);
    bytes.Fill(block.data(), n, compressible);
    RETURN_IF_ERROR(WriteFully(fd.get(), block, path));
    done += n;
  }
  if (::fchmod(fd.get(), mode) != 0) return PosixError(errno, "fchmod", path);
  return fd.Close(path);
}

absl::Status OverwriteRange(const std::string& path, uint64_t offset, uint64_t length,
                            uint64_t seed) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY));
  std::string block(static_cast<size_t>(length), '\0');
  ByteStream(seed).Fill(block.data(), block.size(), false);
  if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
    return PosixError(errno, "lseek", path);
  }
  RETURN_IF_ERROR(WriteFully(fd.get(), block, path));
  return fd.Close(path);
}

absl::Status SetMtime(const std::string& path, int64_t unix_seconds, int64_t nanos) {
  struct timespec times[2];
  times[0].tv_sec = unix_seconds;
  times[0].tv_nsec = nanos;
  times[1] = times[0];
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return PosixError(errno, "utimensat", path);
  }
  return absl::OkStatus();
}

absl::Status BuildSampleTree(const std::string& root, uint64_t seed, uint64_t large_bytes) {
  auto at = [&root](absl::string_view rel) { return absl::StrCat(root, "/", rel); };
  auto symlink = [&](absl::string_view target, absl::string_view rel) -> absl::Status {
    std::string t(target);
    if (::symlink(t.c_str(), at(rel).c_str()) != 0) return PosixError(errno, "symlink", at(rel));
    return absl::OkStatus();
  };
  auto hardlink = [&](absl::string_view existing, absl::string_view rel) -> absl::Status {
    if (::link(at(existing).c_str(), at(rel).c_str()) != 0) {
      return PosixError(errno, "link", at(rel));
    }
    return absl::OkStatus();
  };
  ByteStream pick(seed ^ 0x5eed);
  uint64_t s = seed * 1000;
  RETURN_IF_ERROR(MakeDirectories(root, 0755));
  for (const char* dir :
       {"a/b/c/d/e", "empty_dir", "dir with space", "private", "hl", "many", "odd"}) {
    RETURN_IF_ERROR(MakeDirectories(at(dir), 0755));
  }
  // Sizes on and around the edges a chunker or reader might get wrong.
  const std::pair<const char*, uint64_t> sized[] = {
      {"empty", 0},
      {"one", 1},
      {"b4095", 4095},
      {"b4096", 4096},
      {"b4097", 4097},
      {"b65536", 65536},
      {"mib_plus_7", 1048583},
      {"a/b/c/d/e/deep.txt", 777},
      {"dir with space/file name.txt", 1234},
  };
  for (const auto& [rel, size] : sized) RETURN_IF_ERROR(WriteRandomFile(at(rel), size, ++s));
  if (large_bytes > 0) RETURN_IF_ERROR(WriteRandomFile(at("large.bin"), large_bytes, ++s));
  RETURN_IF_ERROR(WriteRandomFile(at("log.txt"), 300000, ++s, 0644, /*compressible=*/true));
  for (int i = 0; i < 120; ++i) {
    RETURN_IF_ERROR(WriteRandomFile(at(absl::StrFormat("many/f%03d", i)), pick.Next() % 9000, ++s));
  }
  // Modes.
  RETURN_IF_ERROR(WriteRandomFile(at("ro.txt"), 100, ++s, 0400));
  RETURN_IF_ERROR(WriteRandomFile(at("exec.sh"), 200, ++s, 0755));
  RETURN_IF_ERROR(WriteRandomFile(at("group.txt"), 300, ++s, 0640));
  RETURN_IF_ERROR(WriteRandomFile(at("private/secret"), 400, ++s, 0600));
  // Symlinks: relative, upward, absolute, dangling, to a directory.
  RETURN_IF_ERROR(symlink("one", "link_rel"));
  RETURN_IF_ERROR(symlink("../../one", "a/b/link_up"));
  RETURN_IF_ERROR(symlink("/etc/hostname", "link_abs"));
  RETURN_IF_ERROR(symlink("no/such/file", "dangling"));
  RETURN_IF_ERROR(symlink("a/b", "link_dir"));
  // Hardlinks, one of them across directories.
  RETURN_IF_ERROR(WriteRandomFile(at("hl/orig"), 100000, ++s));
  RETURN_IF_ERROR(hardlink("hl/orig", "hl/second"));
  RETURN_IF_ERROR(hardlink("hl/orig", "a/b/third_link"));
  // Names that break quoting, encodings and length assumptions.
  const std::string odd_names[] = {
      "\xc3\xbc"
      "n\xc3\xaf"
      "c\xc3\xb6"
      "d\xc3\xa9.txt",  // üïcödé.txt
      "new\nline",
      "tab\tname",
      "-leading-dash",
      "quote'\"both",
      "*?[glob]",
      ".hidden",
      "..dots",
      "back\\slash",
      "%s%n",
      "\xff\xfe-not-utf8",
      std::string(255, 'n'),
  };
  for (const std::string& name : odd_names) {
    RETURN_IF_ERROR(WriteRandomFile(at(absl::StrCat("odd/", name)), pick.Next() % 3000, ++s));
  }
  // Times: old, with nanoseconds; set last so creating children does not move them.
  RETURN_IF_ERROR(WriteRandomFile(at("old.txt"), 50, ++s));
  RETURN_IF_ERROR(SetMtime(at("old.txt"), 1000000000, 123456789));
  RETURN_IF_ERROR(SetMtime(at("link_rel"), 1100000000, 5));
  RETURN_IF_ERROR(SetMtime(at("empty_dir"), 1200000000, 999999999));
  RETURN_IF_ERROR(SetMtime(at("a/b/c"), 1300000000, 1));
  if (::chmod(at("private").c_str(), 0700) != 0) return PosixError(errno, "chmod", at("private"));
  return absl::OkStatus();
}

absl::StatusOr<TreeManifest> CaptureTree(const std::string& root) {
  TreeManifest tree;
  std::map<InodeKey, std::vector<std::string>> inodes;
  RETURN_IF_ERROR(CaptureDir(root, "", &tree, &inodes));
  for (auto& [key, paths] : inodes) {
    if (paths.size() < 2) continue;
    std::string first = *std::min_element(paths.begin(), paths.end());
    for (const std::string& p : paths) tree[p].hardlink_group = first;
  }
  return tree;
}

std::vector<std::string> CompareTrees(const TreeManifest& expected, const TreeManifest& actual,
                                      const CompareOptions& options) {
  std::vector<std::string> out;
  for (const auto& [path, want] : expected) {
    auto it = actual.find(path);
    std::string p = Printable(path);
    if (it == actual.end()) {
      out.push_back(absl::StrCat("missing: ", p));
      continue;
    }
    const EntryRecord& got = it->second;
    if (got.type != want.type) {
      out.push_back(absl::StrCat(p, ": type ", std::string(1, got.type), ", want ",
                                 std::string(1, want.type)));
      continue;
    }
    if (got.type != 'l' && got.mode != want.mode) {
      out.push_back(absl::StrFormat("%s: mode %04o, want %04o", p, got.mode, want.mode));
    }
    if (got.size != want.size) {
      out.push_back(absl::StrCat(p, ": size ", got.size, ", want ", want.size));
    } else if (got.digest != want.digest) {
      out.push_back(absl::StrCat(p, ": content differs"));
    }
    if (got.link_target != want.link_target) {
      out.push_back(absl::StrCat(p, ": link target \"", Printable(got.link_target), "\", want \"",
                                 Printable(want.link_target), "\""));
    }
    if (got.hardlink_group != want.hardlink_group) {
      out.push_back(absl::StrCat(p, ": hardlinked with \"", Printable(got.hardlink_group),
                                 "\", want \"", Printable(want.hardlink_group), "\""));
    }
    bool check_mtime = options.mtimes && (got.type != 'd' || options.directory_mtimes);
    if (check_mtime && got.mtime_ns != want.mtime_ns) {
      out.push_back(absl::StrCat(p, ": mtime ", got.mtime_ns, " ns, want ", want.mtime_ns));
    }
  }
  for (const auto& [path, got] : actual) {
    if (!expected.contains(path)) out.push_back(absl::StrCat("unexpected: ", Printable(path)));
  }
  return out;
}

std::vector<std::string> CompareDirectories(const std::string& expected_root,
                                            const std::string& actual_root,
                                            const CompareOptions& options) {
  absl::StatusOr<TreeManifest> expected = CaptureTree(expected_root);
  if (!expected.ok())
    return {absl::StrCat("reading expected tree: ", expected.status().ToString())};
  absl::StatusOr<TreeManifest> actual = CaptureTree(actual_root);
  if (!actual.ok()) return {absl::StrCat("reading actual tree: ", actual.status().ToString())};
  return CompareTrees(*expected, *actual, options);
}

std::string FormatDifferences(const std::vector<std::string>& differences, size_t max) {
  std::vector<std::string> shown(differences.begin(),
                                 differences.begin() + std::min(max, differences.size()));
  std::string text =
      absl::StrCat(differences.size(), " differences:\n  ", absl::StrJoin(shown, "\n  "));
  if (differences.size() > max) absl::StrAppend(&text, "\n  ...");
  return text;
}

uint64_t TotalFileBytes(const TreeManifest& tree) {
  uint64_t total = 0;
  for (const auto& [path, r] : tree) {
    if (r.type != 'f') continue;
    if (!r.hardlink_group.empty() && r.hardlink_group != path) continue;
    total += r.size;
  }
  return total;
}

}  // namespace cairn::e2e
