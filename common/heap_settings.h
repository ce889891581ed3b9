// The server's malloc settings, for the server and for the tools that
// measure its parts (bench/catalog_scale), so both run the same heap.
#ifndef CAIRN_COMMON_HEAP_SETTINGS_H_
#define CAIRN_COMMON_HEAP_SETTINGS_H_

namespace cairn {

// Keeps freed large buffers in the heap instead of giving them back to the
// kernel at once. With glibc's defaults (an mmap threshold that starts at
// 128 KiB and adapts, a 128 KiB trim threshold):
//  - the ingest profile showed an upload faulting in and zeroing fresh pages
//    for its buffers, ~0.3 ns of server CPU per byte (docs/scale.md, "Cheap
//    ingest");
//  - recording chunk rows ran at half speed: the chunk_totals triggers make
//    SQLite keep a statement journal in memory for every insert, and the
//    heap grew and was trimmed back around each one (docs/scale.md).
// Settings from the environment (MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES) are left to win. Call first thing
// in main.
void KeepLargeBuffersInHeap();

}  // namespace cairn

#endif  // CAIRN_COMMON_HEAP_SETTINGS_H_
