#include "server/tiers/s3/s3_xml.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

absl::Status AppendCodePoint(uint32_t cp, std::string* out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return absl::DataLossError("XML character reference out of range");
  }
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Decode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '<') return absl::DataLossError("markup inside an XML element text");
    if (c != '&') {
      out.push_back(c);
      continue;
    }
    size_t end = text.find(';', i);
    if (end == absl::string_view::npos || end - i > 12) {
      return absl::DataLossError("unterminated XML entity");
    }
    absl::string_view entity = text.substr(i + 1, end - i - 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#') {
      uint32_t cp = 0;
      bool ok = entity[1] == 'x' ? absl::SimpleHexAtoi(entity.substr(2), &cp)
                                 : absl::SimpleAtoi(entity.substr(1), &cp);
      if (!ok) return absl::DataLossError("bad XML character reference");
      absl::Status s = AppendCodePoint(cp, &out);
      if (!s.ok()) return s;
    } else {
      return absl::DataLossError(absl::StrCat("unknown XML entity &", entity, ";"));
    }
    i = end;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> XmlTexts(absl::string_view xml,
                                                  absl::string_view element) {
  std::vector<std::string> texts;
  const std::string open = absl::StrCat("<", element);
  const std::string close = absl::StrCat("</", element, ">");
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != absl::string_view::npos) {
    size_t after = pos + open.size();
    if (after >= xml.size()) return absl::DataLossError("XML ends inside a tag");
    char next = xml[after];
    if (next != '>' && next != ' ' && next != '/') {  // <KeyCount> is not <Key>
      pos = after;
      continue;
    }
    size_t tag_end = xml.find('>', after);
    if (tag_end == absl::string_view::npos) return absl::DataLossError("XML ends inside a tag");
    if (xml[tag_end - 1] == '/') {  // <Key/>
      texts.emplace_back();
      pos = tag_end + 1;
      continue;
    }
    size_t end = xml.find(close, tag_end + 1);
    if (end == absl::string_view::npos) {
      return absl::DataLossError(absl::StrCat("XML element <", element, "> is not closed"));
    }
    absl::StatusOr<std::string> text = Decode(xml.substr(tag_end + 1, end - tag_end - 1));
    if (!text.ok()) return text.status();
    texts.push_back(*std::move(text));
    pos = end + close.size();
  }
  return texts;
}

std::string XmlFirstText(absl::string_view xml, absl::string_view element) {
  absl::StatusOr<std::vector<std::string>> texts = XmlTexts(xml, element);
  if (!texts.ok() || texts->empty()) return "";
  return texts->front();
}

}  // namespace cairn
