// The base of the BlockSources that walk an image's allocation table piece by piece (QCOW2's
// L1/L2 tables, VHDX's BAT and sector bitmaps, VDI's block map).
//
//   read()/map() --> walk() (the format: its table) --> pieces --> merged neighbours
//     --> data: read_data() | special: read_special() | zero: zeros | below: the parent or zeros
//
// The format's walk() cuts a range into pieces, runs of virtual bytes of one kind: stored data at
// consecutive host offsets, a format-specific piece read its own way (a QCOW2 compressed
// cluster), zeros, or "below": the bytes the image does not store, its parent's (backing
// file's) where there is one and zeros past the parent's end or without one. This class merges
// neighbours that can be served together (same kind, data only when the host offsets continue,
// special pieces never) and serves them: read() with one read_data() per merged data piece, so
// contiguous clusters cost one system call; map() from the pieces alone, data and special pieces
// as data extents, below as the parent's extents and below_kind() past its end.
//
// Guarantees (given a walk() that keeps its contract):
// - read() and map() check the range first: out_of_range "<format>: read of N bytes at O past
//   the virtual size S" (map likewise) for a range not inside size().
// - map() appends extents in order that cover the range exactly (append_extent merging).
// - The first error from walk(), a read or the parent stops the call and is returned.
// - Thread safety is the format's: this class keeps no state of its own between calls, so read()
//   and map() may run concurrently when walk(), read_data() and read_special() may.
#ifndef VDISK_UTIL_MAPPED_SOURCE_H_
#define VDISK_UTIL_MAPPED_SOURCE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "vdisk/block.h"

namespace vdisk::detail {

class MappedSource : public BlockSource {
 public:
  struct Piece {
    enum class Kind : std::uint8_t { data, special, zero, below };
    Kind kind = Kind::below;
    std::uint64_t guest = 0;   // first virtual byte
    std::uint64_t length = 0;  // virtual bytes
    std::uint64_t host = 0;    // data: host offset of `guest`; special: the format's
    std::uint64_t extra = 0;   // special: the format's; otherwise unused
  };

  // Where walk() puts its pieces.
  class PieceSink {
   public:
    virtual Status emit(const Piece& piece) = 0;

   protected:
    ~PieceSink() = default;
  };

  Status read(std::uint64_t offset, std::span<std::byte> dst) const final;
  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const final;

 protected:
  // Emits, in order, pieces that cover [offset, offset + length) exactly, each of length > 0
  // (the range is inside size()); stops at the first error (its own or emit()'s) and returns it.
  virtual Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const = 0;
  // Fills `dst` with the stored bytes at host offset `host` (a merged data piece).
  virtual Status read_data(std::uint64_t host, std::span<std::byte> dst) const = 0;
  // Fills `dst` with the bytes of a special piece (never merged). The default refuses
  // (internal error): a format that emits special pieces overrides it.
  virtual Status read_special(const Piece& piece, std::span<std::byte> dst) const;
  // The source "below" pieces read from (nullptr: zeros), and the extent kind map() gives what
  // lies below and past its end (unallocated by default).
  virtual const BlockSource* below() const { return nullptr; }
  virtual ExtentKind below_kind() const { return ExtentKind::unallocated; }

 private:
  Status check_range(const char* what, std::uint64_t offset, std::uint64_t length) const;
};

}  // namespace vdisk::detail

#endif  // VDISK_UTIL_MAPPED_SOURCE_H_
