// RebuildCatalog and CatchUpFromTiers on a real catalog and two real local
// tiers holding a data pack (written with PackWriter, copied to the second
// tier) and the metadata mirror's tree packs and snapshot records. A rebuild
// never overwrites a catalog; it brings the snapshot, its job, trees and
// chunks back, with the pack's copy on the second tier; a snapshot with a
// chunk in no pack or a tree on no tier is skipped and nothing of it is
// catalogued; another key restores nothing (a rebuild: DataLoss, no catalog);
// a damaged copy on one tier is read from the other (and not recorded as a
// copy). A catch-up imports only what the catalog lacks.
#include "server/recovery/catalog_rebuild.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/v1/types.pb.h"
#include "common/chunk_id.h"
#include "common/file_util.h"
#include "common/ids.h"
#include "common/pack_format.h"
#include "common/secret_key.h"
#include "common/tree_id.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/catalog/catalog.h"
#include "server/ingest/pack_writer.h"
#include "server/recovery/metadata_mirror.h"
#include "server/recovery/tier_metadata.h"
#include "server/tiers/local_tier.h"
#include "server/tiers/tier_set.h"
#include "tests/server/server_test_util.h"
#include "tests/test_dir.h"
#include "tests/test_status.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kTenant[] = "acme";
constexpr uint32_t kChunkSize = 100;

// A data pack as written and catalogued by the source server.
struct DataPack {
  std::string tenant = kTenant;
  std::string name;
  std::vector<std::string> ids;
  std::vector<PackEntry> entries;  // in the order of `ids`
};

