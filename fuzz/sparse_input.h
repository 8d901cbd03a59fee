// A compact encoding of large, mostly-zero files for fuzz targets whose formats align their
// structures far apart (VHDX puts its regions at 1 MiB boundaries; libFuzzer caps inputs near
// 1 MiB and mutates a 5 MiB seed at a few runs a second). The input
//
//   u16 LE  file size in 64 KiB units (0 reads as 1; at most 4096, 256 MiB)
//   then chunks, each: u32 LE offset, u16 LE length, `length` bytes (cut short at the input's
//   end: what is there is used)
//
// decodes to a file of that size reading zeros except where chunks put bytes (a chunk past the
// size is cut at it; a later chunk wins where two overlap). fuzz/tools/sparse_seed.py encodes
// a real file this way, dropping its zero runs.
#ifndef VDISK_FUZZ_SPARSE_INPUT_H_
#define VDISK_FUZZ_SPARSE_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vdisk/io.h"

namespace vdisk::fuzz {

class SparseInputFile final : public RandomAccessFile {
 public:
  explicit SparseInputFile(std::span<const std::byte> in) {
    auto u = [&](std::size_t at, std::size_t n) {
      std::uint64_t v = 0;
      for (std::size_t i = n; i-- > 0;) v = (v << 8) | std::to_integer<std::uint64_t>(in[at + i]);
      return v;
    };
    if (in.size() < 2) return;
    size_ = std::clamp<std::uint64_t>(u(0, 2), 1, 4096) << 16;
    for (std::size_t at = 2; at + 6 <= in.size() && chunks_.size() < 4096;) {
      const std::uint64_t off = u(at, 4);
      const std::size_t len = std::min<std::size_t>(u(at + 4, 2), in.size() - at - 6);
      if (off < size_)
        chunks_.push_back({off, in.subspan(at + 6, static_cast<std::size_t>(std::min<std::uint64_t>(
                                                       len, size_ - off)))});
      at += 6 + len;
    }
  }
  std::uint64_t size() const override { return size_; }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > size_ || dst.size() > size_ - offset)
      return out_of_range("sparse input: past the end");
    if (dst.empty()) return {};
    std::memset(dst.data(), 0, dst.size());
    const std::uint64_t end = offset + dst.size();
    for (const Chunk& c : chunks_) {
      const std::uint64_t lo = std::max(offset, c.offset);
      const std::uint64_t hi = std::min(end, c.offset + c.bytes.size());
      if (lo < hi)
        std::memcpy(dst.data() + (lo - offset), c.bytes.data() + (lo - c.offset),
                    static_cast<std::size_t>(hi - lo));
    }
    return {};
  }
  const std::string& name() const override { return name_; }

 private:
  struct Chunk {
    std::uint64_t offset;
    std::span<const std::byte> bytes;
  };
  std::uint64_t size_ = 0;
  std::vector<Chunk> chunks_;
  std::string name_ = "<sparse fuzz input>";
};

}  // namespace vdisk::fuzz

#endif  // VDISK_FUZZ_SPARSE_INPUT_H_
