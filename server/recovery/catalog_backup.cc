#include "server/recovery/catalog_backup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/log/log.h"
#include "common/posix_error.h"
#include "common/status_macros.h"
#include "server/recovery/state_bundle.h"

namespace cairn {
namespace {

// The files of the state directory a bundle carries besides the catalog. An
// unreadable tls/ is an error: a bundle without the CA would lock every agent
// out after a recovery.
absl::StatusOr<std::vector<BundleFile>> StateFiles(const std::string& state_dir) {
  std::vector<BundleFile> files;
  if (::access((state_dir + "/admin.credentials").c_str(), R_OK) == 0) {
    files.push_back({"admin.credentials", state_dir + "/admin.credentials"});
  }
  const std::string tls = state_dir + "/tls";
  struct stat st;
  if (::lstat(tls.c_str(), &st) != 0 && errno == ENOENT) return files;  // no TLS state yet
  ASSIGN_OR_RETURN(std::vector<DirFile> entries, ListRegularFiles(tls));
  std::vector<std::string> names;
  for (const DirFile& e : entries) {
    if (ValidateObjectName(e.name).ok()) names.push_back(e.name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) files.push_back({"tls/" + n, tls + "/" + n});
  return files;
}

}  // namespace

std::string BundleObjectName(absl::Time time) {
  return absl::StrFormat("%s%013d%s", kBundlePrefix, absl::ToUnixMillis(time), kBundleSuffix);
}

bool CatalogChanged::TakeOrWait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&changed_), timeout);
  bool was = changed_;
  changed_ = false;
  return was;
}

CatalogBackup::CatalogBackup(Catalog* catalog, const TierSet* tiers, std::string state_dir,
                             SecretKey key, std::shared_ptr<CatalogChanged> changed,
                             CatalogBackupOptions options)
    : catalog_(catalog),
      tiers_(tiers),
      state_dir_(std::move(state_dir)),
      key_(std::move(key)),
      changed_(std::move(changed)),
      options_(std::move(options)),
      mirror_(catalog, tiers, key_.Clone()) {}

CatalogBackup::~CatalogBackup() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  changed_->Mark();  // wakes the thread
  if (thread_.joinable()) thread_.join();
}

void CatalogBackup::Start() {
  thread_ = std::thread([this] { Run(); });
}

void CatalogBackup::Run() {
  while (true) {
    bool changed = changed_->TakeOrWait(absl::Minutes(1));
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      // Batches commits: waits out the interval since the last bundle.
      absl::Time due = state_.last_time + options_.min_interval;
      if (changed && options_.clock() < due) {
        mu_.AwaitWithTimeout(absl::Condition(&stop_), due - options_.clock());
        if (stop_) return;
      }
    }
    if (!changed) continue;
    absl::StatusOr<std::string> written = BackupNow();
    if (written.ok()) {
      log::Info("catalog_bundle.written", {{"object", *written}});
    } else {
      log::Error("catalog_bundle.failed",
                 {{"error", written.status()}, {"retry_in_seconds", options_.min_interval}});
      changed_->Mark();  // try again after the interval
      absl::MutexLock lock(&mu_);
      // Not before the interval: a tier that is down is not hammered.
      state_.last_time = std::max(state_.last_time, options_.clock());
    }
  }
}

void CatalogBackup::MirrorCommit(const v1::Snapshot& snapshot) {
  absl::Status s = mirror_.OnCommit(snapshot);
  if (!s.ok()) log::Error("catalog_mirror.failed", {{"snapshot", snapshot.id()}, {"error", s}});
}

absl::StatusOr<std::string> CatalogBackup::BackupNow() {
  absl::MutexLock run(&run_mu_);
  // The mirror first: before any pack is deleted (this is the deleters'
  // barrier), a deleted snapshot's record must be off the tiers.
  absl::StatusOr<MirrorReport> mirrored = mirror_.Reconcile();
  std::vector<std::string> problems;
  if (mirrored.ok()) {
    for (const std::string& p : mirrored->problems) problems.push_back("metadata mirror: " + p);
    absl::MutexLock lock(&mu_);
    state_.mirror = *mirrored;
  } else {
    problems.push_back(absl::StrCat("metadata mirror: ", mirrored.status().message()));
  }
  // Names sort by time; a clock that stepped back must not make the newest
  // bundle sort first (prune and recovery take the last name as newest).
  if (newest_name_.empty()) {
    for (const std::unique_ptr<Tier>& tier : tiers_->all()) {
      absl::StatusOr<std::vector<std::string>> names = tier->ListWithPrefix(kBundlePrefix);
      if (!names.ok()) continue;
      for (const std::string& n : *names) newest_name_ = std::max(newest_name_, n);
    }
  }
  absl::Time now = options_.clock();
  std::string object = BundleObjectName(now);
  if (object <= newest_name_) {
    int64_t newest_ms = 0;
    absl::string_view digits = newest_name_;
    digits.remove_prefix(sizeof(kBundlePrefix) - 1);
    if (absl::SimpleAtoi(digits.substr(0, 13), &newest_ms)) {
      now = absl::FromUnixMillis(newest_ms + 1);
      object = BundleObjectName(now);
    }
  }
  newest_name_ = std::max(newest_name_, object);
  const std::string copy = absl::StrCat(state_dir_, "/catalog-backup.tmp");
  if (::unlink(copy.c_str()) != 0 && errno != ENOENT) {
    return PosixError(errno, "remove the old catalog copy", copy);
  }
  RETURN_IF_ERROR(catalog_->SnapshotTo(copy));
  std::vector<BundleFile> files = {{"catalog.db", copy}};
  absl::StatusOr<std::vector<BundleFile>> state = StateFiles(state_dir_);
  if (!state.ok()) {
    ::unlink(copy.c_str());
    return state.status();
  }
  for (BundleFile& f : *state) files.push_back(std::move(f));

  int written = 0;
  for (const std::unique_ptr<Tier>& tier : tiers_->all()) {
    absl::Status s = WriteTo(tier.get(), object, files);
    if (s.ok()) s = Prune(tier.get());
    if (s.ok()) {
      ++written;
    } else {
      problems.push_back(absl::StrCat("tier ", tier->name(), ": ", s.message()));
    }
  }
  ::unlink(copy.c_str());
  absl::MutexLock lock(&mu_);
  state_.problems = problems;
  if (written > 0) {
    state_.last_time = now;
    state_.last_object = object;
    ++state_.bundles;
  }
  if (!problems.empty()) {
    return absl::UnavailableError(
        absl::StrCat("catalog backup ", object, " not written to ", absl::StrJoin(problems, "; ")));
  }
  return object;
}

absl::Status CatalogBackup::WriteTo(Tier* tier, const std::string& object,
                                    const std::vector<BundleFile>& files) {
  ASSIGN_OR_RETURN(std::unique_ptr<TierWriter> writer, tier->Create(object));
  RETURN_IF_ERROR(WriteBundle(files, key_, object, writer.get()));
  return writer->Commit();
}

absl::Status CatalogBackup::Prune(Tier* tier) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, tier->ListWithPrefix(kBundlePrefix));
  std::vector<std::string> bundles;
  for (std::string& n : names) {
    if (absl::EndsWith(n, kBundleSuffix)) bundles.push_back(std::move(n));
  }
  std::sort(bundles.begin(), bundles.end());
  const size_t keep = static_cast<size_t>(std::max(1, options_.keep));
  for (size_t i = 0; i + keep < bundles.size(); ++i) {
    absl::Status s = tier->Delete(bundles[i]);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
  }
  return absl::OkStatus();
}

CatalogBackupState CatalogBackup::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

}  // namespace cairn
