// Shared helpers for libvdisk's unit tests: deterministic data, temporary directories, and
// in-memory sources and sinks with fault injection.
#ifndef VDISK_TESTS_SUPPORT_TEST_SUPPORT_H_
#define VDISK_TESTS_SUPPORT_TEST_SUPPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

namespace vdisk::test {

std::vector<std::byte> bytes_of(std::string_view s);
// Deterministic pseudo-random bytes (never an all-zero 512-byte block).
std::vector<std::byte> pattern(std::size_t n, std::uint32_t seed);
// zlib deflate at level 6 with `wbits` (15 zlib, -15 raw deflate, 31 gzip).
std::vector<std::byte> zlib_compress(std::span<const std::byte> in, int wbits);
// Reads a whole file (test inputs and outputs are small).
std::vector<std::byte> read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::span<const std::byte> data);
// Lowercase hex SHA-256 of a file, via the sha256sum program.
std::string sha256_file(const std::filesystem::path& path);
// The whole virtual disk read, and mapped, in one call each; REQUIREs success.
std::vector<std::byte> read_disk(const BlockSource& s);
std::vector<Extent> map_disk(const BlockSource& s);
// Opens an image held in memory (named `name` in messages); REQUIREs success.
std::unique_ptr<BlockSource> open_memory(std::vector<std::byte> bytes, const OpenOptions& o = {},
                                         const std::string& name = "<memory>");
// Runs a shell command; returns its exit status and captures stdout (stderr is passed through).
int run(const std::string& command, std::string* out = nullptr);

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A BlockSource over memory with an explicit extent map (default: all data). Can fail its n-th
// read (1-based) with io_error, and counts reads.
class MemorySource final : public BlockSource {
 public:
  explicit MemorySource(std::vector<std::byte> data, std::vector<Extent> map = {});
  std::uint64_t size() const override { return data_.size(); }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override;
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override;
  std::string_view format() const override { return "memory"; }

  void fail_read(std::uint64_t n) { fail_at_ = n; }
  std::uint64_t reads() const { return reads_; }
  std::uint64_t bytes_read() const { return bytes_read_; }

 private:
  std::vector<std::byte> data_;
  std::vector<Extent> map_;
  std::uint64_t fail_at_ = 0;
  mutable std::atomic<std::uint64_t> reads_{0};
  mutable std::atomic<std::uint64_t> bytes_read_{0};
};

// A BlockSink that records every call, checks the in-order contract, and can fail its n-th
// call (1-based).
class RecordingSink final : public BlockSink {
 public:
  Status write(std::uint64_t offset, std::span<const std::byte> data) override;
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override;
  Status finish() override;

  void fail_call(std::uint64_t n) { fail_at_ = n; }
  std::vector<std::byte> image;  // what the virtual disk looks like
  std::vector<Extent> calls;     // data and zero calls, in order
  bool finished = false;
  bool order_violated = false;

 private:
  Status next_call(std::uint64_t offset);
  std::uint64_t fail_at_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace vdisk::test

#endif  // VDISK_TESTS_SUPPORT_TEST_SUPPORT_H_
