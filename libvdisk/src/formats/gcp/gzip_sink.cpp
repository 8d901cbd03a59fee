// Parallel single-member gzip (see gzip_sink.h).
#include "formats/gcp/gzip_sink.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "codec/codec.h"
#include "pipeline/ordered_jobs.h"
#include "base/endian.h"
#include "base/threads.h"
#include "base/zero.h"

namespace vdisk::gcp {
namespace {

constexpr std::size_t kWindow = 32 * 1024;     // deflate's history window
constexpr std::uint64_t kZeroUnit = 1u << 20;  // uncompressed bytes per zero segment
constexpr std::size_t kZeroBatch = 64;         // segments per write to `out`

// Deflate output for kZeroUnit zero bytes from an empty history, ended by a sync flush: it
// references nothing before itself and ends byte-aligned, so it can be spliced anywhere between
// our sync-flushed blocks.
const std::vector<std::byte>& zero_segment() {
  static const std::vector<std::byte> segment = [] {
    z_stream z{};
    std::vector<std::byte> out(64 * 1024);
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) return out;
    auto zeros = detail::zero_buffer(kZeroUnit);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(zeros.data()));
    z.avail_in = static_cast<uInt>(kZeroUnit);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    return out;
  }();
  return segment;
}

struct Job : detail::OrderedJob {
  std::vector<std::byte> input;
  std::vector<std::byte> dict;
  // A lent block (write_lent): its bytes and dictionary are read where they are, held by `keep`
  // until the worker is done with them (it drops `keep` then); `input` stays empty.
  bool lent = false;
  std::span<const std::byte> lent_input, lent_dict;
  std::shared_ptr<const void> keep;
  bool last = false;
  std::uint64_t zero_units = 0;  // > 0: a precomputed zero job, no compression
  codec::OutputBuffer output;
  std::uint32_t crc = 0;
};

std::span<const std::byte> job_input(const Job& job) {
  return job.lent ? job.lent_input : std::span<const std::byte>(job.input);
}

// Runs one job on a worker's deflater: CRC, then the chunk's deflate (codec.h), then lets go of
// lent bytes.
Status run_job(codec::ChunkDeflater& deflater, Job& job) {
  const auto input = job_input(job);
  job.crc = codec::crc32(0, input);
  Status s =
      deflater.deflate_chunk(job.lent ? job.lent_dict : job.dict, input, job.last, job.output);
  job.keep.reset();
  return s;
}

class ParallelGzipSink final : public GzipSink {
 public:
  ParallelGzipSink(std::unique_ptr<ByteSink> out, const GzipOptions& o, unsigned threads)
      : out_(std::move(out)), opt_(o), max_in_flight_(2 * std::size_t{threads} + 2) {
    buffer_.reserve(opt_.block_bytes);
    engine_ = gzip_engine(opt_.level);
  }

