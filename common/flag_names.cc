#include "common/flag_names.h"

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

}  // namespace cairn
