// The copy pipeline (see vdisk/pipeline.h for the contract).
//
// Threads and hand-offs, all guarded by one mutex (chunks are megabytes, so the lock is taken a
// few hundred times per second at most and is never the bottleneck):
//
//   planner  --(ring_: chunks in sequence order)-->  writer
//      \--(work_: data chunks to read/scan)--> workers --(chunk.ready)--/
//
// - The planner (calling thread) appends chunks to the ring in offset order. A data chunk first
//   takes a buffer from the pool; the planner blocks while the pool is empty or the ring is
//   full. That is the backpressure that bounds memory.
// - Workers take data chunks from the work queue, fill their buffers (reading the source, or
//   already filled by a stream planner), split them into zero/data runs and mark them ready.
// - The writer takes the ring's front chunk once it is ready, hands its data runs to the sink as
//   lent bytes (BlockSink::write_lent) and pops it. Only the writer calls the sink, so sink calls
//   are in order. The buffer goes back to the pool when the last copy of its keep-alive is gone:
//   at once for a sink that copies (the default write_lent), or when a compressing sink's
//   workers are done with the bytes. A keep-alive also holds the Pipeline, so a sink may keep
//   one past copy() (an error stops the copy while its workers still hold lent blocks).
// - set_error() records the first failure and wakes everybody; each loop exits when stop_ is
//   set, and copy() returns the recorded status without finishing the sink.
#include "vdisk/pipeline.h"

#include <sys/mman.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "pipeline/placed.h"
#include "base/threads.h"
#include "base/zero.h"

namespace vdisk {
namespace {

struct FreeBytes {
  void operator()(std::byte* p) const { std::free(p); }
};
using ChunkBuffer = std::unique_ptr<std::byte[], FreeBytes>;

// A chunk buffer. One of 2 MiB or more (the default is 4 MiB) is 2 MiB aligned and offered to
// transparent huge pages (madvise; a hint the kernel may ignore): the decoders that fill it and
// the kernel copying out of it into the page cache take far fewer TLB misses and page faults
// than with 4 KiB pages (bench/RESULTS.md: zstd qcow2 -> Azure 0.43 s -> 0.33 s, system time
// 0.25 s -> 0.15 s). Smaller chunks (tests) are plain allocations, never rounded up.
ChunkBuffer allocate_chunk(std::size_t n) {
  constexpr std::size_t kHuge = 2u << 20;
  void* p = nullptr;
  if (n >= kHuge) {
    const std::size_t rounded = (n + kHuge - 1) / kHuge * kHuge;
    p = std::aligned_alloc(kHuge, rounded);
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE);
  } else {
    p = std::malloc(n);
  }
  if (!p) throw std::bad_alloc();
  return ChunkBuffer(static_cast<std::byte*>(p));
}

}  // namespace

Status BlockSource::map(std::uint64_t offset, std::uint64_t length,
                        std::vector<Extent>& out) const {
  append_extent(out, {offset, length, ExtentKind::data});
  return {};
}

void BlockSource::describe(Properties&) const {}

Status BlockSink::write_at(std::uint64_t, std::span<const std::byte>) {
  return unsupported("this output is written front to back (no positional writes)");
}
Status BlockSink::write_lent(std::uint64_t offset, std::span<const std::byte> data,
                             std::shared_ptr<const void>) {
  return write(offset, data);
}
Status BlockSink::extend_to(std::uint64_t) {
  return unsupported("this output is written front to back (no positional writes)");
}

Result<StreamRun> StreamSource::next(std::span<std::byte> dst) {
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read(dst));
  if (n == 0) return StreamRun{};
  return StreamRun{StreamRun::Kind::data, n};
}