  // Creates one deflater per worker (so engine errors surface here) and starts the workers.
  Status start(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) {
      VDISK_ASSIGN_OR_RETURN(auto d, codec::make_chunk_deflater(engine_.engine, engine_.level));
      deflaters_.push_back(std::move(d));
    }
    jobs_ = std::make_unique<detail::OrderedJobs<Job>>(
        threads, max_in_flight_,
        [this](unsigned worker, Job& job) { return run_job(*deflaters_[worker], job); },
        [this](Job& job) { return write_job(job); });
    return {};
  }

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(usable());
    while (!data.empty()) {
      const std::size_t n = std::min(data.size(), opt_.block_bytes - buffer_.size());
      buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
      data = data.subspan(n);
      position_ += n;
      if (buffer_.size() == opt_.block_bytes) VDISK_RETURN_IF_ERROR(submit_buffer(false));
    }
    return {};
  }

  // Whole blocks that lie inside `data` are deflated where they are (no copy into a block); the
  // bytes before the first and after the last block boundary are copied as write() does. The
  // blocks are cut where write() would cut them, so the output is byte for byte the same.
  Status write_lent(std::span<const std::byte> data, std::shared_ptr<const void> keep) override {
    VDISK_RETURN_IF_ERROR(usable());
    if (!keep) return write(data);
    if (!buffer_.empty()) {
      const std::size_t head = std::min(data.size(), opt_.block_bytes - buffer_.size());
      VDISK_RETURN_IF_ERROR(write(data.first(head)));
      data = data.subspan(head);
    }
    std::size_t at = 0;
    for (; data.size() - at >= opt_.block_bytes; at += opt_.block_bytes) {
      VDISK_ASSIGN_OR_RETURN(auto job, take_job());
      if (at == 0) {  // the history; later blocks find theirs in `data` (blocks >= the window)
        fill_dict(job->dict);
        job->lent_dict = job->dict;
      } else {
        job->lent_dict = data.subspan(at - kWindow, kWindow);
      }
      job->lent = true;
      job->lent_input = data.subspan(at, opt_.block_bytes);
      job->keep = keep;
      history_zero_ = false;
      position_ += opt_.block_bytes;
      VDISK_RETURN_IF_ERROR(enqueue(std::move(job), true));
    }
    if (at > 0)
      history_.assign(data.begin() + static_cast<std::ptrdiff_t>(at - kWindow),
                      data.begin() + static_cast<std::ptrdiff_t>(at));
    return write(data.subspan(at));
  }

  Status write_zeroes(std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(usable());
    const std::uint64_t fill = buffer_.empty() ? 0 : opt_.block_bytes - buffer_.size();
    if (length >= fill + kZeroUnit) {
      VDISK_RETURN_IF_ERROR(write_zero_bytes(fill));
      const std::uint64_t units = (length - fill) / kZeroUnit;
      VDISK_ASSIGN_OR_RETURN(auto job, take_job());
      job->zero_units = units;
      VDISK_RETURN_IF_ERROR(enqueue(std::move(job), false));
      position_ += units * kZeroUnit;
      history_zero_ = true;
      length -= fill + units * kZeroUnit;
    }
    return write_zero_bytes(length);
  }

  std::uint64_t position() const override { return position_; }
  std::uint64_t compressed_bytes() const override { return out_->position(); }
  std::uint32_t crc32() const override { return crc_; }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(usable());
    VDISK_RETURN_IF_ERROR(submit_buffer(true));
    VDISK_RETURN_IF_ERROR(fail_on(jobs_->drain()));
    std::array<std::byte, 8> trailer{};
    detail::store_le32(std::span(trailer).first(4), crc_);
    detail::store_le32(std::span(trailer).last(4), static_cast<std::uint32_t>(position_));
    VDISK_RETURN_IF_ERROR(fail_on(out_->write(trailer)));
    finished_ = true;
    return fail_on(out_->finish());
  }

 private:
  Status usable() const {
    if (!failed_.ok()) return failed_;
    if (finished_) return internal_error("gzip: sink used after finish()");
    return {};
  }
  Status fail_on(Status s) {
    if (!s.ok() && failed_.ok()) failed_ = s;
    return s;
  }

  Status write_zero_bytes(std::uint64_t length) {
    while (length > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, kZeroUnit));
      VDISK_RETURN_IF_ERROR(write(detail::zero_buffer(n)));
      length -= n;
    }
    return {};
  }

  Status write_header() {
    std::array<std::byte, 10> h{};
    h[0] = std::byte{0x1f};
    h[1] = std::byte{0x8b};
    h[2] = std::byte{8};  // deflate; flags 0, mtime 0 (reproducible)
    h[8] = static_cast<std::byte>(opt_.level == 9 ? 2 : (opt_.level == 1 ? 4 : 0));
    h[9] = std::byte{3};  // Unix
    header_written_ = true;
    return fail_on(out_->write(h));
  }

  // A job from the spares (its vectors keep their capacity: no allocation and no page faults per
  // block once the first max_in_flight_ blocks are through) or a new one. Writes the header
  // first, since taking a job may write out the oldest ones.
  Result<std::unique_ptr<Job>> take_job() {
    if (!header_written_) VDISK_RETURN_IF_ERROR(write_header());
    auto job = jobs_->acquire();
    if (!job.ok()) return fail_on(job.status());
    return job;
  }
  // Empties a written job for reuse.
  static void recycle(Job& job) {
    job.input.clear();
    job.dict.clear();
    job.lent = false;
    job.lent_input = {};
    job.lent_dict = {};
    job.keep.reset();
    job.output.clear();
    job.last = false;
    job.zero_units = 0;
    job.crc = 0;
  }

  // The dictionary of the next block: the last (up to) 32 KiB of the stream so far.
  void fill_dict(std::vector<std::byte>& dict) const {
    if (history_zero_) {
      dict.assign(kWindow, std::byte{0});
    } else {
      const std::size_t n = std::min(kWindow, history_.size());
      dict.assign(history_.end() - static_cast<std::ptrdiff_t>(n), history_.end());
    }
  }

  Status submit_buffer(bool last) {
    VDISK_ASSIGN_OR_RETURN(auto job, take_job());
    fill_dict(job->dict);
    // The next block's history is this block's tail (blocks are >= the window except the last).
    history_zero_ = false;
    const std::size_t keep = std::min(kWindow, buffer_.size());
    if (keep == kWindow)
      history_.assign(buffer_.end() - static_cast<std::ptrdiff_t>(keep), buffer_.end());
    else
      history_.insert(history_.end(), buffer_.begin(), buffer_.end());
    if (history_.size() > kWindow)
      history_.erase(history_.begin(), history_.end() - static_cast<std::ptrdiff_t>(kWindow));
    std::swap(job->input, buffer_);  // buffer_ takes the spare's empty, already sized vector
    buffer_.reserve(opt_.block_bytes);
    job->last = last;
    return enqueue(std::move(job), true);
  }

  Status enqueue(std::unique_ptr<Job> job, bool compress) {
    return fail_on(jobs_->submit(std::move(job), compress));
  }

  // The oldest job, done: writes its output and folds its CRC in (called by jobs_, in order).
  Status write_job(Job& job) {
    if (job.zero_units > 0) {
      const auto& seg = zero_segment();
      std::vector<std::byte> batch;
      for (std::uint64_t left = job.zero_units; left > 0;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kZeroBatch));
        batch.clear();
        for (std::size_t i = 0; i < n; ++i) batch.insert(batch.end(), seg.begin(), seg.end());
        VDISK_RETURN_IF_ERROR(fail_on(out_->write(batch)));
        left -= n;
      }
      crc_ = crc32_extend_zeros(crc_, job.zero_units * kZeroUnit);
    } else {
      VDISK_RETURN_IF_ERROR(fail_on(out_->write(job.output)));
      crc_ = static_cast<std::uint32_t>(
          crc32_combine64(crc_, job.crc, static_cast<z_off64_t>(job_input(job).size())));
    }
    recycle(job);
    return {};
  }

  std::unique_ptr<ByteSink> out_;
  GzipOptions opt_;
  GzipEngine engine_;
  std::size_t max_in_flight_;
  std::vector<std::byte> buffer_;
  std::vector<std::byte> history_;  // last <= 32 KiB of the uncompressed stream
  bool history_zero_ = false;       // the last 32 KiB are zeros from a zero segment
  std::uint64_t position_ = 0;
  std::uint32_t crc_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
  Status failed_;

  std::vector<std::unique_ptr<codec::ChunkDeflater>> deflaters_;  // one per worker
  // In stream order; last, so its workers stop before what they use goes.
  std::unique_ptr<detail::OrderedJobs<Job>> jobs_;
};

}  // namespace