// A committed and mirrored snapshot.
struct Backup {
  std::string tenant = kTenant;
  v1::Snapshot snapshot;
  std::vector<std::pair<std::string, std::string>> trees;  // (id, bytes), root first
};

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class CatalogRebuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = Dir("catalog_rebuild");
    state_dir_ = dir_ + "/state";
    ASSERT_OK(MakeDirectories(state_dir_, 0750));
    ASSERT_OK_AND_ASSIGN(catalog_, Catalog::Open(state_dir_ + "/catalog.db"));
    ASSERT_OK(catalog_->agents().TenantId(kTenant).status());
    ASSERT_OK(catalog_->agents().SetKeyCheckIfUnset(kTenant, "tenant check").status());
    std::vector<std::unique_ptr<Tier>> tiers;
    for (const char* name : {"one", "two"}) {
      ASSERT_OK_AND_ASSIGN(std::unique_ptr<Tier> t,
                           OpenLocalTier(name, absl::StrCat(dir_, "/tier_", name)));
      tiers.push_back(std::move(t));
    }
    tiers_ = std::make_unique<TierSet>(std::move(tiers));
    for (const std::unique_ptr<Tier>& t : tiers_->all()) tier_list_.push_back(t.get());
    mirror_ = std::make_unique<MetadataMirror>(catalog_.get(), tiers_.get(), key_.Clone());
  }

  void TearDown() override {
    CloseSource();
    tier_list_.clear();
    tiers_.reset();
    for (const std::string& dir : dirs_) RemoveTestDirUnlessFailed(dir);
  }

  // A new empty directory, removed after the test unless it failed.
  std::string Dir(const std::string& label) {
    dirs_.push_back(NewTempDir(label));
    return dirs_.back();
  }

  void CloseSource() {
    mirror_.reset();
    catalog_.reset();
  }

  Tier* tier(size_t i) { return tier_list_[i]; }

  std::string ObjectBytes(size_t i, const std::string& object) {
    absl::StatusOr<uint64_t> size = tier(i)->Size(object);
    EXPECT_TRUE(size.ok()) << size.status();
    std::string bytes;
    if (size.ok()) {
      absl::Status read = tier(i)->Read(object, 0, *size, &bytes);
      EXPECT_TRUE(read.ok()) << read;
    }
    return bytes;
  }

  // Overwrites `length` bytes of `object` on tier `i` from `offset` with junk.
  void Damage(size_t i, const std::string& object, uint64_t offset, size_t length) {
    const std::string path = absl::StrCat(dir_, "/tier_", tier(i)->name(), "/", object);
    int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0) << path;
    const std::string junk(length, 'Z');
    ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }

  // Writes a pack of `tenant`'s chunks TestChunkId(first..first+count-1,
  // salt) to tier one, copies it to tier two and catalogues both, as the
  // source server did.
  void WriteDataPack(uint64_t first, uint64_t count, DataPack* out,
                     const std::string& tenant_name = kTenant, uint32_t salt = 0) {
    ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog_->agents().TenantId(tenant_name));
    out->tenant = tenant_name;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> writer, PackWriter::Create(tier(0)));
    std::vector<StoredChunk> stored;
    for (uint64_t n = first; n < first + count; ++n) {
      const std::string id = TestChunkId(n, salt);
      ASSERT_OK_AND_ASSIGN(ChunkId chunk, ChunkIdFromBytes(id));
      ASSERT_OK_AND_ASSIGN(PackEntry entry, writer->Add(chunk, kChunkSize, TestSealed(n, 64)));
      out->ids.push_back(id);
      out->entries.push_back(entry);
      stored.push_back({id, entry.offset, entry.length, entry.raw_size});
    }
    ASSERT_OK(writer->Commit());
    out->name = writer->name();
    ASSERT_OK(tier(1)->Put(out->name, ObjectBytes(0, out->name)));
    ASSERT_OK_AND_ASSIGN(uint64_t added, catalog_->chunks().AddPack(tenant, "one", out->name,
                                                                    writer->size(), stored));
    ASSERT_EQ(added, count);
    ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                         catalog_->chunks().Locate(tenant, out->ids[0]));
    ASSERT_TRUE(where.has_value());
    ASSERT_OK_AND_ASSIGN(bool copied, catalog_->placement().AddCopy(where->pack_id, "two"));
    ASSERT_TRUE(copied);
  }

  // Stores `trees` (children first is not required by the store), commits
  // snapshot `id` whose root is trees[0] and mirrors it to the tiers.
  void CommitAndMirror(const std::string& id, int64_t created_ms,
                       std::vector<std::pair<std::string, std::string>> trees, Backup* out,
                       const std::string& tenant_name = kTenant) {
    ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog_->agents().TenantId(tenant_name));
    out->tenant = tenant_name;
    ASSERT_OK(catalog_->trees().Put(tenant, trees));
    v1::Job job;
    job.set_id("j-" + id.substr(2));
    job.set_kind(v1::JOB_KIND_BACKUP);
    job.set_state(v1::JOB_STATE_RUNNING);
    job.set_agent("gpu-1");
    job.set_created_unix_ms(created_ms - 1000);
    ASSERT_OK(catalog_->jobs().Insert(job, created_ms + 600'000));
    if (before_commit_) before_commit_();
    v1::Snapshot s;
    s.set_id(id);
    s.set_agent("gpu-1");
    s.set_tenant(tenant_name);
    s.add_roots("/data");
    s.set_level(v1::BACKUP_LEVEL_FULL);
    s.set_root_tree_id(trees[0].first);
    s.set_created_unix_ms(created_ms);
    s.set_job_id(job.id());
    s.mutable_stats()->set_bytes_scanned(4 * kChunkSize);
    job.set_state(v1::JOB_STATE_SUCCEEDED);
    job.set_snapshot_id(id);
    ASSERT_OK_AND_ASSIGN(out->snapshot, catalog_->snapshots().Commit(s, job));
    ASSERT_OK(mirror_->OnCommit(out->snapshot));
    out->trees = std::move(trees);
  }

  // The trees of a snapshot of `pack`: a root with a file of its first chunk
  // and a directory "sub" whose file holds the rest.
  static std::vector<std::pair<std::string, std::string>> TreesOf(const DataPack& pack) {
    const std::string leaf = TreeBytes({FileEntry(
        "data.bin", std::vector<std::string>(pack.ids.begin() + 1, pack.ids.end()), kChunkSize)});
    const std::string root =
        TreeBytes({DirEntry("sub", TreeId(leaf)), FileEntry("top.bin", {pack.ids[0]}, kChunkSize)});
    return {{TreeId(root), root}, {TreeId(leaf), leaf}};
  }

  // The source server's state: one pack of three chunks, one snapshot of it.
  void Populate() {
    ASSERT_NO_FATAL_FAILURE(WriteDataPack(1, 3, &pack_));
    ASSERT_NO_FATAL_FAILURE(
        CommitAndMirror("s-00000000000000a1", 1'700'000'100'000, TreesOf(pack_), &backup_));
  }

  std::unique_ptr<Catalog> OpenCatalog(const std::string& state_dir) {
    absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(state_dir + "/catalog.db");
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    return catalog.ok() ? *std::move(catalog) : nullptr;
  }

  // Checks that `catalog` holds `backup` whole: snapshot, job, trees, and
  // every chunk of `pack` in it, catalogued on `tier`.
  void ExpectRestored(Catalog* catalog, const Backup& backup, const DataPack& pack,
                      const std::string& tier) {
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s,
                         catalog->snapshots().Get(backup.snapshot.id()));
    ASSERT_TRUE(s.has_value()) << backup.snapshot.id();
    EXPECT_TRUE(MessageDifferencer::Equals(*s, backup.snapshot)) << s->DebugString();
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, catalog->jobs().Get(backup.snapshot.job_id()));
    ASSERT_TRUE(job.has_value());
    EXPECT_EQ(job->state(), v1::JOB_STATE_SUCCEEDED);
    EXPECT_EQ(job->snapshot_id(), backup.snapshot.id());
    ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog->agents().TenantId(backup.tenant));
    ASSERT_EQ(pack.tenant, backup.tenant);
    for (const auto& [id, bytes] : backup.trees) {
      ASSERT_OK_AND_ASSIGN(std::optional<std::string> got, catalog->trees().Get(tenant, id));
      EXPECT_EQ(got, std::optional<std::string>(bytes)) << HexOf(id);
    }
    for (size_t i = 0; i < pack.ids.size(); ++i) {
      SCOPED_TRACE(absl::StrCat("chunk ", i));
      ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                           catalog->chunks().Locate(tenant, pack.ids[i]));
      ASSERT_TRUE(where.has_value());
      EXPECT_EQ(where->pack_name, pack.name);
      EXPECT_EQ(where->tier, tier);
      EXPECT_EQ(where->offset, pack.entries[i].offset);
      EXPECT_EQ(where->length, pack.entries[i].length);
      EXPECT_EQ(where->raw_size, kChunkSize);
    }
  }

  std::vector<std::string> dirs_;
  std::string dir_;
  std::string state_dir_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<TierSet> tiers_;
  std::vector<Tier*> tier_list_;
  SecretKey key_ = SecretKey::Random();
  std::unique_ptr<MetadataMirror> mirror_;
  // Called by CommitAndMirror between inserting the job and committing.
  std::function<void()> before_commit_;
  DataPack pack_;
  Backup backup_;
};

