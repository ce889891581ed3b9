#include "tests/server/maintenance/gc_test_util.h"

#include <limits>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "server/ingest/chunk_reader.h"
#include "server/maintenance/pack_verifier.h"

namespace cairn {

using ::testing::IsEmpty;

absl::StatusOr<std::unique_ptr<GcRepo>> OpenGcRepo(const std::string& dir, const TestClock& clock) {
  auto gc = std::make_unique<GcRepo>();
  CoreOptions options;
  options.pack_target_bytes = 1 << 20;
  options.clock = clock.fn();
  FaultInjectionTier* faulty = nullptr;
  ASSIGN_OR_RETURN(gc->repo, OpenTestRepoIn(dir, options, [&](std::unique_ptr<Tier> local) {
                     std::unique_ptr<FaultInjectionTier> wrapped = WrapWithFaults(std::move(local));
                     faulty = wrapped.get();
                     return std::unique_ptr<Tier>(std::move(wrapped));
                   }));
  gc->catalog = gc->repo->catalog;
  gc->agent = gc->repo->agent.get();
  gc->tier = faulty;
  return gc;
}

// A chunk's sealed bytes, read as a restore reads them.
absl::StatusOr<std::string> ReadSealed(GcRepo& repo, int64_t tenant, const std::string& id) {
  std::string out;
  ChunkReader reader(&repo.catalog->chunks(), &repo.core().tiers());
  std::vector<std::string> ids{id};
  RETURN_IF_ERROR(reader.Read(tenant, ids, [&](absl::string_view, absl::string_view sealed) {
    out = std::string(sealed);
    return absl::OkStatus();
  }));
  return out;
}

// A collection on `repo` with `options` (packs of 1 MiB, as the repo writes).
absl::StatusOr<GcReport> Collect(GcRepo& repo, GcOptions options) {
  options.pack_target_bytes = 1 << 20;
  return repo.core().maintenance().CollectGarbage(Caller::Internal(), options);
}

// What the agent would have sealed for `id`: 200 bytes, different per id.
std::string Sealed(absl::string_view id) {
  uint64_t seed = 0;
  for (size_t i = 0; i < 8 && i < id.size(); ++i) seed = seed << 8 | static_cast<uint8_t>(id[i]);
  return TestSealed(seed, 200);
}

std::string Id(int n) { return TestChunkId(n, 7); }
std::vector<std::string> Ids(int from, int to) {  // [from, to)
  std::vector<std::string> ids;
  for (int i = from; i < to; ++i) ids.push_back(Id(i));
  return ids;
}

// One upload stream: the chunks land in one new pack.
absl::Status Upload(GcRepo& repo, absl::string_view job, const std::vector<std::string>& ids) {
  ASSIGN_OR_RETURN(std::unique_ptr<PackIngest> ingest, repo.agent->StartUpload(job));
  for (const std::string& id : ids) RETURN_IF_ERROR(ingest->Add(id, 300, Sealed(id)));
  return ingest->Finish();
}

absl::StatusOr<std::vector<uint32_t>> Missing(GcRepo& repo, absl::string_view job,
                                              const std::vector<std::string>& ids) {
  v1::FindMissingChunksRequest request;
  request.set_job_id(std::string(job));
  for (const std::string& id : ids) request.add_ids(id);
  ASSIGN_OR_RETURN(v1::FindMissingChunksResponse response, repo.agent->FindMissingChunks(request));
  return std::vector<uint32_t>(response.missing().begin(), response.missing().end());
}

// The two trees of a snapshot: root -> "d" -> files. Returns {sub, root}.
std::vector<std::string> TreesFor(const Files& files) {
  std::vector<v1::TreeEntry> entries;
  for (size_t i = 0; i < files.size(); ++i) {
    entries.push_back(FileEntry(absl::StrCat("f", i), files[i], 300));
  }
  std::string sub = TreeBytes(entries);
  std::string root = TreeBytes({DirEntry("d", Sha256Of(sub))});
  return {sub, root};
}

// The rest of a backup once its chunks are stored: trees, then commit.
absl::StatusOr<v1::Snapshot> Finish(GcRepo& repo, absl::string_view job, const Files& files) {
  std::vector<std::string> trees = TreesFor(files);
  RETURN_IF_ERROR(PutTrees(*repo.agent, job, trees));
  return Commit(*repo.agent, job, Sha256Of(trees[1]));
}

// A whole backup: each group of ids not yet stored goes up in its own stream
// (its own pack).
absl::StatusOr<v1::Snapshot> Backup(GcRepo& repo, const Files& files,
                                    const std::vector<std::vector<std::string>>& groups,
                                    absl::string_view root) {
  ASSIGN_OR_RETURN(std::string job,
                   StartBackup(*repo.agent, "gpu-1", kTenant, root, v1::BACKUP_LEVEL_FULL));
  for (const std::vector<std::string>& group : groups) {
    ASSIGN_OR_RETURN(std::vector<uint32_t> missing, Missing(repo, job, group));
    std::vector<std::string> upload;
    for (uint32_t i : missing) upload.push_back(group[i]);
    if (!upload.empty()) RETURN_IF_ERROR(Upload(repo, job, upload));
  }
  return Finish(repo, job, files);
}

absl::Status Forget(GcRepo& repo, const v1::Snapshot& snapshot) {
  return repo.catalog->snapshots().Delete({{snapshot.id(), "expired by the test"}});
}

int64_t TenantOf(GcRepo& repo) { return *repo.catalog->agents().TenantId(kTenant); }

bool Stored(GcRepo& repo, absl::string_view id) {
  std::vector<std::string> ids{std::string(id)};
  absl::StatusOr<std::vector<uint32_t>> missing =
      repo.catalog->chunks().FindMissing(TenantOf(repo), ids);
  return missing.ok() && missing->empty();
}

std::set<std::string> TierObjects(GcRepo& repo) {
  absl::StatusOr<std::vector<std::string>> names = repo.tier->List();
  EXPECT_TRUE(names.ok()) << names.status();
  return names.ok() ? std::set<std::string>(names->begin(), names->end()) : std::set<std::string>();
}

std::set<std::string> CatalogPacks(GcRepo& repo) {
  std::set<std::string> names;
  absl::StatusOr<std::vector<PackRecord>> packs = repo.catalog->chunks().ListPacks();
  EXPECT_TRUE(packs.ok()) << packs.status();
  if (packs.ok()) {
    for (const PackRecord& p : *packs) names.insert(p.name);
  }
  return names;
}

// Every chunk of every snapshot: located, its blob read and checked against
// its pack's index, and ReadChunk returns the sealed bytes uploaded.
void ExpectAllSnapshotsReadable(GcRepo& repo) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, repo.catalog->IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> snapshots,
                       repo.catalog->snapshots().List("", std::numeric_limits<uint32_t>::max()));
  for (const v1::Snapshot& s : snapshots) {
    ASSERT_OK_AND_ASSIGN(int64_t tenant, repo.catalog->agents().TenantId(s.tenant()));
    std::vector<std::string> pending{s.root_tree_id()};
    while (!pending.empty()) {
      std::string id = pending.back();
      pending.pop_back();
      ASSERT_OK_AND_ASSIGN(std::optional<std::string> data, repo.catalog->trees().Get(tenant, id));
      ASSERT_TRUE(data.has_value()) << "snapshot " << s.id() << " lost a tree";
      v1::Tree tree;
      ASSERT_TRUE(tree.ParseFromString(*data));
      for (const v1::TreePage& page : tree.pages()) pending.push_back(page.tree_id());
      for (const v1::TreeEntry& e : tree.entries()) {
        if (e.type() == v1::ENTRY_TYPE_DIRECTORY) pending.push_back(e.subtree_id());
        for (const v1::ChunkRef& c : e.chunks()) {
          ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> loc,
                               repo.catalog->chunks().Locate(tenant, c.id()));
          ASSERT_TRUE(loc.has_value()) << "snapshot " << s.id() << " lost a chunk";
          Tier* tier = repo.core().tiers().Find(loc->tier);
          ASSERT_NE(tier, nullptr);
          ASSERT_OK_AND_ASSIGN(std::vector<PackEntry> index, ReadPackIndex(tier, loc->pack_name));
          const PackEntry* entry = nullptr;
          for (const PackEntry& pe : index) {
            if (pe.offset == loc->offset) entry = &pe;
          }
          ASSERT_NE(entry, nullptr);
          std::string blob;
          ASSERT_OK(tier->Read(loc->pack_name, loc->offset, loc->length, &blob));
          ASSERT_OK(VerifyBlob(*entry, blob));
          ASSERT_OK_AND_ASSIGN(std::string sealed, ReadSealed(repo, tenant, c.id()));
          EXPECT_EQ(sealed, Sealed(c.id()));
        }
      }
    }
  }
}

GcOptions Immediately(double compact_below) {
  GcOptions options;
  options.grace = absl::ZeroDuration();
  options.clock_slack = absl::ZeroDuration();
  options.compact_below = compact_below;
  return options;
}

// Lets the millisecond clock tick, so what is made next is strictly newer.
void NextMillisecond() { absl::SleepFor(absl::Milliseconds(2)); }

}  // namespace cairn
