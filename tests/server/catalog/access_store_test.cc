// AccessStore on a real catalog file: certificate records round-trip, are
// listed per principal newest first, revoked and approved per principal and
// kind (and only the live ones), counted per tenant and checked for a live
// one at a given time; join tokens keep only a hash, lose one use per spend,
// refuse a spent, expired or unknown token, and a one-use token spent from
// many threads and from a second catalog connection at once is spent once.
#include "server/catalog/access_store.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
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
using ::testing::IsEmpty;

class AccessStoreTest : public StoreTest {
 protected:
  AccessStore& access() { return catalog().access(); }

  static CertificateRecord Agent(const std::string& serial, const std::string& name,
                                 const std::string& tenant, int64_t issued_ms = 1000) {
    return CertificateRecord{.serial = serial,
                             .kind = PrincipalKind::kAgent,
                             .name = name,
                             .tenant = tenant,
                             .issued_ms = issued_ms,
                             .expires_ms = issued_ms + 10000,
                             .created_by = "token:0123456789ab"};
  }
  static CertificateRecord Admin(const std::string& serial, const std::string& name) {
    return CertificateRecord{.serial = serial,
                             .kind = PrincipalKind::kAdmin,
                             .name = name,
                             .role = v1::ROLE_ADMIN,
                             .issued_ms = 1000,
                             .expires_ms = 11000,
                             .created_by = "admin:root"};
  }
  static v1::JoinToken Token(const std::string& id, uint32_t uses, int64_t expires_ms) {
    v1::JoinToken t;
    t.set_id(id);
    t.set_tenant("t1");
    t.set_agent_glob("gpu-*");
    t.set_expires_unix_ms(expires_ms);
    t.set_uses_left(uses);
    t.set_needs_approval(true);
    t.set_created_by("admin:alice");
    t.set_created_unix_ms(500);
    return t;
  }
  std::vector<std::string> Serials(PrincipalKind kind, const std::string& name = "") {
    absl::StatusOr<std::vector<CertificateRecord>> list = access().ListCertificates(kind, name);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<std::string> serials;
    for (const CertificateRecord& r : list.value_or(std::vector<CertificateRecord>())) {
      serials.push_back(r.serial);
    }
    return serials;
  }
};

TEST_F(AccessStoreTest, CertificateRoundTripsAcrossReopen) {
  CertificateRecord agent = Agent("4a01", "gpu-07", "t1");
  agent.pending = true;
  agent.revoked_ms = 7;
  ASSERT_OK(access().AddCertificate(agent));
  ASSERT_OK(access().AddCertificate(Admin("4a02", "alice")));
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> got, access().GetCertificate("4a01"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->serial, "4a01");
  EXPECT_EQ(got->kind, PrincipalKind::kAgent);
  EXPECT_EQ(got->name, "gpu-07");
  EXPECT_EQ(got->tenant, "t1");
  EXPECT_EQ(got->role, v1::ROLE_UNSPECIFIED);
  EXPECT_TRUE(got->pending);
  EXPECT_EQ(got->issued_ms, 1000);
  EXPECT_EQ(got->expires_ms, 11000);
  EXPECT_EQ(got->revoked_ms, 7);
  EXPECT_EQ(got->created_by, "token:0123456789ab");
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> admin, access().GetCertificate("4a02"));
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->kind, PrincipalKind::kAdmin);
  EXPECT_EQ(admin->role, v1::ROLE_ADMIN);
  EXPECT_FALSE(admin->pending);
  EXPECT_EQ(admin->revoked_ms, 0);
}

TEST_F(AccessStoreTest, UnknownSerialIsNulloptAndSerialsAreUnique) {
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> none, access().GetCertificate("ff"));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK(access().AddCertificate(Agent("4a01", "gpu-07", "t1")));
  absl::Status again = access().AddCertificate(Admin("4a01", "mallory"));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> kept, access().GetCertificate("4a01"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->name, "gpu-07");
  // A serial is text: hostile bytes are just an unknown serial.
  ASSERT_OK_AND_ASSIGN(none, access().GetCertificate("4a01' OR '1'='1"));
  EXPECT_FALSE(none.has_value());
}

