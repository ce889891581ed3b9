// AuditStore on a real catalog file: entries are stored whole with ids in
// append order, listed oldest first after an id, from a time, refused ones
// only when asked, at most `limit` (default 100, capped at 1000), across a
// reopen; and the table is append-only: the catalog's own triggers refuse
// any UPDATE or DELETE, even on a connection of its own.
#include "server/catalog/audit_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/server/catalog/store_test_util.h"

namespace cairn {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AuditStoreTest : public StoreTest {
 protected:
  AuditStore& audit() { return catalog().audit(); }

  static v1::AuditEntry Entry(int64_t time_ms, const std::string& code,
                              const std::string& method = "/cairn.v1.AdminService/Prune") {
    v1::AuditEntry e;
    e.set_time_unix_ms(time_ms);
    e.set_who("admin:alice");
    e.set_peer("ipv4:127.0.0.1:5555");
    e.set_method(method);
    e.set_resource("agent gpu-07");
    e.set_code(code);
    e.set_message(code == "OK" ? "" : "the caller may not do this");
    return e;
  }

  // Appends an entry per time, refused ("PERMISSION_DENIED") where `refused` says.
  std::vector<int64_t> AppendAll(const std::vector<std::pair<int64_t, bool>>& entries) {
    std::vector<int64_t> ids;
    for (const auto& [time_ms, refused] : entries) {
      absl::StatusOr<int64_t> id =
          audit().Append(Entry(time_ms, refused ? "PERMISSION_DENIED" : "OK"));
      EXPECT_TRUE(id.ok()) << id.status();
      ids.push_back(id.value_or(-1));
    }
    return ids;
  }

  std::vector<int64_t> ListIds(const v1::ListAuditRequest& request) {
    absl::StatusOr<std::vector<v1::AuditEntry>> list = audit().List(request);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<int64_t> ids;
    for (const v1::AuditEntry& e : list.value_or(std::vector<v1::AuditEntry>())) {
      ids.push_back(e.id());
    }
    return ids;
  }
};

TEST_F(AuditStoreTest, AppendStoresTheWholeEntryUnderANewId) {
  v1::AuditEntry entry = Entry(1234, "PERMISSION_DENIED");
  entry.set_id(999);  // the caller's id is ignored
  ASSERT_OK_AND_ASSIGN(int64_t first, audit().Append(entry));
  ASSERT_OK_AND_ASSIGN(int64_t second, audit().Append(Entry(1300, "OK")));
  EXPECT_NE(first, 999);
  EXPECT_GT(second, first);
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditEntry> all, audit().List(v1::ListAuditRequest()));
  ASSERT_EQ(all.size(), 2u);
  v1::AuditEntry expected = entry;
  expected.set_id(first);
  EXPECT_TRUE(MessageDifferencer::Equals(all[0], expected)) << all[0].DebugString();
  EXPECT_EQ(all[1].id(), second);
  EXPECT_EQ(all[1].code(), "OK");
}

TEST_F(AuditStoreTest, ListsOldestFirstAfterAnId) {
  std::vector<int64_t> ids = AppendAll({{100, false}, {200, true}, {300, false}, {400, true}});
  EXPECT_THAT(ListIds(v1::ListAuditRequest()), ElementsAre(ids[0], ids[1], ids[2], ids[3]));
  v1::ListAuditRequest after;
  after.set_after_id(ids[1]);
  EXPECT_THAT(ListIds(after), ElementsAre(ids[2], ids[3]));
  after.set_after_id(ids[3]);
  EXPECT_THAT(ListIds(after), IsEmpty());
}

TEST_F(AuditStoreTest, SinceIsInclusive) {
  std::vector<int64_t> ids = AppendAll({{100, false}, {200, true}, {300, false}});
  v1::ListAuditRequest since;
  since.set_since_unix_ms(200);
  EXPECT_THAT(ListIds(since), ElementsAre(ids[1], ids[2]));
  since.set_since_unix_ms(201);
  EXPECT_THAT(ListIds(since), ElementsAre(ids[2]));
  since.set_since_unix_ms(301);
  EXPECT_THAT(ListIds(since), IsEmpty());
}