namespace {

struct Run {
  std::uint64_t offset;
  std::uint64_t length;
  bool zero;
};

struct Chunk {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  int buffer = -1;         // pool index; -1 for a zero chunk
  bool prefilled = false;  // buffer already holds the bytes (stream planner)
  bool ready = false;      // runs are final; the writer may take it
  std::vector<Run> runs;
};

struct Resolved {
  unsigned threads;
  std::size_t chunk_bytes;
  std::size_t max_buffers;
  std::size_t zero_block;
  std::uint64_t window;
  BlockSink* tap;
};

Result<Resolved> resolve(const PipelineOptions& o) {
  Resolved r{};
  r.threads = detail::resolve_threads(o.threads);
  if (r.threads > 256) return invalid_argument(fmt::format("threads {} > 256", r.threads));
  if (o.chunk_bytes < 4096 || o.chunk_bytes > (1u << 30))
    return invalid_argument(fmt::format("chunk size {} not in [4 KiB, 1 GiB]", o.chunk_bytes));
  r.chunk_bytes = o.chunk_bytes;
  r.max_buffers = o.max_buffers ? o.max_buffers : 2 * std::size_t{r.threads} + 2;
  if (r.max_buffers > 4096) return invalid_argument("max_buffers > 4096");
  if (o.zero_block_bytes != 0 && (o.zero_block_bytes < 512 || o.zero_block_bytes > o.chunk_bytes))
    return invalid_argument(
        fmt::format("zero block size {} not in [512, chunk size]", o.zero_block_bytes));
  r.zero_block = o.zero_block_bytes;
  r.window = o.map_window_bytes ? o.map_window_bytes : (1ull << 30);
  r.tap = o.tap;
  return r;
}

class Pipeline : public std::enable_shared_from_this<Pipeline> {
 public:
  Pipeline(const Resolved& opt, BlockSink& sink, const BlockSource* src, const ProgressFn& progress,
           std::stop_token stop)
      : opt_(opt),
        sink_(sink),
        src_(src),
        progress_(progress),
        stop_cb_(stop, [this] { set_error(cancelled("cancelled")); }),
        buffers_(opt.max_buffers) {
    for (std::size_t i = opt.max_buffers; i-- > 0;) free_.push_back(static_cast<int>(i));
    stats_.buffer_bytes = opt.chunk_bytes;
  }

  void start() {
    writer_ = std::jthread([this] { writer_loop(); });
    for (unsigned i = 0; i < opt_.threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  // Ends the run: tells the threads no more chunks come, waits for them, returns the outcome.
  Status join() {
    {
      std::lock_guard lock(m_);
      planner_done_ = true;
    }
    cv_.notify_all();
    workers_.clear();  // jthread joins
    writer_ = {};
    std::lock_guard lock(m_);
    return error_;
  }

  void set_error(Status s) {
    {
      std::lock_guard lock(m_);
      if (error_.ok()) error_ = std::move(s);
      stop_ = true;
    }
    cv_.notify_all();
  }

  bool stopped() {
    std::lock_guard lock(m_);
    return stop_;
  }

  // Appends a zero chunk. Returns false when the pipeline is stopping.
  bool push_zero(std::uint64_t offset, std::uint64_t length) {
    auto c = std::make_unique<Chunk>();
    c->offset = offset;
    c->length = length;
    c->runs.push_back({offset, length, true});
    c->ready = true;
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return stop_ || ring_.size() < ring_capacity(); });
    if (stop_) return false;
    ring_.push_back(std::move(c));
    lock.unlock();
    cv_.notify_all();
    return true;
  }