TEST_F(AccessStoreTest, ListsPerPrincipalNewestFirst) {
  ASSERT_OK(access().AddCertificate(Agent("01", "gpu-07", "t1", 1000)));
  ASSERT_OK(access().AddCertificate(Agent("02", "gpu-07", "t1", 3000)));
  ASSERT_OK(access().AddCertificate(Agent("03", "gpu-08", "t1", 2000)));
  ASSERT_OK(access().AddCertificate(Admin("04", "gpu-07")));  // same name, other kind
  EXPECT_THAT(Serials(PrincipalKind::kAgent, "gpu-07"), ElementsAre("02", "01"));
  EXPECT_THAT(Serials(PrincipalKind::kAgent), ElementsAre("02", "03", "01"));
  EXPECT_THAT(Serials(PrincipalKind::kAdmin), ElementsAre("04"));
  EXPECT_THAT(Serials(PrincipalKind::kAdmin, "alice"), IsEmpty());
}

TEST_F(AccessStoreTest, RevokeTakesEveryLiveCertificateOfOnePrincipal) {
  CertificateRecord old = Agent("01", "gpu-07", "t1");
  old.revoked_ms = 50;
  ASSERT_OK(access().AddCertificate(old));
  ASSERT_OK(access().AddCertificate(Agent("02", "gpu-07", "t1")));
  ASSERT_OK(access().AddCertificate(Agent("03", "gpu-07", "t1")));
  ASSERT_OK(access().AddCertificate(Agent("04", "gpu-08", "t1")));
  ASSERT_OK(access().AddCertificate(Admin("05", "gpu-07")));
  ASSERT_OK_AND_ASSIGN(int revoked,
                       access().RevokeCertificates(PrincipalKind::kAgent, "gpu-07", 5000));
  EXPECT_EQ(revoked, 2);
  for (const auto& [serial, revoked_ms] : std::vector<std::pair<std::string, int64_t>>{
           {"01", 50}, {"02", 5000}, {"03", 5000}, {"04", 0}, {"05", 0}}) {
    ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> r, access().GetCertificate(serial));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->revoked_ms, revoked_ms) << serial;
  }
  ASSERT_OK_AND_ASSIGN(revoked, access().RevokeCertificates(PrincipalKind::kAgent, "gpu-07", 6000));
  EXPECT_EQ(revoked, 0);
  ASSERT_OK_AND_ASSIGN(revoked, access().RevokeCertificates(PrincipalKind::kAdmin, "nobody", 6000));
  EXPECT_EQ(revoked, 0);
}

TEST_F(AccessStoreTest, ApproveClearsOnlyThatAgentsLivePendingCertificates) {
  for (const char* serial : {"01", "02"}) {
    CertificateRecord r = Agent(serial, "gpu-07", "t1");
    r.pending = true;
    ASSERT_OK(access().AddCertificate(r));
  }
  CertificateRecord revoked = Agent("03", "gpu-07", "t1");
  revoked.pending = true;
  revoked.revoked_ms = 10;
  ASSERT_OK(access().AddCertificate(revoked));
  CertificateRecord other = Agent("04", "gpu-08", "t1");
  other.pending = true;
  ASSERT_OK(access().AddCertificate(other));
  ASSERT_OK_AND_ASSIGN(int approved, access().Approve("gpu-07"));
  EXPECT_EQ(approved, 2);
  for (const auto& [serial, pending] : std::vector<std::pair<std::string, bool>>{
           {"01", false}, {"02", false}, {"03", true}, {"04", true}}) {
    ASSERT_OK_AND_ASSIGN(std::optional<CertificateRecord> r, access().GetCertificate(serial));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->pending, pending) << serial;
  }
  ASSERT_OK_AND_ASSIGN(approved, access().Approve("gpu-07"));
  EXPECT_EQ(approved, 0);
  ASSERT_OK_AND_ASSIGN(approved, access().Approve("nobody"));
  EXPECT_EQ(approved, 0);
}

