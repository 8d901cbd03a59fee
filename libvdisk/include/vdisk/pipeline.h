// The copy pipeline: bounded memory, parallel reads and zero detection, one ordered writer.
//
//   planner (calling thread) --chunks--> workers (N threads) --> reorder --> writer (1 thread)
//
// The planner walks the source's extent map window by window and cuts data extents into chunks
// of at most `chunk_bytes`; zero and unallocated extents become zero runs that cost no buffer
// and no read. Workers read a chunk into a buffer from a fixed pool and split it into data and
// zero runs at `zero_block_bytes` granularity (blocks aligned to absolute disk offsets). The
// writer hands runs to the sink strictly in offset order, data runs lent with their buffer
// (BlockSink::write_lent, vdisk/block.h); a buffer returns to the pool once the sink has let
// go of it (at once, unless the sink keeps lent bytes to compress them on its own threads).
//
// Guarantees:
// - Peak buffer memory is max_buffers * chunk_bytes, whatever the disk size.
// - The sequence of sink calls depends only on the source, the sink and the options other than
//   `threads`: output is byte-identical for any thread count.
// - The first error from any stage stops all stages and is returned; the sink is not finished.
//   A triggered stop token returns Errc::cancelled.
#ifndef VDISK_PIPELINE_H_
#define VDISK_PIPELINE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string_view>

#include "vdisk/block.h"
#include "vdisk/status.h"

namespace vdisk {

struct PipelineOptions {
  unsigned threads = 0;                         // worker threads; 0 = hardware concurrency
  std::size_t chunk_bytes = 4u << 20;           // unit of work and of buffering (>= 4 KiB)
  std::size_t max_buffers = 0;                  // 0 = 2 * threads + 2
  std::size_t zero_block_bytes = 64u << 10;     // zero-scan granularity; 0 disables scanning
  std::uint64_t map_window_bytes = 1ull << 30;  // how much of the map to ask for at once
  bool finish_sink = true;                      // call sink.finish() after a successful copy
  // Shown every run the writer hands to the sink, in the same order, just before the sink (an
  // integrity hash of the virtual disk). Called from the writer thread; its error stops the
  // copy; never finished by copy().
  BlockSink* tap = nullptr;
  // Stream copies: when the source offers placed() and the sink can_write_at() (and no tap is
  // set, which needs order), write pieces where they belong as they arrive (see copy() below).
  bool place_pieces = true;
};

// What a conversion is doing (Progress::phase). copy() itself reports only `copy`; convert()
// (vdisk/image.h) reports each phase it enters, in this order, skipping those it does not need.
enum class ProgressPhase : std::uint8_t {
  open,    // opening the input and reading its metadata
  scan,    // zero-scanning the data first (TargetOptions::detect_zeroes, gcp)
  copy,    // reading the disk and writing (or uploading) the output
  finish,  // completing the output: the last uploads, the commit, fsync, rename
  done,    // the output is complete (the last report of a successful conversion)
};
// "open", "scan", "copy", "finish", "done" (the JSON progress lines' `phase`, docs/json.md).
std::string_view progress_phase_name(ProgressPhase phase);

// One progress report. The first three fields keep their meaning from copy(); the rest were
// added after them (aggregate initialisers that name the first three still work). Byte counts
// never decrease within a phase; a zero scan counts its own pass, and the copy then starts
// again from 0.
struct Progress {
  std::uint64_t done_bytes = 0;   // virtual bytes handed to the sink so far
  std::uint64_t total_bytes = 0;  // virtual size; 0 when not yet known (raw stream)
  std::uint64_t data_bytes = 0;   // of done_bytes, bytes written as data (not zero runs)
  ProgressPhase phase = ProgressPhase::copy;
  std::uint64_t zero_bytes = 0;  // of done_bytes, bytes handed on as zero runs (zeros, holes)
  std::uint64_t read_bytes = 0;  // bytes read from the source
  // Data bytes the source's map holds in all (what a copy has to read: zero runs cost nothing);
  // 0 when not known (a stream). convert() fills it; an ETA counts data_total - data_bytes.
  std::uint64_t data_total_bytes = 0;
  // Bytes of output produced so far (convert(): the output's length, including zero runs a
  // stream or a file gets as zeros or holes; in-place writes count their data).
  std::uint64_t written_bytes = 0;
  // Uploads (ImageOutput::remote): request body bytes the service accepted, and requests
  // repeated after a failure; 0 otherwise.
  std::uint64_t sent_bytes = 0;
  std::uint64_t retries = 0;
};

// Called from the writer thread after each chunk (placed copy: from one worker at a time);
// must be quick and must not throw. Calls never overlap.
using ProgressFn = std::function<void(const Progress&)>;

struct CopyStats {
  std::uint64_t virtual_bytes = 0;  // bytes of virtual disk copied
  std::uint64_t read_bytes = 0;     // bytes read from the source
  std::uint64_t data_bytes = 0;     // bytes handed to the sink as data
  std::uint64_t zero_bytes = 0;     // bytes handed to the sink as zero runs
  std::size_t peak_buffers = 0;     // most pool buffers in use at once
  std::size_t buffer_bytes = 0;     // size of one pool buffer
};

// Copies the whole of `src` into `dst`, then finishes `dst` (unless options.finish_sink is
// false). Returns invalid_argument for unusable options.
Result<CopyStats> copy(const BlockSource& src, BlockSink& dst, const PipelineOptions& options = {},
                       const ProgressFn& on_progress = {}, std::stop_token stop = {});

// The same for a forward-only source: the calling thread reads the stream in order with
// StreamSource::next(), workers zero-scan its data runs, the writer writes in order. The zero
// runs the source reports reach the sink as write_zeroes() without a buffer or a scan.
//
// Placed copy: when the source offers a PlacedStream (pieces placed by offset, such as a
// streamOptimized VMDK's grains), states its size, and the sink can_write_at() (and
// place_pieces, no tap), the calling thread reads pieces in stream order, workers expand them
// (inflate) in parallel, skip their zero blocks and write_at() the rest; then extend_to(size)
// and finish(). Any piece order works and no reorder window applies. Bytes in flight are
// bounded by max_buffers * chunk_bytes (one piece always fits), plus one expansion buffer per
// worker; the output's bytes are the same for any thread count. CopyStats: peak_buffers counts
// pieces in flight, buffer_bytes the largest piece; progress reports the highest piece end
// written so far, from one worker at a time.
Result<CopyStats> copy(StreamSource& src, BlockSink& dst, const PipelineOptions& options = {},
                       const ProgressFn& on_progress = {}, std::stop_token stop = {});

}  // namespace vdisk

#endif  // VDISK_PIPELINE_H_
