// AgentStore on a real catalog file: tenant ids are stable across reopen and
// cached once known, agents are created, replaced, listed and touched, the
// online flag never reaches the catalog, and damaged rows are DataLoss.
#include "server/catalog/agent_store.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AgentStoreTest : public StoreTest {
 protected:
  AgentStore& agents() { return catalog().agents(); }

  static v1::AgentInfo Agent(const std::string& name, const std::string& tenant) {
    v1::AgentInfo info;
    info.set_name(name);
    info.set_tenant(tenant);
    info.set_hostname(name + ".example");
    info.set_version("1.2.3");
    info.set_last_seen_unix_ms(1000);
    info.set_last_backup_unix_ms(900);
    info.set_last_snapshot_id("s-1");
    info.add_roots("/data");
    info.add_roots(std::string("/caf\xe9", 5));
    return info;
  }

  absl::StatusOr<int64_t> TenantRows(const std::string& name) {
    return RawInt("SELECT count(*) FROM tenants WHERE name = '" + name + "'");
  }
};

TEST_F(AgentStoreTest, TenantIdsAreStableAcrossReopen) {
  ASSERT_OK_AND_ASSIGN(int64_t alpha, agents().TenantId("alpha"));
  ASSERT_OK_AND_ASSIGN(int64_t beta, agents().TenantId("beta"));
  EXPECT_NE(alpha, beta);
  Reopen();
  // Asked the other way round: the ids come from the file, not from the order.
  ASSERT_OK_AND_ASSIGN(int64_t beta2, agents().TenantId("beta"));
  ASSERT_OK_AND_ASSIGN(int64_t alpha2, agents().TenantId("alpha"));
  EXPECT_EQ(alpha2, alpha);
  EXPECT_EQ(beta2, beta);
  ASSERT_OK_AND_ASSIGN(int64_t rows, RawInt("SELECT count(*) FROM tenants"));
  EXPECT_EQ(rows, 2);
}

TEST_F(AgentStoreTest, TenantIdIsCachedOnceKnown) {
  ASSERT_OK_AND_ASSIGN(int64_t alpha, agents().TenantId("alpha"));
  ASSERT_OK(agents().TenantId("beta").status());
  // The row goes away behind the store's back: a store that has seen the
  // tenant answers from memory and does not write the row again.
  ASSERT_OK(RawExec("DELETE FROM tenants WHERE name = 'alpha'"));
  ASSERT_OK_AND_ASSIGN(int64_t cached, agents().TenantId("alpha"));
  EXPECT_EQ(cached, alpha);
  ASSERT_OK_AND_ASSIGN(int64_t rows, TenantRows("alpha"));
  EXPECT_EQ(rows, 0);

  // A fresh store reads the file and creates the tenant anew.
  Reopen();
  ASSERT_OK_AND_ASSIGN(int64_t fresh, agents().TenantId("alpha"));
  EXPECT_NE(fresh, alpha);
  ASSERT_OK_AND_ASSIGN(rows, TenantRows("alpha"));
  EXPECT_EQ(rows, 1);
}

TEST_F(AgentStoreTest, UpsertCreatesTheTenantOnce) {
  ASSERT_OK(agents().Upsert(Agent("a1", "gamma")));
  ASSERT_OK(agents().Upsert(Agent("a2", "gamma")));
  ASSERT_OK_AND_ASSIGN(int64_t rows, TenantRows("gamma"));
  EXPECT_EQ(rows, 1);
  ASSERT_OK_AND_ASSIGN(int64_t id, agents().TenantId("gamma"));
  ASSERT_OK_AND_ASSIGN(int64_t column, RawInt("SELECT tenant_id FROM agents WHERE name = 'a2'"));
  EXPECT_EQ(column, id);
}

TEST_F(AgentStoreTest, GetReturnsWhatWasStoredExceptOnline) {
  v1::AgentInfo stored = Agent("gpu-1", "t1");
  stored.set_online(true);
  stored.set_pending_files(7);
  ASSERT_OK(agents().Upsert(stored));

  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> got, agents().Get("gpu-1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->online());
  v1::AgentInfo want = stored;
  want.clear_online();
  EXPECT_TRUE(MessageDifferencer::Equals(*got, want)) << got->DebugString();

  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> none, agents().Get("gpu-2"));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(none, agents().Get(""));
  EXPECT_FALSE(none.has_value());
}