TEST_F(AccessStoreTest, LiveCertificateMeansUnrevokedAndUnexpired) {
  ASSERT_OK(access().AddCertificate(Agent("01", "gpu-07", "t1", 1000)));  // expires 11000
  ASSERT_OK_AND_ASSIGN(bool live,
                       access().HasLiveCertificate(PrincipalKind::kAgent, "gpu-07", 10999));
  EXPECT_TRUE(live);
  ASSERT_OK_AND_ASSIGN(live, access().HasLiveCertificate(PrincipalKind::kAgent, "gpu-07", 11000));
  EXPECT_FALSE(live);
  ASSERT_OK_AND_ASSIGN(live, access().HasLiveCertificate(PrincipalKind::kAdmin, "gpu-07", 5000));
  EXPECT_FALSE(live);
  ASSERT_OK_AND_ASSIGN(live, access().HasLiveCertificate(PrincipalKind::kAgent, "gpu-08", 5000));
  EXPECT_FALSE(live);
  // Revoking a principal takes its renewed certificate too.
  ASSERT_OK(access().AddCertificate(Agent("02", "gpu-07", "t1", 2000)));
  ASSERT_OK(access().RevokeCertificates(PrincipalKind::kAgent, "gpu-07", 3000).status());
  ASSERT_OK_AND_ASSIGN(live, access().HasLiveCertificate(PrincipalKind::kAgent, "gpu-07", 5000));
  EXPECT_FALSE(live);
}

TEST_F(AccessStoreTest, CountsDistinctUnrevokedAgentsPerTenant) {
  ASSERT_OK(access().AddCertificate(Agent("01", "gpu-07", "t1")));
  ASSERT_OK(access().AddCertificate(Agent("02", "gpu-07", "t1")));  // renewed: one agent
  ASSERT_OK(access().AddCertificate(Agent("03", "gpu-08", "t1")));
  ASSERT_OK(access().AddCertificate(Agent("04", "gpu-09", "t1")));
  ASSERT_OK(access().AddCertificate(Agent("05", "db-1", "t2")));
  ASSERT_OK(access().AddCertificate(Admin("06", "alice")));
  ASSERT_OK_AND_ASSIGN(int64_t count, access().CountAgents("t1"));
  EXPECT_EQ(count, 3);
  ASSERT_OK(access().RevokeCertificates(PrincipalKind::kAgent, "gpu-09", 100).status());
  ASSERT_OK_AND_ASSIGN(count, access().CountAgents("t1"));
  EXPECT_EQ(count, 2);
  ASSERT_OK_AND_ASSIGN(count, access().CountAgents("t2"));
  EXPECT_EQ(count, 1);
  ASSERT_OK_AND_ASSIGN(count, access().CountAgents("t3"));
  EXPECT_EQ(count, 0);
}

TEST_F(AccessStoreTest, TokenRoundTripsWithItsHash) {
  const std::string hash(32, '\xa7');
  ASSERT_OK(access().AddToken(Token("0123456789ab", 3, 9000), hash));
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> got, access().GetToken("0123456789ab"));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(MessageDifferencer::Equals(got->token, Token("0123456789ab", 3, 9000)))
      << got->token.DebugString();
  EXPECT_EQ(got->secret_hash, hash);
  ASSERT_OK_AND_ASSIGN(got, access().GetToken("ffffffffffff"));
  EXPECT_FALSE(got.has_value());
  EXPECT_EQ(access().AddToken(Token("0123456789ab", 1, 9000), hash).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(AccessStoreTest, EachSpendTakesOneUseUntilNoneIsLeft) {
  ASSERT_OK(access().AddToken(Token("aaaaaaaaaaaa", 3, 9000), "h"));
  for (uint32_t left : {2u, 1u, 0u}) {
    ASSERT_OK_AND_ASSIGN(bool spent, access().SpendToken("aaaaaaaaaaaa", 1000));
    EXPECT_TRUE(spent);
    ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken("aaaaaaaaaaaa"));
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->token.uses_left(), left);
  }
  ASSERT_OK_AND_ASSIGN(bool spent, access().SpendToken("aaaaaaaaaaaa", 1000));
  EXPECT_FALSE(spent);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken("aaaaaaaaaaaa"));
  EXPECT_EQ(t->token.uses_left(), 0u);  // never below zero
}

