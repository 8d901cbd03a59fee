// The placed copy behind copy(StreamSource&, BlockSink&) when the source offers a PlacedStream
// and the sink can write anywhere (see vdisk/pipeline.h).
#ifndef VDISK_PIPELINE_PLACED_H_
#define VDISK_PIPELINE_PLACED_H_

#include <cstdint>
#include <stop_token>

#include "vdisk/block.h"
#include "vdisk/pipeline.h"

namespace vdisk::detail {

struct PlacedOptions {
  unsigned threads = 1;           // workers expanding and writing pieces
  std::uint64_t budget = 0;       // bytes of pieces (stored + expanded) in flight at most
  std::uint64_t zero_block = 0;   // zero-scan granularity; 0 writes pieces whole
  bool finish_sink = true;
};

// Writes every piece of `src` into `dst` with write_at(), then extend_to(size) and (unless
// !finish_sink) finish(). `size` is the stream's stated virtual size.
Result<CopyStats> copy_placed(PlacedStream& src, std::uint64_t size, BlockSink& dst,
                              const PlacedOptions& options, const ProgressFn& on_progress,
                              std::stop_token stop);

}  // namespace vdisk::detail

#endif  // VDISK_PIPELINE_PLACED_H_
