// ParseUploadRequest against the generated protobuf parser: on messages the
// agent writes, cut into slices anywhere, it reads the same fields; on
// hostile bytes (random, truncated, mutated) it never crashes, and whatever
// it accepts the generated parser accepts with the same fields.
#include "server/rpc/upload_request.h"

#include <grpcpp/support/byte_buffer.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "cairn/v1/agent.pb.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// `bytes` cut into pieces at random places (some empty).
std::vector<absl::string_view> Cut(std::mt19937_64& rng, absl::string_view bytes) {
  std::vector<absl::string_view> pieces;
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), rng() % 3 == 0 ? 0 : 1 + rng() % 700);
    pieces.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (rng() % 2) pieces.push_back({});
  return pieces;
}

std::string Joined(const std::vector<absl::string_view>& pieces) {
  std::string out;
  for (absl::string_view p : pieces) out.append(p.data(), p.size());
  return out;
}

v1::UploadChunkRequest RandomRequest(std::mt19937_64& rng) {
  v1::UploadChunkRequest r;
  if (rng() % 2) r.set_job_id("job-" + std::to_string(rng() % 100000));
  r.set_id(RandomBytes(rng, 32));
  r.set_size(static_cast<uint32_t>(rng()));
  r.set_sealed(RandomBytes(rng, rng() % 5000));
  if (rng() % 3 == 0) r.set_base_id(RandomBytes(rng, 32));
  return r;
}

void ExpectSame(const v1::UploadChunkRequest& want, const UploadRequest& got) {
  EXPECT_EQ(got.job_id, want.job_id());
  EXPECT_EQ(got.id, want.id());
  EXPECT_EQ(got.size, want.size());
  EXPECT_EQ(got.base_id, want.base_id());
  EXPECT_EQ(Joined(got.sealed), want.sealed());
  EXPECT_EQ(got.sealed_bytes, want.sealed().size());
}

TEST(UploadRequestTest, ReadsWhatTheAgentWritesWhereverTheSlicesEnd) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 500; ++i) {
    const v1::UploadChunkRequest want = RandomRequest(rng);
    const std::string wire = want.SerializeAsString();
    UploadRequest got;
    ASSERT_TRUE(ParseUploadRequestPieces(Cut(rng, wire), &got).ok()) << i;
    ExpectSame(want, got);
  }
}

TEST(UploadRequestTest, ParsesAGrpcByteBufferWithoutCopyingTheSealedChunk) {
  std::mt19937_64 rng(2);
  v1::UploadChunkRequest want = RandomRequest(rng);
  want.set_sealed(RandomBytes(rng, 3 << 20));
  const std::string wire = want.SerializeAsString();
  std::vector<grpc::Slice> slices;
  for (absl::string_view piece : Cut(rng, wire)) slices.emplace_back(piece.data(), piece.size());
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  UploadRequest got;
  ASSERT_TRUE(ParseUploadRequest(buffer, &got).ok());
  ExpectSame(want, got);
  // Every piece of the sealed chunk points into the slices the request holds.
  for (absl::string_view piece : got.sealed) {
    bool inside = false;
    for (const grpc::Slice& s : got.slices) {
      const char* begin = reinterpret_cast<const char*>(s.begin());
      inside |= piece.data() >= begin && piece.data() + piece.size() <= begin + s.size();
    }
    EXPECT_TRUE(inside);
  }
}

TEST(UploadRequestTest, FollowsTheWireFormatsRules) {
  v1::UploadChunkRequest first;
  first.set_id("first-id");
  first.set_sealed("first sealed");
  first.set_size(7);
  v1::UploadChunkRequest second;
  second.set_id("second-id");
  second.set_sealed("second");
  // Concatenated messages merge: the last occurrence of each field wins.
  std::string wire = first.SerializeAsString() + second.SerializeAsString();
  // An unknown field of each wire type, and a known field with a wrong one.
  wire += std::string("\x30\x05", 2);                    // field 6, varint
  wire += std::string("\x39", 1) + std::string(8, 'x');  // field 7, fixed64
  wire += std::string("\x45", 1) + std::string(4, 'y');  // field 8, fixed32
  wire += std::string(
      "\x4a\x03"
      "abc",
      5);                              // field 9, bytes
  wire += std::string("\x18\x09", 2);  // size = 9
  wire += std::string("\x22\x00", 2) + std::string(
                                           "\x22\x02"
                                           "ok",
                                           4);           // sealed "", then "ok"
  wire += std::string("\x1d", 1) + std::string(4, 'z');  // size (3) as fixed32: skipped
  v1::UploadChunkRequest want;
  ASSERT_TRUE(want.ParseFromString(wire));
  UploadRequest got;
  ASSERT_TRUE(ParseUploadRequestPieces({wire}, &got).ok());
  ExpectSame(want, got);
  EXPECT_EQ(got.size, 9u);
  EXPECT_EQ(Joined(got.sealed), "ok");
  // A uint32 keeps the low 32 bits of a longer varint.
  std::string wide("\x18\xff\xff\xff\xff\xff\x01", 7);
  ASSERT_TRUE(want.ParseFromString(wide));
  ASSERT_TRUE(ParseUploadRequestPieces({wide}, &got).ok());
  EXPECT_EQ(got.size, want.size());
  // An empty message is every field at its default.
  ASSERT_TRUE(ParseUploadRequestPieces({}, &got).ok());
  EXPECT_TRUE(got.id.empty() && got.sealed.empty() && got.size == 0);
}

