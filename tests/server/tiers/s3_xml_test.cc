// The XML reader for S3's replies: texts by element, entities, malformed input.
#include "server/tiers/s3/s3_xml.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(S3XmlTest, ListReplyKeysAndSizes) {
  constexpr char kList[] =
      "<?xml version=\"1.0\"?><ListBucketResult><KeyCount>2</KeyCount>"
      "<Contents><Key>p/pack-1</Key><Size>10</Size></Contents>"
      "<Contents><Key>p/a&amp;b</Key><Size>0</Size></Contents>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>t+1=</NextContinuationToken>"
      "</ListBucketResult>";
  absl::StatusOr<std::vector<std::string>> keys = XmlTexts(kList, "Key");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre("p/pack-1", "p/a&b"));  // <KeyCount> is not <Key>
  EXPECT_EQ(XmlFirstText(kList, "IsTruncated"), "true");
  EXPECT_EQ(XmlFirstText(kList, "NextContinuationToken"), "t+1=");
  EXPECT_EQ(XmlFirstText(kList, "Missing"), "");
}

TEST(S3XmlTest, EntitiesAndAttributes) {
  absl::StatusOr<std::vector<std::string>> t =
      XmlTexts("<a x=\"1\">&lt;&gt;&quot;&apos;&#65;&#x263A;</a><a/>", "a");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(*t, ElementsAre("<>\"'A\xE2\x98\xBA", ""));
  EXPECT_THAT(*XmlTexts("<b>1</b>", "a"), IsEmpty());
}

TEST(S3XmlTest, MalformedIsDataLoss) {
  for (const char* bad : {"<a>open", "<a>x<b>y</b></a>", "<a>&bogus;</a>", "<a>&amp</a>",
                          "<a>&#0;</a>", "<a>&#xD800;</a>", "<a", "<a x"}) {
    absl::StatusOr<std::vector<std::string>> t = XmlTexts(bad, "a");
    EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

TEST(S3XmlTest, EscapeRoundTrips) {
  EXPECT_EQ(XmlEscape("\"a&b<c>'"), "&quot;a&amp;b&lt;c&gt;&apos;");
  EXPECT_THAT(*XmlTexts("<e>" + XmlEscape("x&<>\"'y") + "</e>", "e"), ElementsAre("x&<>\"'y"));
}

}  // namespace
}  // namespace cairn
