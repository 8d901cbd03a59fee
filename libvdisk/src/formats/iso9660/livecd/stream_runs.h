// read() for the livecd streams (hybrid_stream.cpp, repack_stream.cpp), whose next() is the
// primary way out: StreamSource::read() fills `dst` with the runs next() gives, zero runs
// written as zeros, until `dst` is full or the disk ends.
#ifndef VDISK_LIVECD_STREAM_RUNS_H_
#define VDISK_LIVECD_STREAM_RUNS_H_

#include <algorithm>
#include <cstddef>
#include <span>

#include "vdisk/block.h"
#include "vdisk/status.h"

namespace vdisk::livecd {

inline Result<std::size_t> read_from_runs(StreamSource& s, std::span<std::byte> dst) {
  std::size_t done = 0;
  while (done < dst.size()) {
    VDISK_ASSIGN_OR_RETURN(StreamRun run, s.next(dst.subspan(done)));
    if (run.kind == StreamRun::Kind::end) break;
    if (run.kind == StreamRun::Kind::zero)
      std::fill_n(dst.begin() + static_cast<std::ptrdiff_t>(done), run.length, std::byte{0});
    done += static_cast<std::size_t>(run.length);
  }
  return done;
}

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_STREAM_RUNS_H_
