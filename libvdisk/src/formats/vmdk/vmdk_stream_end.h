// What a VMware-layout (GD_AT_END) streamOptimized VMDK read from a stream must agree with at
// its end, so that it is accepted or refused as the file reader accepts or refuses the same file
// (vmdk_sparse.cpp reads the footer trio at the end of the file, the GD its gdOffset names and
// the GTs the GD names, each after its marker, and grains through the GTs). Layout: VMware
// technote "Stream-Optimized Compressed Sparse Extents"; docs/vmdk.md §1.
//
// The stream reader reports what it walks past (grains, GTs, the GD, the footer); at_eos() then
// checks: footer marker + footer right before the EOS marker (value 0), the footer's gdOffset
// inside the stream and at the GD after the last GD marker, every GD entry inside the stream and
// at a GT after a GT marker, and each GT listing exactly the grains that came for it, each at
// its marker's sector. That last check compares keyed order-independent digests per table
// rather than keeping every grain's marker sector until the GD (the last thing in the stream).
#ifndef VDISK_VMDK_VMDK_STREAM_END_H_
#define VDISK_VMDK_VMDK_STREAM_END_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vdisk/status.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk {

class StreamEndCheck {
 public:
  StreamEndCheck(const SparseHeader& header, std::string name);

  // A grain marker for grain `g` at stream offset `marker_at`.
  void grain(std::uint64_t g, std::uint64_t marker_at);
  // A GT (numGTEsPerGT entries) at `sector`, after a GT marker.
  void table(std::uint64_t sector, std::span<const std::byte> entries);
  // The GD (gd_entries() entries) at `sector`, after a GD marker; the last one counts.
  void directory(std::uint64_t sector, std::span<const std::byte> entries);
  // A footer header, already checked against the header; its marker at `marker_at`, `end` the
  // offset just after it.
  void footer(const SparseHeader& f, std::uint64_t marker_at, std::uint64_t end);
  // At the EOS marker `eos` at offset `at`: corrupt when the stream does not end as above.
  Status at_eos(const Marker& eos, std::uint64_t at) const;

  struct Digest {
    std::uint64_t a = 0, b = 0, count = 0;
    friend bool operator==(const Digest&, const Digest&) = default;
  };

 private:
  SparseHeader h_;
  std::string name_;
  std::vector<std::pair<std::uint64_t, Digest>> tables_;  // (first sector, entries), ascending
  std::unordered_map<std::uint64_t, Digest> received_;    // per table: the grains that came
  std::optional<std::uint64_t> gd_sector_;                // the last GD's first sector
  std::vector<std::uint32_t> gd_;                         // its entries
  std::optional<SparseHeader> footer_;                    // the last footer
  std::uint64_t footer_at_ = 0;                           // its marker's offset
  std::uint64_t footer_end_ = 0;                          // the offset just after it
};

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_STREAM_END_H_