TEST_F(AuditStoreTest, RefusedOnlyKeepsEveryCodeButOk) {
  std::vector<int64_t> ids = AppendAll({{100, false}, {200, true}, {300, false}, {400, true}});
  ASSERT_OK_AND_ASSIGN(int64_t unauthenticated, audit().Append(Entry(500, "UNAUTHENTICATED")));
  ASSERT_OK_AND_ASSIGN(int64_t exhausted, audit().Append(Entry(600, "RESOURCE_EXHAUSTED")));
  v1::ListAuditRequest refused;
  refused.set_refused_only(true);
  EXPECT_THAT(ListIds(refused), ElementsAre(ids[1], ids[3], unauthenticated, exhausted));
  // Combined with the other filters.
  refused.set_since_unix_ms(300);
  refused.set_after_id(ids[3]);
  EXPECT_THAT(ListIds(refused), ElementsAre(unauthenticated, exhausted));
}

TEST_F(AuditStoreTest, LimitDefaultsTo100AndIsCappedAt1000) {
  for (int i = 0; i < 1005; ++i) {
    ASSERT_OK(audit().Append(Entry(i, i % 2 == 0 ? "OK" : "NOT_FOUND")).status());
  }
  v1::ListAuditRequest request;
  EXPECT_EQ(ListIds(request).size(), 100u);
  request.set_limit(7);
  std::vector<int64_t> seven = ListIds(request);
  ASSERT_EQ(seven.size(), 7u);
  // Paging by the last id seen continues exactly where the page ended.
  request.set_after_id(seven.back());
  std::vector<int64_t> next = ListIds(request);
  ASSERT_EQ(next.size(), 7u);
  EXPECT_GT(next.front(), seven.back());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditEntry> page, audit().List(request));
  EXPECT_EQ(page.front().time_unix_ms(), 7);
  request.set_after_id(0);
  request.set_limit(1000000);
  EXPECT_EQ(ListIds(request).size(), 1000u);
  request.set_limit(0xffffffffu);
  EXPECT_EQ(ListIds(request).size(), 1000u);
}

TEST_F(AuditStoreTest, TableRefusesUpdateDeleteAndReplace) {
  std::vector<int64_t> ids = AppendAll({{100, true}, {200, false}});
  for (const std::string& sql :
       {std::string("UPDATE audit SET refused = 0"),
        absl::StrCat("UPDATE audit SET data = x'' WHERE id = ", ids[0]),
        absl::StrCat("DELETE FROM audit WHERE id = ", ids[0]), std::string("DELETE FROM audit"),
        // REPLACE deletes without firing the DELETE trigger; the INSERT one catches it.
        absl::StrCat("REPLACE INTO audit(id, time_ms, refused, data) VALUES(", ids[0],
                     ", 1, 0, x'')"),
        absl::StrCat("INSERT OR REPLACE INTO audit(id, time_ms, refused, data) VALUES(", ids[1],
                     ", 1, 0, x'')")}) {
    absl::Status status = RawExec(sql);
    EXPECT_FALSE(status.ok()) << sql;
    EXPECT_THAT(status.message(), HasSubstr("append-only")) << sql;
  }
  ASSERT_OK_AND_ASSIGN(std::vector<v1::AuditEntry> all, audit().List(v1::ListAuditRequest()));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].code(), "PERMISSION_DENIED");
  v1::ListAuditRequest refused;
  refused.set_refused_only(true);
  EXPECT_THAT(ListIds(refused), ElementsAre(ids[0]));
}

TEST_F(AuditStoreTest, DamagedRowIsDataLoss) {
  AppendAll({{100, false}});
  // The triggers guard the table against cairn, not against a hand with the file:
  // arranging the damage needs them gone.
  ASSERT_OK(RawExec("DROP TRIGGER audit_is_append_only_update"));
  ASSERT_OK(RawExec("UPDATE audit SET data = x'ffffffff'"));
  EXPECT_EQ(audit().List(v1::ListAuditRequest()).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn
