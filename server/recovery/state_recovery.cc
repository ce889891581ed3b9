#include "server/recovery/state_recovery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/recovery/catalog_backup.h"
#include "server/recovery/state_bundle.h"

namespace cairn {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Empties the staging directory (flat, plus tls/): only names a bundle may
// hold can be in it.
absl::Status ClearStaging(const std::string& staging) {
  for (const std::string& dir : {staging + "/tls", staging}) {
    absl::StatusOr<std::vector<DirFile>> files = ListRegularFiles(dir);
    if (absl::IsNotFound(files.status())) continue;
    if (!files.ok()) return files.status();
    for (const DirFile& f : *files) {
      std::string path = absl::StrCat(dir, "/", f.name);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "remove", path);
    }
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return PosixError(errno, "remove", dir);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecoveryReport> RecoverStateDir(Tier* tier, const SecretKey& key,
                                               const std::string& state_dir) {
  const std::string catalog = state_dir + "/catalog.db";
  // A WAL or journal left beside a moved-away catalog would be replayed over
  // the recovered one: they count as a catalog too.
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    if (Exists(catalog + suffix)) {
      return absl::FailedPreconditionError(absl::StrCat(
          state_dir, " already has a catalog (", catalog, suffix,
          "); recovery never overwrites one: move catalog.db and its -wal, -shm and -journal "
          "files away first"));
    }
  }
  RETURN_IF_ERROR(MakeDirectories(state_dir, 0750));
  ASSIGN_OR_RETURN(std::vector<std::string> names, tier->ListWithPrefix(kBundlePrefix));
  std::vector<std::string> bundles;
  for (std::string& n : names) {
    if (absl::EndsWith(n, kBundleSuffix)) bundles.push_back(std::move(n));
  }
  if (bundles.empty()) {
    return absl::NotFoundError(absl::StrCat("tier ", tier->name(), " holds no catalog bundle (",
                                            kBundlePrefix, "*", kBundleSuffix, ")"));
  }
  std::sort(bundles.rbegin(), bundles.rend());  // newest first
  const std::string staging = state_dir + "/recover.tmp";
  RecoveryReport report;
  for (const std::string& object : bundles) {
    RETURN_IF_ERROR(ClearStaging(staging));
    RETURN_IF_ERROR(MakeDirectories(staging, 0700));
    absl::StatusOr<std::vector<std::string>> files = ReadBundle(tier, object, key, staging);
    if (files.ok() && std::find(files->begin(), files->end(), "catalog.db") == files->end()) {
      files = absl::DataLossError("it holds no catalog.db");
    }
    if (!files.ok()) {
      // Only a bundle that does not open is passed over for an older one; a
      // store that is down or a full disk is no reason to lose the newest.
      const absl::StatusCode code = files.status().code();
      if (code != absl::StatusCode::kDataLoss && code != absl::StatusCode::kInvalidArgument) {
        (void)ClearStaging(staging);
        return absl::Status(code, absl::StrCat("reading ", object, ": ", files.status().message(),
                                               " (nothing recovered; run it again)"));
      }
      report.skipped.push_back(absl::StrCat(object, ": ", files.status().message()));
      continue;
    }
    // The catalog goes last: its presence says the recovery is complete.
    std::stable_partition(files->begin(), files->end(),
                          [](const std::string& f) { return f != "catalog.db"; });
    for (const std::string& f : *files) {
      if (absl::StartsWith(f, "tls/")) RETURN_IF_ERROR(MakeDirectories(state_dir + "/tls", 0700));
      std::string from = absl::StrCat(staging, "/", f);
      std::string to = absl::StrCat(state_dir, "/", f);
      if (::rename(from.c_str(), to.c_str()) != 0) return PosixError(errno, "move into place", to);
    }
    if (Exists(state_dir + "/tls")) RETURN_IF_ERROR(FsyncDirectory(state_dir + "/tls"));
    RETURN_IF_ERROR(FsyncDirectory(state_dir));
    RETURN_IF_ERROR(ClearStaging(staging));
    report.object = object;
    report.files = *std::move(files);
    return report;
  }
  (void)ClearStaging(staging);
  return absl::DataLossError(
      absl::StrCat("no catalog bundle on tier ", tier->name(), " opens: ", report.skipped.front()));
}

}  // namespace cairn
