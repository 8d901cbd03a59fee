// GPT-aware padding for streamed inputs (SRC = stdin): a BlockSink wrapper that holds back the
// head of the disk until the primary GPT and its entry array have arrived, plans the relocation
// from them (gpt_relocate.h, the same plan as for files), and writes the patched head, the
// source, and at the end the new backup entry array and header in the padding, before finishing
// the wrapped sink. The old backup (header and, when intact, its array) is zeroed as for files:
// the sectors where the primary says it lies are held back until its header has arrived.
// Memory: at most the head (8 KiB, or up to the end of the primary array, at most kMaxHead) and
// the old backup's array and header.
//
// It needs the source size before the data (a streamOptimized VMDK or a fixed VHD on stdin state
// it); for a stream without a size (raw stdin) it only looks at the head and, when LBA 1 holds a
// GPT header, reports outcome `stale`: the padded disk's backup GPT stays where it was.
#ifndef VDISK_GPT_GPT_STREAM_H_
#define VDISK_GPT_GPT_STREAM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gpt/gpt_relocate.h"
#include "vdisk/block.h"

namespace vdisk::gpt {

inline constexpr std::uint64_t kMaxHead = 8u << 20;

class GptStreamSink : public BlockSink {
 public:
  // The plan (complete after finish()): as plan_relocation() would give for the same disk as a
  // file, or `stale` with a message when the head holds a GPT this stream cannot relocate.
  virtual const Analysis& analysis() const = 0;
};

// Wraps `inner` for a source of `source_size` bytes (nullopt: unknown) padded to `new_size`.
// `tap`, when set, sees every byte written to `inner` (the padded, patched disk) in order.
std::unique_ptr<GptStreamSink> make_gpt_stream_sink(std::unique_ptr<BlockSink> inner,
                                                    std::optional<std::uint64_t> source_size,
                                                    std::uint64_t new_size,
                                                    BlockSink* tap = nullptr);

}  // namespace vdisk::gpt

#endif  // VDISK_GPT_GPT_STREAM_H_
