// A large zero-initialised buffer of anonymous memory, page-aligned, with
// transparent huge pages requested (fewer TLB misses when kernels stream
// hundreds of megabytes of repacked weights).
//
// Ownership: owns the mapping, unmaps on destruction; movable, not copyable.
// Threads: writes to disjoint ranges from several threads are fine.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lookahead {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // Throws Error (with the size) when the memory cannot be mapped.
  explicit AlignedBuffer(size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& o) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lookahead
