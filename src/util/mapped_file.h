// Read-only memory mapping of a whole file.
//
// Ownership: MappedFile owns the mapping and unmaps it on destruction; it is
// movable, not copyable. Pointers into data() stay valid for its lifetime.
// Threads: immutable after construction, safe to read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lookahead {

class MappedFile {
 public:
  // Throws Error naming the path if the file cannot be opened, is a
  // directory, or is empty.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the whole pages inside [p, p + n) from this process's resident
  // memory (madvise DONTNEED). Reads stay valid: the pages come back from
  // the file. For data copied elsewhere (repacked weights).
  void release_pages(const uint8_t* p, size_t n) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace lookahead
