// The daemons' log: one line per event on stderr, in logfmt, so journald,
// Loki (`| logfmt`) and grep can filter it by level, event and field.
//
//   ts=2026-12-02T17:20:01.123Z level=info event=backup.committed root=/data snapshot=9f2c...
//   files=12
//
// A line is `ts`, `level` and `event` first, then the event's fields in the
// order given. Keys are [a-z0-9_.]; a value is written bare when it is made
// of printable ASCII other than space, `"`, `=` and `\`, else in double
// quotes with `\"`, `\\`, `\n`, `\r`, `\t` and `\xNN` (any other control
// byte, and bytes that are not UTF-8) escaped, so a line is always one line
// of valid UTF-8 and ParseLine gives back the bytes that were logged.
// Under systemd (JOURNAL_STREAM names stderr) each line starts with the
// syslog priority (`<3>` error ... `<7>` debug), which journald takes as the
// entry's priority and strips. Events and their fields: docs/operations.md.
//
//   log::Info("agent.connected", {{"agent", name}, {"server", address}});
//   log::Error("backup.failed", {{"root", root}, {"error", status}});
#ifndef CAIRN_COMMON_LOG_LOG_H_
#define CAIRN_COMMON_LOG_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace cairn::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error".
absl::string_view LevelName(Level level);
// The inverse of LevelName ("warning" is taken for "warn"); an error that
// lists the four names for anything else.
absl::StatusOr<Level> ParseLevel(absl::string_view name);

// One key=value field of an event; the value is kept as text.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value) : key_(key), value_(value) {}
  Field(absl::string_view key, const std::string& value) : key_(key), value_(value) {}
  Field(absl::string_view key, const char* value) : key_(key), value_(value) {}
  template <typename T,
            typename = std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>>
  Field(absl::string_view key, T value) : key_(key), value_(std::to_string(value)) {}
  Field(absl::string_view key, bool value) : key_(key), value_(value ? "true" : "false") {}
  // Six significant digits (absl::StrCat's).
  Field(absl::string_view key, double value);
  // Seconds, with millisecond precision ("12.345").
  Field(absl::string_view key, absl::Duration value);
  // The status' message, prefixed with its code unless it is OK
  // ("NOT_FOUND: no such snapshot").
  Field(absl::string_view key, const absl::Status& status);

  absl::string_view key() const { return key_; }
  const std::string& value() const { return value_; }

 private:
  absl::string_view key_;
  std::string value_;
};

// The line (with its '\n') for an event at `when`.
std::string FormatLine(absl::Time when, Level level, absl::string_view event,
                       absl::Span<const Field> fields);

// The fields of a line FormatLine wrote (ts, level and event among them),
// with the values unescaped; an error for a line that is not logfmt. A key
// that repeats keeps its last value.
absl::StatusOr<std::map<std::string, std::string>> ParseLine(absl::string_view line);

// Events below `level` are dropped (default info).
void SetMinLevel(Level level);
Level MinLevel();

// Writes the event's line to stderr in one write, unless its level is below
// the minimum. Thread-safe.
void Event(Level level, absl::string_view event, std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view event, std::initializer_list<Field> fields = {}) {
  Event(Level::kDebug, event, fields);
}
inline void Info(absl::string_view event, std::initializer_list<Field> fields = {}) {
  Event(Level::kInfo, event, fields);
}
inline void Warn(absl::string_view event, std::initializer_list<Field> fields = {}) {
  Event(Level::kWarn, event, fields);
}
inline void Error(absl::string_view event, std::initializer_list<Field> fields = {}) {
  Event(Level::kError, event, fields);
}

}  // namespace cairn::log

#endif  // CAIRN_COMMON_LOG_LOG_H_