TEST_F(AgentStoreTest, UpsertReplacesTheWholeRecord) {
  ASSERT_OK(agents().Upsert(Agent("a1", "t1")));
  v1::AgentInfo second;
  second.set_name("a1");
  second.set_tenant("t1");
  second.set_hostname("renamed");
  second.set_last_seen_unix_ms(500);  // older than before: still what is stored
  ASSERT_OK(agents().Upsert(second));

  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> got, agents().Get("a1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(*got, second)) << got->DebugString();
  EXPECT_THAT(got->roots(), IsEmpty());
  EXPECT_EQ(got->last_snapshot_id(), "");
  ASSERT_OK_AND_ASSIGN(int64_t rows, RawInt("SELECT count(*) FROM agents"));
  EXPECT_EQ(rows, 1);
}

TEST_F(AgentStoreTest, TouchSetsOnlyLastSeen) {
  ASSERT_OK(agents().Upsert(Agent("a1", "t1")));
  ASSERT_OK(agents().Touch("a1", 123456));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> got, agents().Get("a1"));
  ASSERT_TRUE(got.has_value());
  v1::AgentInfo want = Agent("a1", "t1");
  want.set_last_seen_unix_ms(123456);
  EXPECT_TRUE(MessageDifferencer::Equals(*got, want)) << got->DebugString();

  // Touch may also go back in time: it records the time given.
  ASSERT_OK(agents().Touch("a1", 10));
  ASSERT_OK_AND_ASSIGN(got, agents().Get("a1"));
  EXPECT_EQ(got->last_seen_unix_ms(), 10);
}

TEST_F(AgentStoreTest, TouchOfAnUnknownAgentCreatesNothing) {
  ASSERT_OK(agents().Touch("ghost", 99));
  ASSERT_OK_AND_ASSIGN(std::optional<v1::AgentInfo> got, agents().Get("ghost"));
  EXPECT_FALSE(got.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> all, agents().List());
  EXPECT_THAT(all, IsEmpty());
}

TEST_F(AgentStoreTest, ListIsInNameOrderWithLastSeen) {
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> none, agents().List());
  EXPECT_THAT(none, IsEmpty());
  for (const char* name : {"web-2", "db", "web-10", "Zeta"}) {
    ASSERT_OK(agents().Upsert(Agent(name, name[0] == 'w' ? "web" : "other")));
  }
  ASSERT_OK(agents().Touch("db", 777));

  ASSERT_OK_AND_ASSIGN(std::vector<v1::AgentInfo> all, agents().List());
  std::vector<std::string> names;
  for (const v1::AgentInfo& a : all) names.push_back(a.name());
  // SQLite's binary collation: uppercase first, "web-10" before "web-2".
  EXPECT_THAT(names, ::testing::ElementsAre("Zeta", "db", "web-10", "web-2"));
  EXPECT_EQ(all[1].last_seen_unix_ms(), 777);
  EXPECT_EQ(all[0].last_seen_unix_ms(), 1000);
  EXPECT_EQ(all[2].tenant(), "web");
  for (const v1::AgentInfo& a : all) EXPECT_FALSE(a.online());
}

TEST_F(AgentStoreTest, AnUnparsableRowIsDataLoss) {
  ASSERT_OK(agents().Upsert(Agent("a1", "t1")));
  ASSERT_OK(RawExec("UPDATE agents SET info = X'FF' WHERE name = 'a1'"));
  absl::StatusOr<std::optional<v1::AgentInfo>> got = agents().Get("a1");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("agent"));
  absl::StatusOr<std::vector<v1::AgentInfo>> all = agents().List();
  EXPECT_EQ(all.status().code(), absl::StatusCode::kDataLoss) << all.status();
}

}  // namespace
}  // namespace cairn
