// The progress bar: fed by the pipeline's ProgressFn from the writer thread, so update() is
// cheap (a clock read and a comparison) except when it redraws, which happens at most every
// 200 ms on a terminal (every second when --progress writes to a pipe or file).
#ifndef VDCONVERT_PROGRESS_H_
#define VDCONVERT_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "console.h"
#include "vdisk/pipeline.h"

namespace vdconvert {

// "0 B", "512 B", "1.5 KiB", "20.0 MiB", "1.00 GiB" ...
std::string format_bytes(std::uint64_t bytes);
// A transfer rate in bytes per second: "83.2 MiB/s".
std::string format_rate(double bytes_per_second);
// "0:07", "1:05", "1:02:03"; "?" when not finite or negative.
std::string format_duration(double seconds);
// One status line: "512 MiB / 1.00 GiB  50%  120 MiB/s  ETA 0:04". Without a known total:
// "512 MiB  120 MiB/s". The rate is virtual bytes per second; the ETA counts the data still to
// read at the read rate so far when p.data_total_bytes is known (zero runs cost nothing), else
// the virtual bytes still to copy at the rate.
std::string format_progress(const vdisk::Progress& p, double elapsed_seconds);

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressBar(Console& console, bool enabled);

  // Thread-safe; called from the library's threads. Draws the scan and the copy only, a chunk
  // at a time (the phase reports and the heartbeat's repeats are not drawn).
  void update(const vdisk::Progress& p);
  // Erases the bar (call before printing the result).
  void finish();
  // A ProgressFn bound to this bar, or an empty function when the bar is disabled.
  vdisk::ProgressFn callback();

 private:
  Console& console_;
  bool enabled_;
  Clock::time_point start_;
  Clock::duration interval_;
  std::mutex mu_;
  Clock::time_point last_draw_{};
  bool drawn_ = false;  // what was drawn last: the phase and done bytes
  vdisk::ProgressPhase drawn_phase_ = vdisk::ProgressPhase::copy;
  std::uint64_t drawn_done_ = 0;
};

}  // namespace vdconvert

#endif  // VDCONVERT_PROGRESS_H_