TEST_F(CatalogRebuildTest, RefusesWhenACatalogExists) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string fresh = Dir("rebuilt");
  ASSERT_OK(WriteFileAtomically(fresh + "/catalog.db", "precious", 0600));
  absl::StatusOr<RebuildReport> report = RebuildCatalog(tier_list_, key_, fresh);
  EXPECT_TRUE(absl::IsFailedPrecondition(report.status())) << report.status();
  ASSERT_OK_AND_ASSIGN(std::string left, ReadFileToString(fresh + "/catalog.db", 1 << 20));
  EXPECT_EQ(left, "precious");
  EXPECT_FALSE(Exists(fresh + "/catalog.db.rebuild"));
  EXPECT_FALSE(Exists(fresh + "/rebuild-scratch.db"));

  // Nor the live state directory, whose catalog is open.
  report = RebuildCatalog(tier_list_, key_, state_dir_);
  EXPECT_TRUE(absl::IsFailedPrecondition(report.status())) << report.status();
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s,
                       catalog_->snapshots().Get(backup_.snapshot.id()));
  EXPECT_TRUE(s.has_value());
}

TEST_F(CatalogRebuildTest, RebuildBringsTheSnapshotBack) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  // Every catalog copy is lost; the new state directory is not there yet.
  CloseSource();
  const std::string fresh = Dir("rebuilt") + "/state";
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  EXPECT_THAT(report.skipped, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.packs_indexed, 1u);
  EXPECT_EQ(report.chunks_indexed, 3u);
  EXPECT_EQ(report.tree_packs_read, 1u);
  EXPECT_EQ(report.trees_imported, 2u);
  EXPECT_EQ(report.chunks_catalogued, 3u);
  // One file, built under another name and renamed; no working files left.
  EXPECT_TRUE(Exists(fresh + "/catalog.db"));
  EXPECT_FALSE(Exists(fresh + "/catalog.db.rebuild"));
  EXPECT_FALSE(Exists(fresh + "/catalog.db-wal"));
  EXPECT_FALSE(Exists(fresh + "/rebuild-scratch.db"));

  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "one"));
  ASSERT_OK_AND_ASSIGN(int64_t tenant, rebuilt->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       rebuilt->chunks().Locate(tenant, pack_.ids[0]));
  ASSERT_TRUE(where.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> copies,
                       rebuilt->placement().Copies(where->pack_id));
  EXPECT_THAT(copies, ElementsAre("two"));
  ASSERT_OK_AND_ASSIGN(std::string check, rebuilt->agents().KeyCheck(kTenant));
  EXPECT_EQ(check, "tenant check");
  // The trees count as mirrored: the next Reconcile rewrites nothing.
  ASSERT_OK_AND_ASSIGN(std::vector<TreeRow> unmirrored,
                       rebuilt->mirror().Unmirrored(tenant, 1 << 30));
  EXPECT_THAT(unmirrored, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> tree_packs, rebuilt->mirror().TreePacks());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> on_tier, tier(0)->ListWithPrefix(kTreePackPrefix));
  EXPECT_EQ(tree_packs, on_tier);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> integrity, rebuilt->IntegrityCheck());
  EXPECT_THAT(integrity, IsEmpty());
}