TEST(UploadRequestTest, RefusesMalformedBytes) {
  const std::vector<std::string> bad = {
      std::string("\x22\x05"
                  "abc",
                  5),                                           // sealed shorter than its length
      std::string("\x22", 1),                                   // a length that is not there
      std::string("\x18\x80", 2),                               // a varint cut short
      std::string("\x18") + std::string(10, '\xff') + "\x01",   // an 11-byte varint
      std::string("\x00\x01", 2),                               // field number 0
      std::string("\x23\x24", 2),                               // a group
      std::string("\x0a\x02\xc3\x28", 4),                       // job_id not UTF-8
      std::string("\x12\x81\x08", 3) + std::string(1025, 'i'),  // an id of 1,025 bytes
      std::string("\x98\x80\x80\x80\x80\x00\x01", 7),           // a tag padded to 6 bytes
      std::string("\x22\x82\x80\x80\x80\x80\x00"
                  "ab",
                  9),  // a length padded to 6 bytes
      std::string("\x0a\x01\xff\x0a\x01"
                  "a",
                  6),  // a bad job_id, then a good one
  };
  for (const std::string& wire : bad) {
    UploadRequest got;
    absl::Status status = ParseUploadRequestPieces({wire}, &got);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << absl::CEscape(wire) << ": " << status;
  }
}

// A message in thousands of tiny slices is joined first, and read the same.
TEST(UploadRequestTest, AMessageInThousandsOfSlicesIsJoinedFirst) {
  std::mt19937_64 rng(4);
  v1::UploadChunkRequest want = RandomRequest(rng);
  want.set_sealed(RandomBytes(rng, 200000));
  const std::string wire = want.SerializeAsString();
  // 40-byte slices: too long for gRPC to inline and merge them.
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i < wire.size(); i += 40) {
    slices.emplace_back(wire.data() + i, std::min<size_t>(40, wire.size() - i));
  }
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  std::vector<grpc::Slice> held;
  ASSERT_TRUE(buffer.Dump(&held).ok());
  ASSERT_GT(held.size(), 4096u);
  UploadRequest got;
  ASSERT_TRUE(ParseUploadRequest(buffer, &got).ok());
  ExpectSame(want, got);
  EXPECT_EQ(got.slices.size(), 1u);
  EXPECT_EQ(got.sealed.size(), 1u);
}

// Random and mutated bytes: no crash, and nothing accepted that the
// generated parser refuses or reads otherwise (groups aside: we refuse them).
TEST(UploadRequestTest, HostileBytesAreReadAsTheGeneratedParserReadsThem) {
  std::mt19937_64 rng(3);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string wire;
    if (i % 2) {
      wire = RandomBytes(rng, rng() % 64);
    } else {
      wire = RandomRequest(rng).SerializeAsString();
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !wire.empty(); ++e) {
        switch (rng() % 3) {
          case 0:
            wire[rng() % wire.size()] = static_cast<char>(rng());
            break;
          case 1:
            wire.resize(rng() % wire.size());
            break;
          default:
            wire.insert(rng() % (wire.size() + 1), 1, static_cast<char>(rng()));
        }
      }
    }
    UploadRequest got;
    const bool ours = ParseUploadRequestPieces(Cut(rng, wire), &got).ok();
    v1::UploadChunkRequest want;
    const bool theirs = want.ParseFromString(wire);
    if (ours) {
      ++accepted;
      ASSERT_TRUE(theirs) << "accepted what protobuf refuses: " << absl::CEscape(wire);
      ExpectSame(want, got);
    }
  }
  EXPECT_GT(accepted, 1000);  // the comparison really ran
}

}  // namespace
}  // namespace cairn
