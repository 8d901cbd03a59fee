// The zero-scan pre-pass (`vdconvert convert --to gcp --detect-zeroes`): reads every data extent
// of a source once, in parallel through the copy pipeline, and returns a view of the source whose
// map reports only the blocks that hold non-zero bytes as data. Formats whose metadata cannot
// tell written zeros from data (a raw file with allocated zero blocks, a VMDK grain of zeros)
// then give a sparse tar member whose holes cover those zeros.
//
// Memory: the refined map is kept as at most `max_runs` data runs; a source fragmented beyond
// that is coarsened by doubling the run granularity (zero gaps shorter than it stay inside data
// runs), so the map is always exact about where data may be.
#ifndef VDISK_PIPELINE_ZERO_SCAN_H_
#define VDISK_PIPELINE_ZERO_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>

#include "vdisk/block.h"
#include "vdisk/pipeline.h"

namespace vdisk::detail {

struct ZeroScanOptions {
  std::size_t block_bytes = 4096;      // scan granularity (power of two, 512 .. chunk size)
  std::size_t max_runs = 1u << 20;     // bound on the refined map
};

struct ZeroScanResult {
  std::unique_ptr<BlockSource> source;  // refers to the scanned source, which must outlive it
  std::uint64_t scanned_bytes = 0;      // data bytes read by the scan
  std::uint64_t data_bytes = 0;         // bytes the refined map reports as data
  std::size_t runs = 0;
};

Result<ZeroScanResult> scan_zeroes(const BlockSource& src, const PipelineOptions& pipeline,
                                   const ZeroScanOptions& options = {},
                                   const ProgressFn& on_progress = {}, std::stop_token stop = {});

}  // namespace vdisk::detail

#endif  // VDISK_PIPELINE_ZERO_SCAN_H_