TEST_F(CatalogRebuildTest, ARebuildCutShortCanBeRunAgain) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  const std::string fresh = Dir("rebuilt");
  ASSERT_OK(WriteFileAtomically(fresh + "/catalog.db.rebuild", "half a catalog", 0600));
  ASSERT_OK(WriteFileAtomically(fresh + "/rebuild-scratch.db", "half an index", 0600));
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "one"));
}

TEST_F(CatalogRebuildTest, ASnapshotWithAChunkInNoPackIsSkipped) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  // An older snapshot whose file's chunk is in no pack (the pack was lost),
  // sharing the good snapshot's "sub" directory.
  const std::string lost_chunk = TestChunkId(99);
  const std::vector<std::pair<std::string, std::string>> good = TreesOf(pack_);
  const std::string root =
      TreeBytes({FileEntry("lost.bin", {lost_chunk}, kChunkSize), DirEntry("sub", good[1].first)});
  Backup broken;
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000a0", 1'700'000'000'000, {{TreeId(root), root}}, &broken));
  CloseSource();

  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  ASSERT_THAT(report.skipped, SizeIs(1));
  EXPECT_THAT(report.skipped[0], HasSubstr(broken.snapshot.id()));
  EXPECT_THAT(report.skipped[0], HasSubstr("in no pack"));
  EXPECT_THAT(report.skipped[0], HasSubstr(HexOf(lost_chunk)));
  EXPECT_THAT(report.problems, IsEmpty());

  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "one"));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> s,
                       rebuilt->snapshots().Get(broken.snapshot.id()));
  EXPECT_FALSE(s.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, rebuilt->jobs().Get(broken.snapshot.job_id()));
  EXPECT_FALSE(job.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, rebuilt->snapshots().List("", 10));
  EXPECT_THAT(all, SizeIs(1));
}

TEST_F(CatalogRebuildTest, ASnapshotWithATreeOnNoTierIsSkippedAndNothingOfItCatalogued) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  for (size_t i : {0u, 1u}) {
    ASSERT_OK_AND_ASSIGN(std::vector<std::string> packs, tier(i)->ListWithPrefix(kTreePackPrefix));
    for (const std::string& p : packs) ASSERT_OK(tier(i)->Delete(p));
  }
  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, IsEmpty());
  ASSERT_THAT(report.skipped, SizeIs(1));
  EXPECT_THAT(report.skipped[0], HasSubstr(backup_.snapshot.id()));
  EXPECT_THAT(report.skipped[0], HasSubstr("on no tier"));
  EXPECT_EQ(report.chunks_catalogued, 0u);

  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, rebuilt->snapshots().List("", 10));
  EXPECT_THAT(all, IsEmpty());
  ASSERT_OK_AND_ASSIGN(int64_t tenant, rebuilt->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       rebuilt->chunks().Locate(tenant, pack_.ids[0]));
  EXPECT_FALSE(where.has_value());
}

// Under another key the tree pack and the record read on no tier: each is a
// problem, and nothing of the snapshot is imported.
TEST_F(CatalogRebuildTest, AnImportUnderAnotherKeyRestoresNothing) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> tree_packs,
                       tier(0)->ListWithPrefix(kTreePackPrefix));
  ASSERT_THAT(tree_packs, SizeIs(1));
  const std::string fresh = Dir("imported");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> catalog, Catalog::Open(fresh + "/catalog.db"));
  ASSERT_OK_AND_ASSIGN(
      RebuildReport report,
      ImportFromTiers(catalog.get(), tier_list_, SecretKey::Random(), fresh + "/scratch.db"));
  EXPECT_THAT(report.snapshots_restored, IsEmpty());
  EXPECT_EQ(report.tree_packs_read, 0u);
  EXPECT_EQ(report.trees_imported, 0u);
  EXPECT_EQ(report.chunks_catalogued, 0u);
  // The tree pack and the record, on each tier.
  EXPECT_THAT(report.problems, SizeIs(4));
  EXPECT_THAT(report.problems, Contains(HasSubstr(tree_packs[0])));
  EXPECT_THAT(report.problems, Contains(HasSubstr(SnapshotRecordName(backup_.snapshot.id()))));
  EXPECT_FALSE(Exists(fresh + "/scratch.db"));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, catalog->snapshots().List("", 10));
  EXPECT_THAT(all, IsEmpty());
  ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> root,
                       catalog->trees().Get(tenant, backup_.snapshot.root_tree_id()));
  EXPECT_FALSE(root.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       catalog->chunks().Locate(tenant, pack_.ids[0]));
  EXPECT_FALSE(where.has_value());
}

