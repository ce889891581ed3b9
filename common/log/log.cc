#include "common/log/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/base/attributes.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/utf8.h"

namespace cairn::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
ABSL_CONST_INIT absl::Mutex g_write_mu(absl::kConstInit);

bool BareByte(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '=' && c != '\\'; }

bool KeyByte(unsigned char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.';
}

void AppendKey(absl::string_view key, std::string* out) {
  if (key.empty()) {
    out->push_back('_');
    return;
  }
  for (unsigned char c : key) out->push_back(KeyByte(c) ? static_cast<char>(c) : '_');
}

void AppendValue(absl::string_view v, std::string* out) {
  bool bare = !v.empty();
  for (unsigned char c : v) {
    if (!BareByte(c)) {
      bare = false;
      break;
    }
  }
  if (bare) {
    out->append(v.data(), v.size());
    return;
  }
  out->push_back('"');
  size_t i = 0;
  while (i < v.size()) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c >= 0x80) {
      int n = Utf8Sequence(v.substr(i));
      if (n > 0) {
        out->append(v.data() + i, static_cast<size_t>(n));
        i += static_cast<size_t>(n);
        continue;
      }
      absl::StrAppendFormat(out, "\\x%02x", c);
    } else if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(out, "\\x%02x", c);
    } else {
      out->push_back(static_cast<char>(c));
    }
    ++i;
  }
  out->push_back('"');
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Whether stderr is the stream journald handed this process (systemd sets
// JOURNAL_STREAM to its "device:inode").
bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return absl::StrCat(st.st_dev, ":", st.st_ino) == stream;
}

int SyslogPriority(Level level) {
  switch (level) {
    case Level::kDebug:
      return 7;
    case Level::kInfo:
      return 6;
    case Level::kWarn:
      return 4;
    case Level::kError:
      return 3;
  }
  return 6;
}

}  // namespace

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return Level::kDebug;
  if (lower == "info") return Level::kInfo;
  if (lower == "warn" || lower == "warning") return Level::kWarn;
  if (lower == "error") return Level::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name, "\"; use debug, info, warn or error"));
}

Field::Field(absl::string_view key, double value) : key_(key), value_(absl::StrCat(value)) {}

Field::Field(absl::string_view key, absl::Duration value)
    : key_(key), value_(absl::StrFormat("%.3f", absl::ToDoubleSeconds(value))) {}

Field::Field(absl::string_view key, const absl::Status& status)
    : key_(key),
      value_(status.ok()
                 ? std::string("OK")
                 : absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message())) {}

std::string FormatLine(absl::Time when, Level level, absl::string_view event,
                       absl::Span<const Field> fields) {
  std::string line =
      absl::StrCat("ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", when, absl::UTCTimeZone()),
                   " level=", LevelName(level), " event=");
  AppendValue(event, &line);
  for (const Field& f : fields) {
    line.push_back(' ');
    AppendKey(f.key(), &line);
    line.push_back('=');
    AppendValue(f.value(), &line);
  }
  line.push_back('\n');
  return line;
}

absl::StatusOr<std::map<std::string, std::string>> ParseLine(absl::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  std::map<std::string, std::string> fields;
  size_t i = 0;
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("not a log line: ", what, " at byte ", i));
  };
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
      continue;
    }
    size_t key_start = i;
    while (i < line.size() && KeyByte(static_cast<unsigned char>(line[i]))) ++i;
    if (i == key_start || i >= line.size() || line[i] != '=') return bad("expected key=");
    std::string key(line.substr(key_start, i - key_start));
    ++i;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value.push_back(c);
          continue;
        }
        if (i >= line.size()) return bad("a dangling backslash");
        char e = line[i++];
        switch (e) {
          case '"':
          case '\\':
            value.push_back(e);
            break;
          case 'n':
            value.push_back('\n');
            break;
          case 'r':
            value.push_back('\r');
            break;
          case 't':
            value.push_back('\t');
            break;
          case 'x': {
            if (i + 2 > line.size()) return bad("a short \\x escape");
            int hi = HexDigit(line[i]);
            int lo = HexDigit(line[i + 1]);
            if (hi < 0 || lo < 0) return bad("a bad \\x escape");
            value.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
            break;
          }
          default:
            return bad("an unknown escape");
        }
      }
      if (!closed) return bad("an unclosed quote");
      if (i < line.size() && line[i] != ' ') return bad("text after a closing quote");
    } else {
      size_t start = i;
      while (i < line.size() && line[i] != ' ') {
        if (!BareByte(static_cast<unsigned char>(line[i]))) return bad("a byte that needs quotes");
        ++i;
      }
      value = std::string(line.substr(start, i - start));
    }
    fields[key] = std::move(value);
  }
  if (!fields.contains("ts") || !fields.contains("level") || !fields.contains("event")) {
    return absl::InvalidArgumentError("not a log line: ts, level or event is missing");
  }
  return fields;
}

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

Level MinLevel() { return static_cast<Level>(g_min_level.load()); }

void Event(Level level, absl::string_view event, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  const bool journal = StderrIsJournal();  // Cheap next to the write.
  std::string line = FormatLine(absl::Now(), level, event, fields);
  if (journal) line.insert(0, absl::StrCat("<", SyslogPriority(level), ">"));
  // One write per line (under a lock, so lines longer than PIPE_BUF do not
  // interleave either); a short write is finished, EINTR retried.
  absl::MutexLock lock(&g_write_mu);
  absl::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // Nowhere to say it.
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace cairn::log
