// What convert() tells its ProgressFn (vdisk/pipeline.h, vdisk/image.h): the phase it is in,
// the copy's counters, the bytes of output produced, and an upload's sent bytes and retries.
//
// One ProgressTracker per conversion. Reports come from the pipeline (pipeline_fn(), each
// chunk), from phase changes (enter(), at once) and from a heartbeat thread that repeats the
// last report, with fresh output and upload counters, when nothing was reported for
// `heartbeat` (a stalled upload, a long finish still shows that it is alive). The caller's
// function is called under one lock, so its calls never overlap; without a function nothing is
// tracked and no thread is started.
#ifndef VDISK_IMAGE_CONVERT_PROGRESS_H_
#define VDISK_IMAGE_CONVERT_PROGRESS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "vdisk/cloud.h"
#include "vdisk/io.h"
#include "vdisk/pipeline.h"

namespace vdisk::detail {

class ProgressTracker {
 public:
  // `remote` (may be null) is asked for its stats() at each report.
  ProgressTracker(ProgressFn fn, const RemoteOutput* remote,
                  std::chrono::milliseconds heartbeat = std::chrono::milliseconds(1000));
  ~ProgressTracker();
  ProgressTracker(const ProgressTracker&) = delete;
  ProgressTracker& operator=(const ProgressTracker&) = delete;

  bool enabled() const { return static_cast<bool>(fn_); }
  // Enters `phase` and reports it. Entering copy after a scan starts the copy's counters at 0.
  void enter(ProgressPhase phase);
  // The virtual size and the data bytes the map holds (0: not known).
  void set_totals(std::uint64_t total_bytes, std::uint64_t data_total_bytes);
  // The copy's final counters (reported with the next enter()).
  void set_copied(const CopyStats& stats);
  // A ProgressFn for copy() and prepare_disk(): merges their counters and reports; empty when
  // disabled.
  ProgressFn pipeline_fn();
  // Wraps `out` so that written_bytes counts what it is given (returns `out` when disabled).
  std::unique_ptr<ByteSink> count(std::unique_ptr<ByteSink> out);

 private:
  void report_locked();  // mu_ held
  void heartbeat_loop(std::stop_token stop);

  ProgressFn fn_;
  const RemoteOutput* remote_;
  std::chrono::milliseconds heartbeat_;
  std::shared_ptr<std::atomic<std::uint64_t>> written_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::mutex mu_;
  std::condition_variable_any cv_;
  Progress last_;
  std::chrono::steady_clock::time_point last_report_{};
  std::jthread heartbeat_thread_;  // last member: joined first
};

}  // namespace vdisk::detail

#endif  // VDISK_IMAGE_CONVERT_PROGRESS_H_