// A rebuild that brings nothing back while objects did not read (most
// likely the wrong key) is DataLoss and leaves no catalog behind.
TEST_F(CatalogRebuildTest, ARebuildUnderAnotherKeyIsDataLossAndLeavesNoCatalog) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  const std::string fresh = Dir("rebuilt");
  absl::StatusOr<RebuildReport> report = RebuildCatalog(tier_list_, SecretKey::Random(), fresh);
  EXPECT_TRUE(absl::IsDataLoss(report.status())) << report.status();
  EXPECT_THAT(report.status().message(), HasSubstr("does not open"));
  EXPECT_FALSE(Exists(fresh + "/catalog.db"));
  EXPECT_FALSE(Exists(fresh + "/catalog.db.rebuild"));
  EXPECT_FALSE(Exists(fresh + "/rebuild-scratch.db"));

  // With the right key it then simply runs.
  ASSERT_OK_AND_ASSIGN(RebuildReport good, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(good.snapshots_restored, ElementsAre(backup_.snapshot.id()));
}

TEST_F(CatalogRebuildTest, ADamagedFirstCopyOfADataPackIsReadFromTheSecond) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  ASSERT_OK_AND_ASSIGN(uint64_t size, tier(0)->Size(pack_.name));
  ASSERT_NO_FATAL_FAILURE(Damage(0, pack_.name, size - kPackFooterSize, kPackFooterSize));

  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  EXPECT_THAT(report.skipped, IsEmpty());
  ASSERT_THAT(report.problems, SizeIs(1));
  EXPECT_THAT(report.problems[0], HasSubstr("tier one"));
  EXPECT_THAT(report.problems[0], HasSubstr(pack_.name));
  EXPECT_EQ(report.packs_indexed, 1u);

  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "two"));
}

// A copy is recorded "only after the copy was made and read back"
// (placement_store.h): a copy whose index does not even read must not be
// one, or a reader or tier move relies on it.
TEST_F(CatalogRebuildTest, ADamagedCopyOfADataPackIsNotRecordedAsACopy) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  ASSERT_OK_AND_ASSIGN(uint64_t size, tier(0)->Size(pack_.name));
  ASSERT_NO_FATAL_FAILURE(Damage(0, pack_.name, size - kPackFooterSize, kPackFooterSize));

  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  ASSERT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_OK_AND_ASSIGN(int64_t tenant, rebuilt->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       rebuilt->chunks().Locate(tenant, pack_.ids[0]));
  ASSERT_TRUE(where.has_value());
  EXPECT_EQ(where->tier, "two");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> copies,
                       rebuilt->placement().Copies(where->pack_id));
  EXPECT_THAT(copies, Not(Contains("one"))) << "the damaged copy on tier one is recorded";
}

TEST_F(CatalogRebuildTest, ADamagedTreePackOnOneTierIsReadFromTheOther) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> tree_packs,
                       tier(0)->ListWithPrefix(kTreePackPrefix));
  ASSERT_THAT(tree_packs, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(uint64_t size, tier(0)->Size(tree_packs[0]));
  ASSERT_NO_FATAL_FAILURE(Damage(0, tree_packs[0], size / 2, 8));

  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(backup_.snapshot.id()));
  ASSERT_THAT(report.problems, SizeIs(1));
  EXPECT_THAT(report.problems[0], HasSubstr("tier one"));
  EXPECT_THAT(report.problems[0], HasSubstr(tree_packs[0]));
  EXPECT_EQ(report.tree_packs_read, 1u);
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "one"));
}

