// The little XML that S3 answers with: the texts of elements by name, in
// document order. Not a general parser: S3's replies are flat enough
// (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload, Error)
// that "every <Name>...</Name>" is all cairn needs. Entities (&amp; &lt;
// &gt; &quot; &apos; &#N; &#xN;) are decoded; anything malformed gives an
// error, never a guess.
//
//   ASSIGN_OR_RETURN(std::vector<std::string> keys, XmlTexts(body, "Key"));
#ifndef CAIRN_SERVER_TIERS_S3_S3_XML_H_
#define CAIRN_SERVER_TIERS_S3_S3_XML_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/xml_escape.h"  // XmlEscape, for the XML we send

namespace cairn {

// The decoded texts of every <element>...</element> in `xml`, in order.
// Elements with attributes (<Key a="b">) count too. DataLoss when one is not
// closed, holds markup, or has a bad entity.
absl::StatusOr<std::vector<std::string>> XmlTexts(absl::string_view xml, absl::string_view element);

// The first such text, or "" when there is none (or the XML is malformed).
std::string XmlFirstText(absl::string_view xml, absl::string_view element);

}  // namespace cairn

#endif  // CAIRN_SERVER_TIERS_S3_S3_XML_H_
