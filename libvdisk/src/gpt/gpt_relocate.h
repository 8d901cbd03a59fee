// GPT-aware padding: when a cloud preset pads a disk, a GPT's backup header and entry array must
// move to the new last LBAs, or partitioning tools report the table as damaged (sgdisk -v: "The
// secondary header's self-pointer indicates that it doesn't reside at the end of the disk";
// fdisk: "The backup GPT table is not on the end of the device").
//
// plan_relocation() reads the source's GPT (primary header at LBA 1 with 512-byte LBAs, else at
// byte 4096 with 4096-byte LBAs), validates it fully (gpt_codec.h) and plans the new layout the
// way `sgdisk -e` repairs a grown disk:
// - primary header: alternate LBA = new last LBA; last usable LBA = the sector before the
//   relocated array; header CRC recomputed (the array and its CRC are unchanged);
// - backup entry array = the primary's, at new last LBA - array sectors; backup header at the
//   new last LBA, CRC recomputed;
// - the old backup header sector and the old backup array (both outside every partition, as
//   validated) read as zeros, so no stale "EFI PART" header remains mid-disk (sgdisk -e also
//   clears the old backup header);
// - a pure protective MBR (one 0xEE entry from LBA 1 spanning the old disk) gets its size field
//   set for the new disk, min(sectors - 1, 0xFFFFFFFF) (util-linux otherwise warns "GPT PMBR
//   size mismatch"), and its ending CHS set from that last sector as sgdisk -e does (geometry
//   255/63, ff ff ff past 1024 cylinders); its starting CHS and a hybrid MBR are left alone.
// An invalid GPT (bad CRC, incoherent LBAs, overlapping partitions, ...) is never relocated:
// the outcome is `invalid` with a one-line reason and the caller pads the disk unchanged.
//
// relocated_source() presents the plan as a BlockSource of the padded size: the source's bytes,
// zeros after its end, and the patched sectors. Its map is the source's map with the patched
// ranges reported as data (new content) or zero (cleared), and the padding as unallocated, so
// sparse outputs stay exactly as sparse as before.
#ifndef VDISK_GPT_GPT_RELOCATE_H_
#define VDISK_GPT_GPT_RELOCATE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <functional>

#include "gpt/gpt_codec.h"
#include "vdisk/block.h"
#include "vdisk/status.h"

namespace vdisk::gpt {

// A byte range of the padded disk that differs from the source: `bytes` (length = bytes.size())
// or, when `bytes` is empty, `length` zero bytes.
struct Patch {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::vector<std::byte> bytes;
  std::uint64_t end() const { return offset + length; }
};

// Adds `p` to `patches` (sorted, non-overlapping), replacing whatever it overlaps.
void put_patch(std::vector<Patch>& patches, Patch p);

struct Relocation {
  std::uint64_t lba_size = 512;
  std::uint64_t old_backup_lba = 0;
  std::uint64_t new_backup_lba = 0;
  std::uint64_t new_entries_lba = 0;
  std::uint64_t old_last_usable_lba = 0;
  std::uint64_t new_last_usable_lba = 0;
  std::size_t partitions = 0;     // used entries
  bool old_backup_valid = false;  // the old backup header and array matched the primary
  bool pmbr_updated = false;
  std::vector<Patch> patches;     // sorted, non-overlapping
  Header primary;                 // the source's primary header, as read
  std::uint64_t old_lbas = 0;     // whole LBAs of the source
  bool old_backup_pending = false;  // planned without the old backup (finish_relocation)
};

struct Analysis {
  enum class Outcome : std::uint8_t {
    absent,     // no GPT signature at LBA 1 (nor a backup at the end)
    invalid,    // a GPT that fails validation: left as it is, `message` says why
    unchanged,  // the padded size does not move the last LBA
    relocated,  // `relocation` holds the plan
    stale,      // a GPT a streamed input cannot relocate (no size up front, ...): `message`
  };
  Outcome outcome = Outcome::absent;
  std::string message;  // one line for `invalid` and `relocated`
  Relocation relocation;
};

// Plans the relocation for padding `src` to `new_size` bytes (>= src.size(), else
// invalid_argument). I/O errors reading the source are returned as errors; a broken GPT is an
// Analysis with outcome `invalid`.
Result<Analysis> plan_relocation(const BlockSource& src, std::uint64_t new_size);

// For streams, where only the head of the disk is at hand when the plan must be made: with
// inspect_backup false, `src` is read only in its first 8 KiB and at the primary entry array
// (a disk without a primary GPT is `absent`: its last LBA is not looked at); the plan leaves the
// old backup for finish_relocation() (old_backup_pending).
Result<Analysis> plan_relocation(const BlockSource& src, std::uint64_t new_size,
                                 bool inspect_backup);
// Reads `length` bytes at `offset` of the source; Errc::unsupported when they are not available
// (then the old backup array is not cleared, and the message says why).
using ReadFn = std::function<Result<std::vector<std::byte>>(std::uint64_t offset,
                                                            std::uint64_t length)>;
// Completes a plan made with inspect_backup false: checks the old backup through `read` and adds
// the patches that zero it, exactly as plan_relocation(src, new_size) would have.
Status finish_relocation(Analysis& a, const ReadFn& read);

// `src` padded with zeros to `new_size` with the plan's patches applied. `src` must outlive the
// result. invalid_argument when a patch lies outside [0, new_size) or new_size < src.size().
Result<std::unique_ptr<BlockSource>> relocated_source(const BlockSource& src,
                                                      std::uint64_t new_size,
                                                      std::vector<Patch> patches);

}  // namespace vdisk::gpt

#endif  // VDISK_GPT_GPT_RELOCATE_H_