TEST_F(CatalogRebuildTest, CatchUpOnACatalogThatHasEverythingImportsNothing) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  CloseSource();
  ASSERT_OK_AND_ASSIGN(RebuildReport report, CatchUpFromTiers(tier_list_, key_, state_dir_));
  EXPECT_THAT(report.snapshots_restored, IsEmpty());
  EXPECT_THAT(report.skipped, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.packs_indexed, 0u);
  EXPECT_EQ(report.tree_packs_read, 0u);
  EXPECT_EQ(report.chunks_catalogued, 0u);
  EXPECT_FALSE(Exists(state_dir_ + "/rebuild-scratch.db"));

  std::unique_ptr<Catalog> catalog = OpenCatalog(state_dir_);
  ASSERT_NE(catalog, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, catalog->snapshots().List("", 10));
  EXPECT_THAT(all, SizeIs(1));
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(catalog.get(), backup_, pack_, "one"));
}

TEST_F(CatalogRebuildTest, CatchUpBringsBackWhatWasCommittedAfterTheBundle) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  // The bundle: the catalog as it was after the first snapshot.
  const std::string recovered = Dir("recovered");
  ASSERT_OK(catalog_->SnapshotTo(recovered + "/catalog.db"));

  // A later snapshot: a new pack, and a tree naming chunks of both packs.
  DataPack later_pack;
  ASSERT_NO_FATAL_FAILURE(WriteDataPack(10, 2, &later_pack));
  const std::string root = TreeBytes({FileEntry("new.bin", later_pack.ids, kChunkSize),
                                      FileEntry("old.bin", {pack_.ids[0]}, kChunkSize)});
  Backup later;
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000a2", 1'700'000'200'000, {{TreeId(root), root}}, &later));
  CloseSource();

  ASSERT_OK_AND_ASSIGN(RebuildReport report, CatchUpFromTiers(tier_list_, key_, recovered));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(later.snapshot.id()));
  EXPECT_THAT(report.skipped, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.packs_indexed, 1u) << "the first pack is known";
  EXPECT_EQ(report.tree_packs_read, 1u) << "the first tree pack is known";
  EXPECT_EQ(report.chunks_catalogued, 2u);

  std::unique_ptr<Catalog> catalog = OpenCatalog(recovered);
  ASSERT_NE(catalog, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(catalog.get(), backup_, pack_, "one"));
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(catalog.get(), later, later_pack, "one"));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::Snapshot> all, catalog->snapshots().List("", 10));
  EXPECT_THAT(all, SizeIs(2));
}

TEST_F(CatalogRebuildTest, TwoTenantsComeBackEachWithItsOwn) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  DataPack other_pack;
  ASSERT_NO_FATAL_FAILURE(WriteDataPack(1, 3, &other_pack, "globex", /*salt=*/7));
  Backup other;
  ASSERT_NO_FATAL_FAILURE(CommitAndMirror("s-00000000000000b1", 1'700'000'150'000,
                                          TreesOf(other_pack), &other, "globex"));
  CloseSource();

  const std::string fresh = Dir("rebuilt");
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored,
              ElementsAre(backup_.snapshot.id(), other.snapshot.id()));  // by creation time
  EXPECT_THAT(report.skipped, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.tree_packs_read, 2u);
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), backup_, pack_, "one"));
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(rebuilt.get(), other, other_pack, "one"));
  // Neither sees the other's chunks or trees.
  ASSERT_OK_AND_ASSIGN(int64_t acme, rebuilt->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                       rebuilt->chunks().Locate(acme, other_pack.ids[0]));
  EXPECT_FALSE(where.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> tree,
                       rebuilt->trees().Get(acme, other.snapshot.root_tree_id()));
  EXPECT_FALSE(tree.has_value());
}

