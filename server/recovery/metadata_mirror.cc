#include "server/recovery/metadata_mirror.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/recovery/tier_metadata.h"

namespace cairn {

std::vector<Tier*> MetadataMirror::Targets() const {
  std::vector<Tier*> targets;
  for (const std::unique_ptr<Tier>& t : tiers_->all()) {
    if (!tiers_->Avoid(t->name())) targets.push_back(t.get());
  }
  return targets;
}

absl::Status MetadataMirror::FlushTrees(const TenantName& tenant, const std::vector<Tier*>& targets,
                                        MirrorReport* report) {
  while (true) {
    ASSIGN_OR_RETURN(std::vector<TreeRow> trees,
                     catalog_->mirror().Unmirrored(tenant.id, kTreePackTargetBytes));
    if (trees.empty()) return absl::OkStatus();
    const std::string object = NewTreePackName();
    size_t written = 0;
    for (Tier* tier : targets) {
      absl::Status s = WriteTreePack(tier, object, tenant.name, trees, key_);
      if (s.ok()) {
        ++written;
        ++report->tree_packs_written;
      } else {
        report->problems.push_back(absl::StrCat("tier ", tier->name(), ": ", s.message()));
      }
    }
    // On no tier: the trees stay unmirrored, for the next attempt.
    if (written == 0) {
      return absl::UnavailableError(absl::StrCat("tree pack ", object, " was written to no tier"));
    }
    std::vector<std::string> ids;
    ids.reserve(trees.size());
    for (TreeRow& t : trees) ids.push_back(std::move(t.id));
    RETURN_IF_ERROR(catalog_->mirror().MarkMirrored(tenant.id, ids, object));
  }
}

absl::StatusOr<std::string> MetadataMirror::SealedRecord(const v1::Snapshot& snapshot) {
  v1::TierSnapshotRecord record;
  *record.mutable_snapshot() = snapshot;
  ASSIGN_OR_RETURN(std::optional<v1::Job> job, catalog_->jobs().Get(snapshot.job_id()));
  if (!job.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("snapshot ", snapshot.id(), ": its job ", snapshot.job_id(), " is gone"));
  }
  *record.mutable_job() = *std::move(job);
  ASSIGN_OR_RETURN(std::string check, catalog_->agents().KeyCheck(snapshot.tenant()));
  record.set_tenant_key_check(std::move(check));
  return EncodeSnapshotRecord(record, SnapshotRecordName(snapshot.id()), key_);
}

absl::Status MetadataMirror::OnCommit(const v1::Snapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  const std::vector<Tier*> targets = Targets();
  MirrorReport report;
  ASSIGN_OR_RETURN(int64_t tenant, catalog_->agents().TenantId(snapshot.tenant()));
  RETURN_IF_ERROR(FlushTrees({tenant, snapshot.tenant()}, targets, &report));
  ASSIGN_OR_RETURN(std::string sealed, SealedRecord(snapshot));
  const std::string object = SnapshotRecordName(snapshot.id());
  for (Tier* tier : targets) {
    absl::Status s = tier->Put(object, sealed);
    if (!s.ok()) report.problems.push_back(absl::StrCat("tier ", tier->name(), ": ", s.message()));
  }
  if (targets.size() < tiers_->all().size()) report.problems.push_back("a tier is down");
  if (!report.problems.empty()) {
    return absl::UnavailableError(
        absl::StrCat("metadata of snapshot ", snapshot.id(),
                     " not on every tier: ", absl::StrJoin(report.problems, "; ")));
  }
  return absl::OkStatus();
}

absl::Status MetadataMirror::ReconcileTier(Tier* tier, const std::vector<std::string>& tree_packs,
                                           const std::vector<std::string>& snapshot_ids,
                                           MirrorReport* report) {
  ASSIGN_OR_RETURN(std::vector<std::string> listed, tier->ListWithPrefix(kTreePackPrefix));
  absl::flat_hash_set<std::string> present;
  for (std::string& name : listed) {
    if (IsTreePackName(name)) present.insert(std::move(name));
  }
  for (const std::string& pack : tree_packs) {
    if (present.erase(pack) > 0) continue;
    ASSIGN_OR_RETURN(auto trees, catalog_->mirror().TreesIn(pack));
    if (trees.second.empty()) continue;  // its trees were deleted meanwhile
    RETURN_IF_ERROR(WriteTreePack(tier, pack, trees.first.name, trees.second, key_));
    ++report->tree_packs_written;
  }
  for (const std::string& unwanted : present) {
    absl::Status s = tier->Delete(unwanted);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    ++report->tree_packs_deleted;
  }

  ASSIGN_OR_RETURN(listed, tier->ListWithPrefix(kSnapshotRecordPrefix));
  absl::flat_hash_set<std::string> recorded;
  for (const std::string& name : listed) {
    std::string id = SnapshotIdOfRecord(name);
    if (!id.empty()) recorded.insert(std::move(id));
  }
  for (const std::string& id : snapshot_ids) {
    if (recorded.erase(id) > 0) continue;
    ASSIGN_OR_RETURN(std::optional<v1::Snapshot> snapshot, catalog_->snapshots().Get(id));
    if (!snapshot.has_value()) continue;  // deleted meanwhile
    ASSIGN_OR_RETURN(std::string sealed, SealedRecord(*snapshot));
    RETURN_IF_ERROR(tier->Put(SnapshotRecordName(id), sealed));
    ++report->records_written;
  }
  for (const std::string& gone : recorded) {
    absl::Status s = tier->Delete(SnapshotRecordName(gone));
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    ++report->records_deleted;
  }
  return absl::OkStatus();
}

absl::StatusOr<MirrorReport> MetadataMirror::Reconcile() {
  absl::MutexLock lock(&mu_);
  MirrorReport report;
  const std::vector<Tier*> targets = Targets();
  for (const std::unique_ptr<Tier>& t : tiers_->all()) {
    if (std::find(targets.begin(), targets.end(), t.get()) == targets.end()) {
      report.problems.push_back(absl::StrCat("tier ", t->name(), ": down, not reconciled"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<TenantName> tenants, catalog_->mirror().TenantsWithUnmirrored());
  for (const TenantName& tenant : tenants) {
    absl::Status s = FlushTrees(tenant, targets, &report);
    if (!s.ok()) report.problems.push_back(std::string(s.message()));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> tree_packs, catalog_->mirror().TreePacks());
  ASSIGN_OR_RETURN(std::vector<std::string> snapshot_ids, catalog_->mirror().SnapshotIds());
  for (Tier* tier : targets) {
    absl::Status s = ReconcileTier(tier, tree_packs, snapshot_ids, &report);
    if (!s.ok()) report.problems.push_back(absl::StrCat("tier ", tier->name(), ": ", s.message()));
  }
  return report;
}

}  // namespace cairn
