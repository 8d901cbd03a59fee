// What reading a live ISO's boot configuration needs, kept while the ISO streams past (the GRUB
// repack from a stream, repack.h "Streaming form"; docs/livecd.md §6).
//
// A stream gives the ISO once, front to back, and the repack must pass every byte on before it
// has seen the whole ISO. IsoCapture is fed the bytes in order and keeps, in memory:
// - the volume descriptor set (blocks 16 up to the terminator, at most kMaxDescriptors);
// - every directory extent of every tree a descriptor names (primary and supplementary, so
//   plain, Rock Ridge and Joliet names all resolve), found as the directories pass;
// - every SUSP continuation area (Rock Ridge "CE") a kept record names;
// - the content of small regular files: those of at most 1 MiB whose name (plain, Rock Ridge or
//   Joliet) ends in ".cfg" or ".conf", and any file of at most 16 KiB (syslinux INCLUDEs and
//   GRUB `source` files of other names), within a budget.
// Extents are wanted when the record naming them is read; one that starts before that record's
// directory has passed (an ISO whose directories follow their files, which xorriso and
// genisoimage never write) is recorded as missed.
//
// view() is then a RandomAccessFile of the ISO's size over what was kept: iso9660::Volume opens
// on it and livecd::read_boot_configs() reads through it. A read of bytes that were not kept
// fails with io_error (so that readers which skip unreadable entries stop, as for a device
// error), one line naming the byte range and why (not kept, or passed before the record naming
// it was read), ending "convert from a file instead"; the first such failure is also kept, as
// unsupported, for refusal(): whatever was read through the view may then differ from what a
// reader of the whole ISO sees, and the caller refuses.
//
// Bounds (resource_exhausted from feed() when exceeded): directory and continuation bytes
// together at most max_tree_bytes; kept file bytes past max_file_bytes are not kept (a later
// read of them fails as above); at most max_extents extents wanted in all.
#ifndef VDISK_LIVECD_ISO_CAPTURE_H_
#define VDISK_LIVECD_ISO_CAPTURE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

struct CaptureLimits {
  std::uint64_t max_tree_bytes = 64ull << 20;
  std::uint64_t max_file_bytes = 32ull << 20;
  std::size_t max_extents = 1u << 20;
  std::uint64_t max_config_file = 1u << 20;  // a ".cfg"/".conf" file larger than this: not kept
  std::uint64_t max_small_file = 16u << 10;  // any file up to this is kept
};

class IsoCapture {
 public:
  // `iso_size`: the ISO's length in bytes (a multiple of 2048; the stream's stated size or the
  // primary volume descriptor's volume space).
  explicit IsoCapture(std::uint64_t iso_size, const CaptureLimits& limits = {});
  ~IsoCapture();
  IsoCapture(const IsoCapture&) = delete;
  IsoCapture& operator=(const IsoCapture&) = delete;

  // The next bytes of the ISO (the first call gets byte 0). Bytes past iso_size are ignored.
  // Errors: corrupt for a descriptor or directory record that cannot be decoded (one line with
  // its offset); resource_exhausted past the bounds.
  Status feed(std::span<const std::byte> bytes);

  // Bytes fed so far.
  std::uint64_t position() const { return pos_; }

  // The kept bytes as a file of iso_size bytes (see above). The capture must outlive it; feed()
  // must not be called once it is in use.
  std::shared_ptr<const RandomAccessFile> view() const;

  // ok, or the first read of the view that was refused (unsupported, the message as above).
  Status refusal() const;

  // For tests and reports.
  std::uint64_t tree_bytes() const { return tree_bytes_; }
  std::uint64_t file_bytes() const { return file_bytes_; }
  std::size_t missed() const { return missed_.size(); }

 private:
  enum class Kind { descriptor, directory, continuation, file };
  struct Want {
    std::uint64_t length = 0;
    Kind kind = Kind::file;
    bool joliet = false;     // a directory of a Joliet tree
    std::uint32_t skip = 0;  // SUSP bytes to skip in this tree's records (SP len_skp)
  };
  struct Kept {
    std::vector<std::byte> bytes;
  };

  Status want(std::uint64_t offset, Want w, std::string_view why);
  Status charge_tree(std::uint64_t bytes, std::string_view why, std::uint64_t offset);
  Status complete(std::uint64_t offset, const Want& w, std::span<const std::byte> bytes);
  Status descriptor(std::uint64_t offset, std::span<const std::byte> block);
  Status directory(std::uint64_t offset, const Want& w, std::span<const std::byte> bytes);
  Status continuation(std::uint64_t offset, std::span<const std::byte> bytes);

  class View;

  std::uint64_t iso_size_;
  CaptureLimits limits_;
  std::uint64_t pos_ = 0;
  std::multimap<std::uint64_t, Want> wanted_;      // by start offset, not yet begun
  std::map<std::uint64_t, Want> active_;           // begun, being filled: offset -> want
  std::map<std::uint64_t, Kept> kept_;             // done or being filled, by start offset
  std::map<std::uint64_t, std::uint64_t> missed_;  // start -> length
  std::uint64_t tree_bytes_ = 0, file_bytes_ = 0;
  std::size_t extents_ = 0;
  std::uint32_t descriptors_ = 0;
  mutable std::mutex refusal_mutex_;
  mutable Status refusal_;
};

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_ISO_CAPTURE_H_
