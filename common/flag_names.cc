#include "common/flag_names.h"

#include <algorithm>
#include <iostream>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace cairn {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> storage(argv, argv + argc);
  for (int i = 1; i < argc; ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;  // the rest are positional
    if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') continue;
    size_t end = arg.find('=');
    if (end == std::string::npos) end = arg.size();
    for (size_t k = 2; k < end; ++k) {
      if (arg[k] == '-') arg[k] = '_';
    }
  }
  for (int i = 0; i < argc; ++i) argv[i] = storage[i].data();
  return storage;
}

bool PrintHelpIfAsked(int argc, char** argv, std::string_view usage, std::string_view flags_file,
                      bool help_word) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (!(arg == "--help" || arg == "-h" || (help_word && i == 1 && arg == "help"))) continue;
    std::vector<std::string> lines;
    for (const auto& [name, flag] : absl::GetAllFlags()) {
      if (!absl::EndsWith(flag->Filename(), absl::string_view(flags_file.data(), flags_file.size()))) {
        continue;
      }
      std::string default_value = flag->DefaultValue();
      lines.push_back(absl::StrCat(
          "  --", absl::StrReplaceAll(name, {{"_", "-"}}), "  ", flag->Help(),
          default_value.empty() ? "" : absl::StrCat(" (default: ", default_value, ")"), "\n"));
    }
    std::sort(lines.begin(), lines.end());
    std::cout << usage << "\n\nFlags:\n" << absl::StrJoin(lines, "");
    return true;
  }
  return false;
}

}  // namespace cairn
