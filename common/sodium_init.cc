#include "common/sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace cairn {

void EnsureSodiumInitialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // 0 = initialised now, 1 = someone (another library) already did it.
    if (sodium_init() < 0) {
      std::fprintf(stderr, "cairn: sodium_init failed; refusing to run without libsodium\n");
      std::abort();
    }
  });
}

}  // namespace cairn
