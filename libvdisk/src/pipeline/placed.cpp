// The placed copy: a stream's pieces written where they belong, in the order they arrive.
//
//   planner (calling thread: PlacedStream::next_piece) --queue--> workers: decode, zero-scan,
//                                                                  BlockSink::write_at
//
// Memory is bounded by a byte budget (PipelineOptions: max_buffers * chunk_bytes) that counts
// each queued or in-progress piece as its stored plus its expanded size; the planner waits while
// the budget is spent, except that one piece is always admitted, so a piece larger than the
// budget still goes through alone. Each worker keeps one expansion buffer, the size of the
// largest piece it has seen. Pieces never overlap (the stream guarantees it), so the output's
// bytes do not depend on which worker writes first or on the thread count; zero blocks inside a
// piece are skipped like the ranges no piece covers, and read as zero from the positional sink.
#include "pipeline/placed.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "base/zero.h"

namespace vdisk::detail {
namespace {

class Placer {
 public:
  Placer(PlacedStream& src, BlockSink& dst, std::uint64_t size, const PlacedOptions& o,
         const ProgressFn& progress, std::stop_token stop)
      : src_(src), dst_(dst), size_(size), o_(o), progress_(progress),
        stop_cb_(stop, [this] { set_error(cancelled("cancelled")); }) {}

  Result<CopyStats> run() {
    std::vector<std::jthread> workers;
    for (unsigned i = 0; i < o_.threads; ++i) workers.emplace_back([this] { worker_loop(); });
    plan();
    {
      std::lock_guard lock(m_);
      planner_done_ = true;
    }
    cv_.notify_all();
    workers.clear();  // joins
    std::lock_guard lock(m_);
    if (!error_.ok()) return error_;
    stats_.virtual_bytes = size_;
    stats_.zero_bytes = size_ - stats_.data_bytes;
    return stats_;
  }

 private:
  struct Job {
    PlacedPiece piece;
    std::uint64_t cost = 0;
  };

  void set_error(Status s) {
    {
      std::lock_guard lock(m_);
      if (error_.ok()) error_ = std::move(s);
      stop_ = true;
    }
    cv_.notify_all();
  }

  void plan() {
    for (;;) {
      {
        std::lock_guard lock(m_);
        if (stop_) return;
      }
      Result<PlacedPiece> p = src_.next_piece();
      if (!p.ok()) return set_error(std::move(p).status());
      if (p->length == 0) return;
      if (p->offset > size_ || p->length > size_ - p->offset)
        return set_error(internal_error(fmt::format(
            "placed copy: piece [{}, +{}) lies outside the {}-byte disk", p->offset, p->length,
            size_)));
      Job job;
      job.cost = p->stored.size() + p->length;
      job.piece = std::move(*p);
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return stop_ || in_flight_ == 0 || in_flight_ + job.cost <= o_.budget; });
      if (stop_) return;
      in_flight_ += job.cost;
      ++pieces_in_flight_;
      stats_.peak_buffers = std::max(stats_.peak_buffers, pieces_in_flight_);
      queue_.push_back(std::move(job));
      lock.unlock();
      cv_.notify_all();
    }
  }

  void worker_loop() {
    std::vector<std::byte> buf;
    for (;;) {
      Job job;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty() || planner_done_; });
        if (stop_ || queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      const PlacedPiece& p = job.piece;
      if (buf.size() < p.length) buf.resize(static_cast<std::size_t>(p.length));
      const auto out = std::span(buf).first(static_cast<std::size_t>(p.length));
      Status s = src_.decode(p, out);
      std::uint64_t data = 0;
      if (s.ok()) s = write_runs(p.offset, out, data);
      if (!s.ok()) return set_error(std::move(s));
      Progress progress;
      {
        std::lock_guard lock(m_);
        in_flight_ -= job.cost;
        --pieces_in_flight_;
        stats_.read_bytes += p.length;
        stats_.data_bytes += data;
        stats_.buffer_bytes = std::max<std::size_t>(stats_.buffer_bytes, static_cast<std::size_t>(p.length));
        done_ = std::max(done_, p.offset + p.length);
        progress.done_bytes = done_;
        progress.total_bytes = size_;
        progress.data_bytes = stats_.data_bytes;
        progress.read_bytes = stats_.read_bytes;
      }
      cv_.notify_all();
      if (progress_) {
        std::lock_guard lock(progress_m_);  // one report at a time, as from the ordered writer
        progress_(progress);
      }
    }
  }

  // Writes the non-zero blocks of `bytes` (blocks aligned to absolute offsets, as the ordered
  // pipeline cuts them); zero blocks stay unwritten and so read as zero.
  Status write_runs(std::uint64_t offset, std::span<const std::byte> bytes, std::uint64_t& data) {
    const std::uint64_t z = o_.zero_block;
    if (z == 0) {
      data += bytes.size();
      return dst_.write_at(offset, bytes);
    }
    const std::uint64_t end = offset + bytes.size();
    std::uint64_t run = offset;  // start of the pending data run
    bool in_data = false;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint64_t blk_end = std::min(end, (pos / z + 1) * z);
      const bool zero = is_zero(bytes.subspan(static_cast<std::size_t>(pos - offset),
                                              static_cast<std::size_t>(blk_end - pos)));
      if (zero && in_data) {
        VDISK_RETURN_IF_ERROR(flush(offset, bytes, run, pos, data));
        in_data = false;
      } else if (!zero && !in_data) {
        run = pos;
        in_data = true;
      }
      pos = blk_end;
    }
    if (in_data) VDISK_RETURN_IF_ERROR(flush(offset, bytes, run, end, data));
    return {};
  }

  Status flush(std::uint64_t base, std::span<const std::byte> bytes, std::uint64_t from,
               std::uint64_t to, std::uint64_t& data) {
    data += to - from;
    return dst_.write_at(from, bytes.subspan(static_cast<std::size_t>(from - base),
                                             static_cast<std::size_t>(to - from)));
  }

  PlacedStream& src_;
  BlockSink& dst_;
  const std::uint64_t size_;
  const PlacedOptions o_;
  const ProgressFn& progress_;

  std::mutex m_;
  std::condition_variable cv_;
  Status error_;
  bool stop_ = false;
  bool planner_done_ = false;
  std::deque<Job> queue_;
  std::uint64_t in_flight_ = 0;  // bytes: stored + expanded, of queued and in-progress pieces
  std::size_t pieces_in_flight_ = 0;
  std::uint64_t done_ = 0;       // highest piece end written (monotone progress)
  CopyStats stats_;
  std::mutex progress_m_;
  std::stop_callback<std::function<void()>> stop_cb_;
};

}  // namespace

Result<CopyStats> copy_placed(PlacedStream& src, std::uint64_t size, BlockSink& dst,
                              const PlacedOptions& options, const ProgressFn& on_progress,
                              std::stop_token stop) {
  Placer placer(src, dst, size, options, on_progress, stop);
  VDISK_ASSIGN_OR_RETURN(CopyStats stats, placer.run());
  VDISK_RETURN_IF_ERROR(dst.extend_to(size));
  if (options.finish_sink) VDISK_RETURN_IF_ERROR(dst.finish());
  return stats;
}

}  // namespace vdisk::detail
