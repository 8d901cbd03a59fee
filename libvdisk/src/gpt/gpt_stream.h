// Padding for streamed inputs (SRC = stdin): the stream counterpart of relocated_source()
// (gpt_relocate.h), one mechanism with it. Both present the source at the padded size as "the
// source's bytes, zeros after its end, the plan's patches applied"; the file view reads the
// sectors it needs, the stream view holds them back:
// - when GPT relocation is asked for, the head of the disk until the primary GPT and its entry
//   array have arrived (8 KiB, or up to the end of the primary array, at most kMaxHead), from
//   which it plans the relocation (plan_relocation with inspect_backup false, the same plan as
//   for files);
// - the old backup's array and header sectors, until its header has arrived, to check it and
//   zero it (finish_relocation), as for files;
// then it emits the patched head, the source, and at the end the padding carrying the new
// backup entry array and header. Memory: the head and the old backup's sectors.
//
// Relocation needs the source size before the data (a streamOptimized VMDK or a fixed VHD on
// stdin state it); for a stream without a size (raw stdin) only the head is looked at and, when
// LBA 1 holds a GPT header, the outcome is `stale`: the padded disk's backup GPT stays where it
// was. The padded size of such a stream is known only at its end (size() stays nullopt).
#ifndef VDISK_GPT_GPT_STREAM_H_
#define VDISK_GPT_GPT_STREAM_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "gpt/gpt_relocate.h"
#include "vdisk/block.h"
#include "vdisk/status.h"

namespace vdisk::gpt {

inline constexpr std::uint64_t kMaxHead = 8u << 20;

// The padded size for a source of the given size (a target's size rule).
using PadFn = std::function<Result<std::uint64_t>(std::uint64_t source_size)>;

class PaddedStream : public StreamSource {
 public:
  // The plan: complete once the stream has ended; `absent` when relocation was not asked for.
  virtual const Analysis& analysis() const = 0;
  // Bytes of the inner stream consumed so far: its size once the stream has ended (also when
  // the copy used placed(), the inner stream's stated size).
  virtual std::uint64_t source_bytes() const = 0;
};

// `inner` (borrowed; it must outlive the view) padded to pad(size) with, when `relocate`, its
// GPT relocated. The view offers inner.placed() when no byte can need a patch: relocation not
// asked for (or the size unchanged) and the size stated up front; the caller then ends the disk
// at size() (BlockSink::extend_to).
Result<std::unique_ptr<PaddedStream>> padded_stream(StreamSource& inner, PadFn pad, bool relocate);

}  // namespace vdisk::gpt

#endif  // VDISK_GPT_GPT_STREAM_H_