  // Takes a buffer for a data chunk; -1 when stopping.
  int acquire_buffer() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return stop_ || (!free_.empty() && ring_.size() < ring_capacity()); });
    if (stop_) return -1;
    const int b = free_.back();
    free_.pop_back();
    stats_.peak_buffers = std::max(stats_.peak_buffers, opt_.max_buffers - free_.size());
    if (!buffers_[static_cast<std::size_t>(b)])
      buffers_[static_cast<std::size_t>(b)] = allocate_chunk(opt_.chunk_bytes);
    return b;
  }

  std::span<std::byte> buffer(int b, std::size_t n) {
    return {buffers_[static_cast<std::size_t>(b)].get(), n};
  }

  // Appends a data chunk that owns buffer `b` (from acquire_buffer()).
  void push_data(std::uint64_t offset, std::uint64_t length, int b, bool prefilled) {
    auto c = std::make_unique<Chunk>();
    c->offset = offset;
    c->length = length;
    c->buffer = b;
    c->prefilled = prefilled;
    {
      std::lock_guard lock(m_);
      work_.push_back(c.get());
      ring_.push_back(std::move(c));
    }
    cv_.notify_all();
  }

  // Buffer `b`'s bytes, lent to the sink: the buffer returns to the pool when the last copy of
  // the result is dropped (on any thread; never while holding m_).
  std::shared_ptr<const void> lend(int b) {
    struct Return {
      std::shared_ptr<Pipeline> pipeline;
      int buffer;
      void operator()(const void*) const { pipeline->release_unused_buffer(buffer); }
    };
    return {buffers_[static_cast<std::size_t>(b)].get(), Return{shared_from_this(), b}};
  }

  void release_unused_buffer(int b) {
    {
      std::lock_guard lock(m_);
      free_.push_back(b);
    }
    cv_.notify_all();
  }

  void set_total(std::uint64_t total) {
    std::lock_guard lock(m_);
    total_ = total;
  }

  CopyStats stats() {
    std::lock_guard lock(m_);
    return stats_;
  }

 private:
  std::size_t ring_capacity() const { return 2 * opt_.max_buffers + 2; }

  void worker_loop() {
    for (;;) {
      Chunk* c;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return stop_ || !work_.empty() || planner_done_; });
        if (stop_ || work_.empty()) return;
        c = work_.front();
        work_.pop_front();
      }
      auto buf = buffer(c->buffer, static_cast<std::size_t>(c->length));
      if (!c->prefilled) {
        Status s = src_->read(c->offset, buf);
        if (!s.ok()) {
          set_error(std::move(s));
          return;
        }
      }
      scan(*c, buf);
      {
        std::lock_guard lock(m_);
        stats_.read_bytes += c->length;
        c->ready = true;
      }
      cv_.notify_all();
    }
  }

  // Splits a filled chunk into zero and data runs on blocks aligned to absolute offsets, so the
  // runs do not depend on how the disk was cut into chunks.
  void scan(Chunk& c, std::span<const std::byte> buf) const {
    const std::uint64_t end = c.offset + c.length;
    if (opt_.zero_block == 0) {
      c.runs.push_back({c.offset, c.length, false});
      return;
    }
    const std::uint64_t z = opt_.zero_block;
    for (std::uint64_t pos = c.offset; pos < end;) {
      const std::uint64_t blk_end = std::min(end, (pos / z + 1) * z);
      const bool zero = detail::is_zero(buf.subspan(static_cast<std::size_t>(pos - c.offset),
                                                    static_cast<std::size_t>(blk_end - pos)));
      if (!c.runs.empty() && c.runs.back().zero == zero)
        c.runs.back().length += blk_end - pos;
      else
        c.runs.push_back({pos, blk_end - pos, zero});
      pos = blk_end;
    }
  }

  void writer_loop() {
    for (;;) {
      Chunk* c;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] {
          return stop_ || (!ring_.empty() && ring_.front()->ready) ||
                 (planner_done_ && ring_.empty());
        });
        if (stop_ || ring_.empty()) return;
        c = ring_.front().get();
      }
      Progress p;
      std::uint64_t data = 0, zero = 0;
      std::shared_ptr<const void> keep = c->buffer >= 0 ? lend(c->buffer) : nullptr;
      for (const Run& r : c->runs) {
        Status s;
        if (r.zero) {
          if (opt_.tap) s = opt_.tap->write_zeroes(r.offset, r.length);
          if (s.ok()) s = sink_.write_zeroes(r.offset, r.length);
          zero += r.length;
        } else {
          const auto bytes = buffer(c->buffer, static_cast<std::size_t>(c->length))
                                 .subspan(static_cast<std::size_t>(r.offset - c->offset),
                                          static_cast<std::size_t>(r.length));
          if (opt_.tap) s = opt_.tap->write(r.offset, bytes);
          if (s.ok()) s = sink_.write_lent(r.offset, bytes, keep);
          data += r.length;
        }
        if (!s.ok()) {
          set_error(std::move(s));
          return;
        }
      }
      keep.reset();  // the sink's copies, if any, return the buffer later
      {
        std::lock_guard lock(m_);
        stats_.virtual_bytes = c->offset + c->length;
        stats_.data_bytes += data;
        stats_.zero_bytes += zero;
        p.done_bytes = stats_.virtual_bytes;
        p.total_bytes = total_;
        p.data_bytes = stats_.data_bytes;
        p.zero_bytes = stats_.zero_bytes;
        p.read_bytes = stats_.read_bytes;
        ring_.pop_front();
      }
      cv_.notify_all();
      if (progress_) progress_(p);
    }
  }

  const Resolved opt_;
  BlockSink& sink_;
  const BlockSource* src_;
  const ProgressFn& progress_;

  std::mutex m_;
  std::condition_variable cv_;  // one condition for all waits: simple, and wake-ups are rare
  Status error_;
  bool stop_ = false;
  bool planner_done_ = false;
  std::uint64_t total_ = 0;
  std::deque<std::unique_ptr<Chunk>> ring_;
  std::deque<Chunk*> work_;
  std::vector<int> free_;
  CopyStats stats_;
  std::stop_callback<std::function<void()>> stop_cb_;
  std::vector<ChunkBuffer> buffers_;
  std::vector<std::jthread> workers_;
  std::jthread writer_;
};

Status check_map(const BlockSource& src, std::uint64_t offset, std::uint64_t length,
                 const std::vector<Extent>& ext) {
  std::uint64_t pos = offset;
  for (const Extent& e : ext) {
    if (e.offset != pos || e.length == 0)
      return internal_error(fmt::format("{}: map of [{}, +{}) is not contiguous at {}",
                                        src.format(), offset, length, pos));
    pos += e.length;
  }
  if (pos != offset + length)
    return internal_error(
        fmt::format("{}: map of [{}, +{}) covers up to {}", src.format(), offset, length, pos));
  return {};
}