TEST_F(AccessStoreTest, ExpiredAndUnknownTokensAreNotSpent) {
  ASSERT_OK(access().AddToken(Token("bbbbbbbbbbbb", 5, 9000), "h"));
  ASSERT_OK_AND_ASSIGN(bool spent, access().SpendToken("bbbbbbbbbbbb", 9000));
  EXPECT_FALSE(spent);  // expires at 9000: not usable at 9000
  ASSERT_OK_AND_ASSIGN(spent, access().SpendToken("bbbbbbbbbbbb", 20000));
  EXPECT_FALSE(spent);
  ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken("bbbbbbbbbbbb"));
  EXPECT_EQ(t->token.uses_left(), 5u);
  ASSERT_OK_AND_ASSIGN(spent, access().SpendToken("bbbbbbbbbbbb", 8999));
  EXPECT_TRUE(spent);
  ASSERT_OK_AND_ASSIGN(spent, access().SpendToken("cccccccccccc", 1000));
  EXPECT_FALSE(spent);
  ASSERT_OK_AND_ASSIGN(spent, access().SpendToken("", 1000));
  EXPECT_FALSE(spent);
}

TEST_F(AccessStoreTest, OneUseTokenSpentConcurrentlyIsSpentOnce) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = absl::StrCat("dddddddddd0", round);
    ASSERT_OK(access().AddToken(Token(id, 1, 9000), "h"));
    // Another catalog on the same file: its own connections, as a second process would have.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Catalog> second, Catalog::Open(path_));
    std::atomic<int> wins{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      AccessStore* store = i % 2 == 0 ? &access() : &second->access();
      threads.emplace_back([&, store] {
        absl::StatusOr<bool> spent = store->SpendToken(id, 1000);
        if (!spent.ok()) ++errors;
        if (spent.ok() && *spent) ++wins;
      });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(errors.load(), 0) << "round " << round;
    ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken(id));
    EXPECT_EQ(t->token.uses_left(), 0u);
  }
}

TEST_F(AccessStoreTest, ListShowsUsableTokensAndForgetsLongExpiredOnes) {
  constexpr int64_t kDay = 24 * 3600 * 1000;
  const int64_t now = 10 * kDay;
  ASSERT_OK(access().AddToken(Token("000000000001", 2, now + 5000), "h"));
  ASSERT_OK(access().AddToken(Token("000000000002", 1, now + 1000), "h"));
  ASSERT_OK(access().AddToken(Token("000000000003", 0, now + 1000), "h"));      // spent
  ASSERT_OK(access().AddToken(Token("000000000004", 1, now - 1000), "h"));      // expired
  ASSERT_OK(access().AddToken(Token("000000000005", 1, now - kDay - 1), "h"));  // long ago
  ASSERT_OK_AND_ASSIGN(std::vector<v1::JoinToken> tokens, access().ListTokens(now));
  std::vector<std::string> ids;
  for (const v1::JoinToken& t : tokens) ids.push_back(t.id());
  EXPECT_THAT(ids, ElementsAre("000000000002", "000000000001"));  // soonest to expire first
  ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken("000000000004"));
  EXPECT_TRUE(t.has_value());  // expired within the day: still there
  ASSERT_OK_AND_ASSIGN(t, access().GetToken("000000000005"));
  EXPECT_FALSE(t.has_value());
}

TEST_F(AccessStoreTest, DeleteToken) {
  ASSERT_OK(access().AddToken(Token("eeeeeeeeeeee", 1, 9000), "h"));
  ASSERT_OK(access().DeleteToken("eeeeeeeeeeee"));
  ASSERT_OK_AND_ASSIGN(std::optional<StoredToken> t, access().GetToken("eeeeeeeeeeee"));
  EXPECT_FALSE(t.has_value());
  EXPECT_EQ(access().DeleteToken("eeeeeeeeeeee").code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(bool spent, access().SpendToken("eeeeeeeeeeee", 1000));
  EXPECT_FALSE(spent);
}

TEST_F(AccessStoreTest, DamagedTokenRowIsDataLoss) {
  ASSERT_OK(access().AddToken(Token("ffffffffffff", 1, 9000), "h"));
  ASSERT_OK(RawExec("UPDATE join_tokens SET data = x'ffffffff' WHERE id = 'ffffffffffff'"));
  EXPECT_EQ(access().GetToken("ffffffffffff").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(access().ListTokens(1000).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cairn