// The chunk ids of two tenants whose agents were given the same key file
// coincide (nothing stops an admin copying one tenant's key to another's
// agents, and the catalog keeps chunks per tenant): each tenant's chunks
// must still come back. Equal ids under one key are equal data, so either
// tenant's copy may serve both (the rebuild keeps the first pack it indexed).
TEST_F(CatalogRebuildTest, TwoTenantsWithTheSameChunkIdsComeBackEachWithItsOwn) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  DataPack other_pack;
  ASSERT_NO_FATAL_FAILURE(WriteDataPack(1, 3, &other_pack, "globex"));
  ASSERT_EQ(other_pack.ids, pack_.ids);
  Backup other;
  ASSERT_NO_FATAL_FAILURE(CommitAndMirror("s-00000000000000b1", 1'700'000'150'000,
                                          TreesOf(other_pack), &other, "globex"));
  CloseSource();

  const std::string fresh = Dir("rebuilt");
  absl::StatusOr<RebuildReport> report = RebuildCatalog(tier_list_, key_, fresh);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->snapshots_restored, ElementsAre(backup_.snapshot.id(), other.snapshot.id()));
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> first,
                       rebuilt->snapshots().Get(backup_.snapshot.id()));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::Snapshot> second,
                       rebuilt->snapshots().Get(other.snapshot.id()));
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(second->tenant(), "globex");
  for (const std::string& tenant_name : {backup_.tenant, other.tenant}) {
    ASSERT_OK_AND_ASSIGN(int64_t tenant, rebuilt->agents().TenantId(tenant_name));
    for (size_t i = 0; i < pack_.ids.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(tenant_name, " chunk ", i));
      ASSERT_OK_AND_ASSIGN(std::optional<ChunkLocation> where,
                           rebuilt->chunks().Locate(tenant, pack_.ids[i]));
      ASSERT_TRUE(where.has_value());
      EXPECT_TRUE(where->pack_name == pack_.name || where->pack_name == other_pack.name)
          << where->pack_name;
      EXPECT_EQ(where->raw_size, kChunkSize);
    }
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> problems, rebuilt->IntegrityCheck());
  EXPECT_THAT(problems, IsEmpty());
}

// The bundle was written while the later backup ran: its job is there,
// RUNNING, and its snapshot is not. The catch-up commits it and finishes the job.
TEST_F(CatalogRebuildTest, CatchUpFinishesAJobTheBundleSawRunning) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  const std::string recovered = Dir("recovered");
  DataPack later_pack;
  ASSERT_NO_FATAL_FAILURE(WriteDataPack(20, 2, &later_pack));
  const std::string root = TreeBytes({FileEntry("new.bin", later_pack.ids, kChunkSize)});
  before_commit_ = [&] { ASSERT_OK(catalog_->SnapshotTo(recovered + "/catalog.db")); };
  Backup later;
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000a2", 1'700'000'200'000, {{TreeId(root), root}}, &later));
  CloseSource();
  {
    std::unique_ptr<Catalog> bundle = OpenCatalog(recovered);
    ASSERT_NE(bundle, nullptr);
    ASSERT_OK_AND_ASSIGN(std::optional<v1::Job> job, bundle->jobs().Get(later.snapshot.job_id()));
    ASSERT_TRUE(job.has_value());
    ASSERT_EQ(job->state(), v1::JOB_STATE_RUNNING);
  }

  ASSERT_OK_AND_ASSIGN(RebuildReport report, CatchUpFromTiers(tier_list_, key_, recovered));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(later.snapshot.id()));
  EXPECT_THAT(report.skipped, IsEmpty());
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.packs_indexed, 0u) << "the bundle knew the pack";
  std::unique_ptr<Catalog> catalog = OpenCatalog(recovered);
  ASSERT_NE(catalog, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectRestored(catalog.get(), later, later_pack, "one"));
  ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::vector<TreeRow> unmirrored,
                       catalog->mirror().Unmirrored(tenant, 1 << 30));
  EXPECT_THAT(unmirrored, IsEmpty()) << "the later trees' tree pack is recorded";
}

