// Writes state bundles (state_bundle.h) of the catalog to every tier, so that
// losing the server's disk loses at most the last few minutes of catalog.
// A commit marks the catalog changed; a background thread then writes a
// bundle once at least `min_interval` has passed since the last one (a batch
// of commits costs one bundle). Each tier keeps the newest `keep` bundles.
// It also runs the metadata mirror (metadata_mirror.h): each commit's trees
// and snapshot record go to the tiers at once (MirrorCommit), and every
// bundle is preceded by a reconcile, so the tiers hold every snapshot even
// between bundles.
//
//   auto changed = std::make_shared<CatalogChanged>();
//   core_options.on_commit = [changed] { changed->Mark(); };
//   CatalogBackup backup(catalog, tiers, state_dir, std::move(key), changed, {});
//   backup.Start();
#ifndef CAIRN_SERVER_RECOVERY_CATALOG_BACKUP_H_
#define CAIRN_SERVER_RECOVERY_CATALOG_BACKUP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/secret_key.h"
#include "server/catalog/catalog.h"
#include "server/recovery/metadata_mirror.h"
#include "server/tiers/tier_set.h"

namespace cairn {

// Bundles are named "catalog-<13-digit Unix ms>.cbk": sorting names sorts
// them by time.
inline constexpr char kBundlePrefix[] = "catalog-";
inline constexpr char kBundleSuffix[] = ".cbk";
std::string BundleObjectName(absl::Time time);

// Set by whoever changes the catalog; read (and cleared) by the backup.
class CatalogChanged {
 public:
  void Mark() {
    absl::MutexLock lock(&mu_);
    changed_ = true;
  }
  // Waits up to `timeout` for a mark; returns and clears it.
  bool TakeOrWait(absl::Duration timeout);

 private:
  absl::Mutex mu_;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
};

struct CatalogBackupOptions {
  absl::Duration min_interval = absl::Minutes(5);
  int keep = 3;
  std::function<absl::Time()> clock = absl::Now;
};

struct CatalogBackupState {
  absl::Time last_time = absl::InfinitePast();  // of the last bundle written anywhere
  std::string last_object;
  uint64_t bundles = 0;               // written since start (counting each tier once)
  std::vector<std::string> problems;  // of the last attempt, per tier
  MirrorReport mirror;                // of the last reconcile
};

class CatalogBackup final {
 public:
  CatalogBackup(Catalog* catalog, const TierSet* tiers, std::string state_dir, SecretKey key,
                std::shared_ptr<CatalogChanged> changed, CatalogBackupOptions options);
  ~CatalogBackup();  // stops the thread
  CatalogBackup(const CatalogBackup&) = delete;
  CatalogBackup& operator=(const CatalogBackup&) = delete;

  void Start();
  // Reconciles the metadata mirror and writes a bundle to every tier now;
  // returns the bundle's object name. A tier that fails is named in the
  // error, and the others still get the bundle.
  absl::StatusOr<std::string> BackupNow();
  // Writes a committed snapshot's new trees and its record to the tiers;
  // a failure is logged and left to the next reconcile (the snapshot is
  // durable in the catalog already).
  void MirrorCommit(const v1::Snapshot& snapshot);
  CatalogBackupState state() const;

 private:
  void Run();
  absl::Status WriteTo(Tier* tier, const std::string& object,
                       const std::vector<struct BundleFile>& files);
  absl::Status Prune(Tier* tier);

  Catalog* const catalog_;
  const TierSet* const tiers_;
  const std::string state_dir_;
  const SecretKey key_;
  const std::shared_ptr<CatalogChanged> changed_;
  const CatalogBackupOptions options_;
  MetadataMirror mirror_;
  absl::Mutex run_mu_;                                // one backup at a time
  std::string newest_name_ ABSL_GUARDED_BY(run_mu_);  // the newest bundle name seen
  mutable absl::Mutex mu_;
  CatalogBackupState state_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace cairn

#endif  // CAIRN_SERVER_RECOVERY_CATALOG_BACKUP_H_