GzipEngine gzip_engine(int level) noexcept {
  // The table in gzip_sink.h; figures in bench/RESULTS.md ("GCP tarball").
  if (level >= 1 && level <= 3)
    return codec::engine_available(codec::Engine::isal) ? GzipEngine{codec::Engine::isal, level}
                                                        : GzipEngine{codec::Engine::zlib, 1};
  if (level >= 7 && level <= 9 && codec::engine_available(codec::Engine::libdeflate)) {
    static constexpr int kLibdeflateLevel[3] = {9, 10, 12};
    return {codec::Engine::libdeflate, kLibdeflateLevel[level - 7]};
  }
  static constexpr int kZlibLevel[10] = {0, 1, 1, 1, 2, 3, 4, 6, 8, 9};
  return {codec::Engine::zlib, kZlibLevel[std::clamp(level, 0, 9)]};
}

std::uint32_t crc32_extend_zeros(std::uint32_t crc, std::uint64_t length) {
  // CRC of `length` zeros by binary decomposition, then appended with crc32_combine.
  std::uint32_t zeros_crc = 0;  // CRC of the zeros assembled so far (empty: 0)
  const std::byte zero{0};
  std::uint32_t power = static_cast<std::uint32_t>(
      ::crc32(0, reinterpret_cast<const Bytef*>(&zero), 1));  // CRC of 2^k zeros
  std::uint64_t power_len = 1;
  for (std::uint64_t left = length; left > 0; left >>= 1) {
    if (left & 1) {
      zeros_crc = static_cast<std::uint32_t>(
          crc32_combine64(zeros_crc, power, static_cast<z_off64_t>(power_len)));
    }
    if (left > 1) {
      power = static_cast<std::uint32_t>(
          crc32_combine64(power, power, static_cast<z_off64_t>(power_len)));
      power_len *= 2;
    }
  }
  return static_cast<std::uint32_t>(
      crc32_combine64(crc, zeros_crc, static_cast<z_off64_t>(length)));
}

Result<std::unique_ptr<GzipSink>> make_gzip_sink(std::unique_ptr<ByteSink> out,
                                                 const GzipOptions& options) {
  if (options.level < 0 || options.level > 9)
    return invalid_argument(fmt::format("gzip: level {} not in 0..9", options.level));
  if (options.block_bytes < 64 * 1024 || options.block_bytes > (64u << 20))
    return invalid_argument(
        fmt::format("gzip: block size {} not in [64 KiB, 64 MiB]", options.block_bytes));
  const unsigned threads = detail::resolve_threads(options.threads);
  if (threads > 256) return invalid_argument(fmt::format("gzip: threads {} > 256", threads));
  auto sink = std::make_unique<ParallelGzipSink>(std::move(out), options, threads);
  VDISK_RETURN_IF_ERROR(sink->start(threads));
  return std::unique_ptr<GzipSink>(std::move(sink));
}

}  // namespace vdisk::gcp