// Checkpoint deltas: the packs' indexes carry each delta's base, so a
// rebuild catalogues a snapshot's chunks with their chains (bases no tree
// names included) and keeps the chains; a snapshot whose delta's base is in
// no pack is skipped, saying so.
TEST_F(CatalogRebuildTest, RebuildBringsDeltaChainsBack) {
  ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog_->agents().TenantId(kTenant));
  // Pack one: whole chunks 1 and 2. Pack two: 3 = delta of 1, 4 = delta of 3,
  // 5 = delta of 99 (a base in no pack).
  auto write = [&](const std::vector<std::pair<uint64_t, uint64_t>>& chunks) -> std::string {
    absl::StatusOr<std::unique_ptr<PackWriter>> writer = PackWriter::Create(tier(0));
    EXPECT_TRUE(writer.ok());
    std::vector<StoredChunk> stored;
    for (const auto& [n, base] : chunks) {
      std::optional<ChunkId> base_id;
      if (base != 0) base_id = *ChunkIdFromBytes(TestChunkId(base));
      absl::StatusOr<PackEntry> entry =
          (*writer)->Add(*ChunkIdFromBytes(TestChunkId(n)), kChunkSize, TestSealed(n, 64), base_id);
      EXPECT_TRUE(entry.ok()) << entry.status();
      stored.push_back({TestChunkId(n), entry->offset, entry->length, kChunkSize, 0,
                        base != 0 ? TestChunkId(base) : std::string()});
    }
    EXPECT_TRUE((*writer)->Commit().ok());
    EXPECT_TRUE(catalog_->chunks()
                    .AddPack(tenant, "one", (*writer)->name(), (*writer)->size(), stored)
                    .ok());
    return (*writer)->name();
  };
  write({{1, 0}, {2, 0}});
  write({{3, 1}, {4, 3}, {5, 99}});
  const std::string leaf =
      TreeBytes({FileEntry("model.bin", {TestChunkId(4), TestChunkId(2)}, kChunkSize)});
  const std::string broken = TreeBytes({FileEntry("other.bin", {TestChunkId(5)}, kChunkSize)});
  Backup whole, lost;
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000d1", 1'700'000'100'000, {{TreeId(leaf), leaf}}, &whole));
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000d2", 1'700'000'200'000, {{TreeId(broken), broken}}, &lost));
  CloseSource();

  const std::string fresh = Dir("rebuilt") + "/state";
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(whole.snapshot.id()));
  ASSERT_THAT(report.skipped, SizeIs(1));
  EXPECT_THAT(report.skipped[0], HasSubstr("is a delta of chunk"));
  EXPECT_THAT(report.skipped[0], HasSubstr("in no pack"));
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_OK_AND_ASSIGN(int64_t t, rebuilt->agents().TenantId(kTenant));
  std::vector<std::string> ids = {TestChunkId(4), TestChunkId(3), TestChunkId(1), TestChunkId(2)};
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depths,
                       rebuilt->chunks().ChainDepths(t, ids));
  EXPECT_THAT(depths, ElementsAre(2, 1, 0, 0));
  ASSERT_OK_AND_ASSIGN(std::vector<ChunkRow> deltas, rebuilt->chunks().DeltaPage(0, "", 10));
  ASSERT_THAT(deltas, SizeIs(2)) << "5's snapshot was skipped: not catalogued";
  std::map<std::string, std::string> base_of;
  for (const ChunkRow& r : deltas) base_of[r.id] = r.base_id;
  EXPECT_EQ(base_of[TestChunkId(3)], TestChunkId(1));
  EXPECT_EQ(base_of[TestChunkId(4)], TestChunkId(3));
}

// A chunk found both as a delta whose base is gone and as a whole copy (a
// replaced copy not yet collected) is catalogued whole, whichever pack is
// read first, and its snapshot comes back.
TEST_F(CatalogRebuildTest, AWholeCopyWinsOverADeltaCopy) {
  ASSERT_OK_AND_ASSIGN(int64_t tenant, catalog_->agents().TenantId(kTenant));
  for (const bool delta : {true, false, true}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PackWriter> writer, PackWriter::Create(tier(0)));
    std::optional<ChunkId> base;
    if (delta) base = *ChunkIdFromBytes(TestChunkId(99));
    ASSERT_OK_AND_ASSIGN(PackEntry entry, writer->Add(*ChunkIdFromBytes(TestChunkId(7)), kChunkSize,
                                                      TestSealed(7, 64), base));
    ASSERT_OK(writer->Commit());
    if (!delta) {
      ASSERT_OK(catalog_->chunks()
                    .AddPack(tenant, "one", writer->name(), writer->size(),
                             {{TestChunkId(7), entry.offset, entry.length, kChunkSize}})
                    .status());
    }
  }
  const std::string leaf = TreeBytes({FileEntry("f", {TestChunkId(7)}, kChunkSize)});
  Backup b;
  ASSERT_NO_FATAL_FAILURE(
      CommitAndMirror("s-00000000000000e1", 1'700'000'100'000, {{TreeId(leaf), leaf}}, &b));
  CloseSource();
  const std::string fresh = Dir("rebuilt") + "/state";
  ASSERT_OK_AND_ASSIGN(RebuildReport report, RebuildCatalog(tier_list_, key_, fresh));
  EXPECT_THAT(report.snapshots_restored, ElementsAre(b.snapshot.id()));
  EXPECT_THAT(report.skipped, IsEmpty());
  std::unique_ptr<Catalog> rebuilt = OpenCatalog(fresh);
  ASSERT_NE(rebuilt, nullptr);
  ASSERT_OK_AND_ASSIGN(int64_t t, rebuilt->agents().TenantId(kTenant));
  ASSERT_OK_AND_ASSIGN(std::vector<std::optional<int>> depths,
                       rebuilt->chunks().ChainDepths(t, {TestChunkId(7)}));
  EXPECT_THAT(depths, ElementsAre(0));
}

}  // namespace
}  // namespace cairn