Result<CopyStats> finish(Pipeline& p, BlockSink& dst, const PipelineOptions& options) {
  VDISK_RETURN_IF_ERROR(p.join());
  if (options.finish_sink) VDISK_RETURN_IF_ERROR(dst.finish());
  return p.stats();
}

}  // namespace

Result<CopyStats> copy(const BlockSource& src, BlockSink& dst, const PipelineOptions& options,
                       const ProgressFn& on_progress, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(const Resolved opt, resolve(options));
  auto pipeline = std::make_shared<Pipeline>(opt, dst, &src, on_progress, stop);
  Pipeline& p = *pipeline;
  const std::uint64_t size = src.size();
  p.set_total(size);
  p.start();
  std::vector<Extent> extents;
  for (std::uint64_t win = 0; win < size && !p.stopped(); win += opt.window) {
    const std::uint64_t wlen = std::min(opt.window, size - win);
    extents.clear();
    Status s = src.map(win, wlen, extents);
    if (s.ok()) s = check_map(src, win, wlen, extents);
    if (!s.ok()) {
      p.set_error(std::move(s));
      break;
    }
    for (const Extent& e : extents) {
      if (e.reads_as_zero()) {
        if (!p.push_zero(e.offset, e.length)) break;
        continue;
      }
      bool stopping = false;
      for (std::uint64_t pos = e.offset; pos < e.end();) {
        // Cut at absolute multiples of chunk_bytes, so chunks (and buffers) stay aligned.
        const std::uint64_t end = std::min(e.end(), (pos / opt.chunk_bytes + 1) * opt.chunk_bytes);
        const int b = p.acquire_buffer();
        if (b < 0) {
          stopping = true;
          break;
        }
        p.push_data(pos, end - pos, b, /*prefilled=*/false);
        pos = end;
      }
      if (stopping) break;
    }
  }
  return finish(p, dst, options);
}

Result<CopyStats> copy(StreamSource& src, BlockSink& dst, const PipelineOptions& options,
                       const ProgressFn& on_progress, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(const Resolved opt, resolve(options));
  if (PlacedStream* placed = options.place_pieces && !opt.tap ? src.placed() : nullptr;
      placed && src.size() && dst.can_write_at()) {
    detail::PlacedOptions po;
    po.threads = opt.threads;
    po.budget = std::uint64_t{opt.max_buffers} * opt.chunk_bytes;
    po.zero_block = opt.zero_block;
    po.finish_sink = options.finish_sink;
    return detail::copy_placed(*placed, *src.size(), dst, po, on_progress, stop);
  }
  auto pipeline = std::make_shared<Pipeline>(opt, dst, nullptr, on_progress, stop);
  Pipeline& p = *pipeline;
  if (auto size = src.size()) p.set_total(*size);
  p.start();
  std::uint64_t pos = 0;
  while (!p.stopped()) {
    const int b = p.acquire_buffer();
    if (b < 0) break;
    Result<StreamRun> r = src.next(p.buffer(b, opt.chunk_bytes));
    if (!r.ok()) {
      p.release_unused_buffer(b);
      p.set_error(std::move(r).status());
      break;
    }
    if (r->kind != StreamRun::Kind::data || r->length == 0 || r->length > opt.chunk_bytes)
      p.release_unused_buffer(b);
    if (r->kind == StreamRun::Kind::end) break;
    if (r->length == 0 || (r->kind == StreamRun::Kind::data && r->length > opt.chunk_bytes) ||
        r->length > std::numeric_limits<std::uint64_t>::max() - pos) {
      p.set_error(internal_error(fmt::format("{}: stream returned a run of {} bytes at {}",
                                             src.format(), r->length, pos)));
      break;
    }
    if (r->kind == StreamRun::Kind::zero) {
      if (!p.push_zero(pos, r->length)) break;
    } else {
      p.push_data(pos, r->length, b, /*prefilled=*/true);
    }
    pos += r->length;
  }
  if (!src.size()) p.set_total(pos);
  return finish(p, dst, options);
}

std::string_view progress_phase_name(ProgressPhase phase) {
  switch (phase) {
    case ProgressPhase::open:
      return "open";
    case ProgressPhase::scan:
      return "scan";
    case ProgressPhase::copy:
      return "copy";
    case ProgressPhase::finish:
      return "finish";
    case ProgressPhase::done:
      return "done";
  }
  return "unknown";
}

}  // namespace vdisk
