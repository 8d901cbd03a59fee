// A generated image held as a few data pieces over zeros: the FAT writer's output and the GRUB
// repack's own sectors (fat_writer.h, repack.h). Only the pieces cost memory; every byte no
// piece covers reads as zero and maps as unallocated, so a 33 MiB ESP holding 700 KiB of files
// costs 700 KiB and stays sparse in the output.
#ifndef VDISK_LIVECD_PIECE_IMAGE_H_
#define VDISK_LIVECD_PIECE_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vdisk/extent.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

// `bytes` stored at `offset`; the piece covers [offset, offset + bytes->size()). Pieces may
// share one buffer (the two FAT copies).
struct ImagePiece {
  std::uint64_t offset = 0;
  std::shared_ptr<const std::vector<std::byte>> bytes;
  std::uint64_t end() const { return offset + bytes->size(); }
};

// An image of `size` bytes made of sorted, non-overlapping, non-empty pieces. Immutable after
// construction; all const methods are thread-safe.
class PieceImage {
 public:
  PieceImage() = default;
  // Checks the pieces (non-empty, sorted, non-overlapping, inside `size`): internal otherwise,
  // since only this library's writers build piece lists.
  static Result<PieceImage> make(std::uint64_t size, std::vector<ImagePiece> pieces);

  std::uint64_t size() const { return size_; }
  const std::vector<ImagePiece>& pieces() const { return pieces_; }
  // Reads [offset, offset + dst.size()); out_of_range past size().
  Status read(std::uint64_t offset, std::span<std::byte> dst) const;
  // Appends the extents of [offset, offset + length) (inside size()): pieces as data, the rest
  // unallocated.
  void map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const;
  // The whole image as bytes (tests; small images only).
  std::vector<std::byte> to_bytes() const;

 private:
  std::uint64_t size_ = 0;
  std::vector<ImagePiece> pieces_;
};

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_PIECE_IMAGE_H_
