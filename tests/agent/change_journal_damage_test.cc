// ChangeJournal reading damaged files: torn tails (truncation, zeros, a bad
// last checksum), corruption in the middle, hostile length fields, records
// that checksum but do not parse, files that are not journals, and every
// single-bit flip. Never a record that was not written.
#include <sodium.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/change_journal.h"
#include "gtest/gtest.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/change_journal_test_util.h"

namespace cairn {
namespace {

// The record framing documented in change_journal.cc, written independently
// here so a test can plant records that checksum correctly but do not parse.
std::string Frame(uint8_t type, absl::string_view payload) {
  std::string out;
  uint32_t n = static_cast<uint32_t>(1 + payload.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  out.push_back(static_cast<char>(type));
  out.append(payload.data(), payload.size());
  unsigned char sum[crypto_generichash_BYTES_MIN];
  crypto_generichash(sum, sizeof(sum), reinterpret_cast<const unsigned char*>(out.data()),
                     out.size(), nullptr, 0);
  out.append(reinterpret_cast<const char*>(sum), 8);
  return out;
}
std::string U64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

class ChangeJournalDamageTest : public ChangeJournalTest {
 protected:
  // Builds a journal of three synced dirty records (a, b, c) and returns the
  // file offsets where each record starts plus the file's end.
  void SetUp() override {
    ChangeJournalTest::SetUp();
    auto journal = OpenOrDie(path_);
    ASSERT_NE(journal, nullptr);
    offsets_.push_back(FileSize(path_));
    for (const char* name : {"a", "b", "c"}) {
      CAIRN_ASSERT_OK(journal->Add(name, T(1)));
      CAIRN_ASSERT_OK(journal->Sync());
      offsets_.push_back(FileSize(path_));
    }
    journal.reset();
    absl::StatusOr<std::string> bytes = ReadFile(path_);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    good_ = *bytes;
  }

  struct Opened {
    absl::Status status;
    std::vector<std::string> names;
    bool everything = false;
    std::string note;
  };
  Opened OpenCopy(absl::string_view contents) {
    std::string copy = CopyWith(contents);
    Opened out;
    absl::StatusOr<std::unique_ptr<ChangeJournal>> journal = ChangeJournal::Open(copy);
    out.status = journal.status();
    if (!journal.ok()) return out;
    ChangeJournal::Pending pending = (*journal)->Snapshot();
    out.names = Names(pending);
    out.everything = pending.everything;
    out.note = (*journal)->recovery_note();
    return out;
  }

  std::vector<uint64_t> offsets_;  // record i spans [offsets_[i], offsets_[i+1])
  std::string good_;
};

TEST_F(ChangeJournalDamageTest, TruncationAnywhereInTheLastRecordIsATornTail) {
  for (uint64_t cut = offsets_[2] + 1; cut < offsets_[3]; ++cut) {
    Opened o = OpenCopy(good_.substr(0, cut));
    CAIRN_ASSERT_OK(o.status);
    EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b"})) << "cut at " << cut;
    EXPECT_FALSE(o.everything) << "cut at " << cut;
    EXPECT_NE(o.note.find(absl::StrCat("torn tail of ", cut - offsets_[2], " bytes at offset ",
                                       offsets_[2])),
              std::string::npos)
        << o.note;
  }
}

TEST_F(ChangeJournalDamageTest, TrailingZerosAreATornTail) {
  Opened o = OpenCopy(good_ + std::string(8192, '\0'));
  CAIRN_ASSERT_OK(o.status);
  EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(o.everything);
  EXPECT_NE(o.note.find("torn tail of 8192 bytes"), std::string::npos) << o.note;
}

TEST_F(ChangeJournalDamageTest, BadChecksumOnTheLastRecordIsATornTail) {
  std::string damaged = good_;
  damaged.back() ^= 0x01;
  Opened o = OpenCopy(damaged);
  CAIRN_ASSERT_OK(o.status);
  EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(o.everything);
  EXPECT_NE(o.note.find("torn tail"), std::string::npos) << o.note;
}

TEST_F(ChangeJournalDamageTest, CorruptionInTheMiddleKeepsThePrefixAndMarksEverything) {
  std::string damaged = good_;
  damaged[offsets_[1] + 6] ^= 0x20;  // inside record b's body
  std::string copy = CopyWith(damaged);
  {
    auto journal = OpenOrDie(copy);
    ASSERT_NE(journal, nullptr);
    EXPECT_NE(journal->recovery_note().find(
                  absl::StrCat("corrupt record at offset ", offsets_[1], " (checksum mismatch)")),
              std::string::npos)
        << journal->recovery_note();
    ChangeJournal::Pending pending = journal->Snapshot();
    EXPECT_TRUE(pending.everything);
    EXPECT_EQ(Names(pending), (std::vector<std::string>{"a"}));
  }
  // Rewritten clean: no note the second time, the state is the same.
  auto journal = OpenOrDie(copy);
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->recovery_note(), "");
  EXPECT_TRUE(journal->Snapshot().everything);
  EXPECT_EQ(Names(journal->Snapshot()), (std::vector<std::string>{"a"}));
}

TEST_F(ChangeJournalDamageTest, HostileLengthFields) {
  auto with_length = [&](uint64_t record, uint32_t n) {
    std::string damaged = good_;
    for (int i = 0; i < 4; ++i) damaged[record + i] = static_cast<char>(n >> (8 * i));
    return damaged;
  };
  // In the middle: 0, one short, one long, over the maximum, the largest u32.
  const uint32_t b_length = static_cast<uint32_t>(offsets_[2] - offsets_[1] - 12);
  for (uint32_t n : {0u, b_length - 1, b_length + 1, 1u + 16u + 4096u + 1u, 0xffffffffu}) {
    Opened o = OpenCopy(with_length(offsets_[1], n));
    CAIRN_ASSERT_OK(o.status);
    EXPECT_EQ(o.names, (std::vector<std::string>{"a"})) << n;
    EXPECT_TRUE(o.everything) << n;
    EXPECT_NE(o.note.find(absl::StrCat("corrupt record at offset ", offsets_[1])),
              std::string::npos)
        << n << ": " << o.note;
  }
  // The last record claiming more than the file holds: torn.
  Opened o = OpenCopy(with_length(offsets_[2], 4000));
  CAIRN_ASSERT_OK(o.status);
  EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(o.everything);
  EXPECT_NE(o.note.find("runs past the end"), std::string::npos) << o.note;
}

TEST_F(ChangeJournalDamageTest, WellChecksummedRecordsThatDoNotParse) {
  const std::string prefix = good_.substr(0, offsets_[1]);  // magic + record a
  const std::string tail = good_.substr(offsets_[1]);
  struct Case {
    std::string record;
    std::string why;
  };
  std::vector<Case> cases = {
      {Frame(9, U64(1)), "type 9"},
      {Frame(2, "short"), "type 2 with a 5-byte payload"},
      {Frame(1, U64(7)), "type 1 with a 8-byte payload"},
      {Frame(1, U64(7) + U64(0) + "../escape"), "bad path"},
      {Frame(1, U64(7) + U64(0) + "a//b"), "bad path"},
  };
  for (const Case& c : cases) {
    Opened o = OpenCopy(prefix + c.record + tail);
    CAIRN_ASSERT_OK(o.status);
    EXPECT_EQ(o.names, (std::vector<std::string>{"a"})) << c.why;
    EXPECT_TRUE(o.everything) << c.why;
    EXPECT_NE(o.note.find(c.why), std::string::npos) << o.note;
  }
  // A planted record that does parse is taken (the checksum guards against
  // damage, not forgery: the journal lives in the agent's own state dir).
  Opened o = OpenCopy(prefix + Frame(1, U64(2) + U64(0) + "planted") + tail);
  CAIRN_ASSERT_OK(o.status);
  EXPECT_EQ(o.names, (std::vector<std::string>{"a", "b", "c", "planted"}));
  EXPECT_EQ(o.note, "");
}

TEST_F(ChangeJournalDamageTest, NotAJournalIsRefusedAndLeftAlone) {
  for (std::string contents : {std::string("plain text that is not a journal at all"),
                               std::string("CAIRNCJ2") + good_.substr(8), std::string("XAIR")}) {
    std::string copy = CopyWith(contents);
    absl::StatusOr<std::unique_ptr<ChangeJournal>> journal = ChangeJournal::Open(copy);
    EXPECT_EQ(journal.status().code(), absl::StatusCode::kFailedPrecondition) << journal.status();
    EXPECT_NE(journal.status().message().find("not a cairn change journal"),
              absl::string_view::npos);
    absl::StatusOr<std::string> after = ReadFile(copy);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(*after, contents);
  }
  // A creation cut short inside the magic starts a new journal.
  Opened o = OpenCopy("CAIR");
  CAIRN_ASSERT_OK(o.status);
  EXPECT_TRUE(o.names.empty());
}

// Every single-bit flip gives either a refusal (the magic), the state after
// some prefix of the records, or that prefix with everything marked dirty.
// Never a record that was not written.
TEST_F(ChangeJournalDamageTest, BitFlipsNeverYieldRecordsThatWereNotWritten) {
  const std::vector<std::vector<std::string>> prefixes = {{}, {"a"}, {"a", "b"}, {"a", "b", "c"}};
  for (size_t byte = 0; byte < good_.size(); ++byte) {
    for (int bit : {0, 3, 7}) {
      std::string damaged = good_;
      damaged[byte] ^= static_cast<char>(1 << bit);
      Opened o = OpenCopy(damaged);
      if (byte < 8) {
        EXPECT_EQ(o.status.code(), absl::StatusCode::kFailedPrecondition) << byte;
        continue;
      }
      ASSERT_TRUE(o.status.ok()) << "byte " << byte << " bit " << bit << ": " << o.status;
      bool is_prefix = false;
      for (const auto& prefix : prefixes) is_prefix |= o.names == prefix;
      EXPECT_TRUE(is_prefix) << "byte " << byte << " bit " << bit;
      EXPECT_FALSE(o.note.empty()) << "byte " << byte << " bit " << bit;
      // Losing a record that is not the last one must mark everything.
      if (byte < offsets_[2]) {
        EXPECT_TRUE(o.everything) << "byte " << byte << " bit " << bit;
      }
    }
  }
}

}  // namespace
}  // namespace cairn
