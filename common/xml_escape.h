// Text for XML and SVG we write: & < > " ' escaped.
#ifndef CAIRN_COMMON_XML_ESCAPE_H_
#define CAIRN_COMMON_XML_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace cairn {

std::string XmlEscape(absl::string_view s);

}  // namespace cairn

#endif  // CAIRN_COMMON_XML_ESCAPE_H_
