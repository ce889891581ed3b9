#include "common/chunker.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace cairn {
namespace {

// Our own gear table: 256 pseudo-random words from splitmix64 with a fixed
// seed. Changing the seed or the generator changes every chunk boundary.
constexpr uint64_t kGearSeed = 0x636169726e2d6364;  // "cairn-cd"

constexpr uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

constexpr std::array<uint64_t, 256> MakeGearTable(int shift) {
  std::array<uint64_t, 256> table{};
  uint64_t state = kGearSeed;
  for (uint64_t& entry : table) entry = SplitMix64(state) << shift;
  return table;
}

constexpr std::array<uint64_t, 256> kGear = MakeGearTable(0);
// kGear shifted left by one: lets the scan roll two bytes per step with one
// shift (the FastCDC 2020 trick), see ScanForCut.
constexpr std::array<uint64_t, 256> kGearShifted = MakeGearTable(1);

// The hash of a position covers the 64 bytes ending there (each step shifts
// the oldest byte's contribution one bit further up and out). Hashing starts
// this many bytes before the first candidate so every candidate sees a full
// window, and whether it is a boundary does not depend on where the chunk began.
constexpr size_t kWindow = 64;

// `bits` one-bits ending at bit 62. The high bits of a gear hash depend on the
// most bytes; bit 63 is left out so the mask can be tested on the hash shifted
// left by one (two-bytes-per-step scan).
constexpr uint64_t MaskOfBits(int bits) { return ((uint64_t{1} << bits) - 1) << (63 - bits); }

// Normalized chunking, level 2: below the average size the mask has two more
// bits (a cut is 4x less likely), above it two fewer (4x more likely), which
// pulls chunk sizes toward the average.
constexpr int kNormalization = 2;

}  // namespace

Chunker::Masks Chunker::MasksFor(uint32_t avg_size) {
  // bits = log2(avg_size) rounded to the nearest integer (geometrically).
  int bits = std::bit_width(avg_size) - 1;
  uint64_t floor_pow = uint64_t{1} << bits;
  if (uint64_t{avg_size} * avg_size >= 2 * floor_pow * floor_pow) ++bits;
  return Masks{MaskOfBits(bits + kNormalization), MaskOfBits(bits - kNormalization)};
}

namespace {

// Scans data[from, to) for the first position whose hash (after rolling in
// that byte) has no bit of `mask` set; returns one past it, or 0 if none
// (from > 0 always). *hash carries the rolling state across calls.
inline size_t ScanForCut(const uint8_t* data, size_t from, size_t to, uint64_t mask,
                         uint64_t* hash) {
  uint64_t h = *hash;
  const uint64_t mask_shifted = mask << 1;
  size_t i = from;
  for (; i + 2 <= to; i += 2) {
    // h << 1 after rolling data[i], computed as one shift for two bytes.
    h = (h << 2) + kGearShifted[data[i]];
    if ((h & mask_shifted) == 0) return i + 1;
    h += kGear[data[i + 1]];
    if ((h & mask) == 0) return i + 2;
  }
  if (i < to) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask) == 0) return i + 1;
  }
  *hash = h;
  return 0;
}

// A small file never costs more than this much buffer.
constexpr size_t kInitialBufferSize = 64 << 10;
// Read this much at a time and scan it at once, while it is still in cache.
constexpr size_t kReadBlock = 1 << 20;

}  // namespace

ChunkerParams ChunkerParams::Default() {
  return ChunkerParams{.min_size = 512 << 10, .avg_size = 2 << 20, .max_size = 8 << 20};
}

absl::Status ChunkerParams::Validate() const {
  if (min_size < kWindow || min_size >= avg_size || avg_size >= max_size ||
      max_size > kMaxChunkSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunker params min=", min_size, " avg=", avg_size, " max=", max_size,
                     " are invalid: need ", kWindow, " <= min < avg < max <= ", kMaxChunkSize));
  }
  return absl::OkStatus();
}

