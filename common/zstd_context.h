// One zstd context per thread: creating one costs far more than compressing a
// small chunk, and a context must not be shared between threads.
#ifndef CAIRN_COMMON_ZSTD_CONTEXT_H_
#define CAIRN_COMMON_ZSTD_CONTEXT_H_

#include <zstd.h>

namespace cairn {

// nullptr only when zstd cannot allocate.
ZSTD_CCtx* ThreadZstdCCtx();
ZSTD_DCtx* ThreadZstdDCtx();

}  // namespace cairn

#endif  // CAIRN_COMMON_ZSTD_CONTEXT_H_