size_t Chunker::ContinueScan(const ChunkerParams& params, const Masks& masks, const uint8_t* data,
                             size_t n, ScanState* state) {
  if (n <= params.min_size) return 0;
  if (state->scanned < params.min_size) {
    // A cut after data[i] gives a chunk of i + 1 bytes, so the first
    // candidate is data[min_size]; its hash needs the kWindow bytes before.
    uint64_t hash = 0;
    for (size_t i = params.min_size - kWindow; i < params.min_size; ++i) {
      hash = (hash << 1) + kGear[data[i]];
    }
    state->hash = hash;
    state->scanned = params.min_size;
  }
  const size_t limit = std::min<size_t>(n, params.max_size);
  if (state->scanned < params.avg_size) {
    const size_t to = std::min<size_t>(limit, params.avg_size);
    if (size_t cut = ScanForCut(data, state->scanned, to, masks.hard, &state->hash)) return cut;
    state->scanned = to;
  }
  if (state->scanned < limit) {
    if (size_t cut = ScanForCut(data, state->scanned, limit, masks.easy, &state->hash)) return cut;
    state->scanned = limit;
  }
  return state->scanned == params.max_size ? params.max_size : 0;
}

size_t FindChunkBoundary(const ChunkerParams& params, const uint8_t* data, size_t n) {
  Chunker::ScanState state;
  const size_t cut =
      Chunker::ContinueScan(params, Chunker::MasksFor(params.avg_size), data, n, &state);
  return cut == 0 ? n : cut;
}

Chunker::Chunker(const ChunkerParams& params, ByteSource* source)
    : params_(params),
      masks_(MasksFor(params.avg_size)),
      source_(source),
      status_(params.Validate()) {}

void Chunker::Reset(ByteSource* source) {
  source_ = source;
  status_ = params_.Validate();
  begin_ = end_ = 0;
  scan_ = ScanState();
  offset_ = 0;
  at_end_ = false;
}

absl::Status Chunker::ReadMore() {
  if (end_ == capacity_) {
    const size_t live = end_ - begin_;
    // live < max_size (a scan over max_size bytes always cuts), so at full
    // capacity a compaction leaves room for at least one read block.
    const size_t full_capacity = size_t{params_.max_size} + kReadBlock;
    if (capacity_ < full_capacity && live >= capacity_ / 2) {
      const size_t new_capacity =
          std::min(full_capacity, std::max(kInitialBufferSize, 2 * capacity_));
      auto bigger = std::make_unique_for_overwrite<char[]>(new_capacity);
      if (live > 0) std::memcpy(bigger.get(), buffer_.get() + begin_, live);
      buffer_ = std::move(bigger);
      capacity_ = new_capacity;
    } else if (live > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, live);
    }
    begin_ = 0;
    end_ = live;
  }
  ASSIGN_OR_RETURN(size_t got,
                   source_->Read(buffer_.get() + end_, std::min(kReadBlock, capacity_ - end_)));
  if (got == 0) at_end_ = true;
  end_ += got;
  return absl::OkStatus();
}

absl::StatusOr<bool> Chunker::Next(Chunk* chunk) {
  if (!status_.ok()) return status_;
  while (true) {
    const size_t available = end_ - begin_;
    const uint8_t* start = reinterpret_cast<const uint8_t*>(buffer_.get()) + begin_;
    size_t cut = available == 0 ? 0 : ContinueScan(params_, masks_, start, available, &scan_);
    if (cut == 0 && at_end_) cut = available;  // the last chunk, or none
    if (cut > 0) {
      chunk->offset = offset_;
      chunk->data = absl::string_view(reinterpret_cast<const char*>(start), cut);
      begin_ += cut;
      offset_ += cut;
      scan_ = ScanState();
      return true;
    }
    if (at_end_) return false;
    status_ = ReadMore();
    if (!status_.ok()) return status_;
  }
}

}  // namespace cairn
