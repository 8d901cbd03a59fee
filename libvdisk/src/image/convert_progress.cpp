#include "image/convert_progress.h"

#include <algorithm>
#include <utility>

namespace vdisk::detail {
namespace {

// Passes every call on to `out` and keeps `*produced` at the bytes of output made so far:
// position() after an append, plus the data written in place.
class CountingSink final : public ByteSink {
 public:
  CountingSink(std::unique_ptr<ByteSink> out, std::shared_ptr<std::atomic<std::uint64_t>> produced)
      : out_(std::move(out)), produced_(std::move(produced)) {}

  Status write(std::span<const std::byte> data) override {
    Status s = out_->write(data);
    raise(out_->position());
    return s;
  }
  Status write_zeroes(std::uint64_t length) override {
    Status s = out_->write_zeroes(length);
    raise(out_->position());
    return s;
  }
  std::uint64_t position() const override { return out_->position(); }
  Status finish() override {
    Status s = out_->finish();
    raise(out_->position());
    return s;
  }
  bool can_write_at() const override { return out_->can_write_at(); }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    Status s = out_->write_at(offset, data);
    if (s.ok()) produced_->fetch_add(data.size(), std::memory_order_relaxed);
    return s;
  }
  Status extend_to(std::uint64_t end) override {
    Status s = out_->extend_to(end);
    raise(out_->position());
    return s;
  }

 private:
  void raise(std::uint64_t to) {
    std::uint64_t now = produced_->load(std::memory_order_relaxed);
    while (now < to && !produced_->compare_exchange_weak(now, to, std::memory_order_relaxed)) {
    }
  }
  std::unique_ptr<ByteSink> out_;
  std::shared_ptr<std::atomic<std::uint64_t>> produced_;
};

}  // namespace

ProgressTracker::ProgressTracker(ProgressFn fn, const RemoteOutput* remote,
                                 std::chrono::milliseconds heartbeat)
    : fn_(std::move(fn)), remote_(remote), heartbeat_(heartbeat) {
  last_.phase = ProgressPhase::open;
  last_report_ = std::chrono::steady_clock::now();
  if (fn_) heartbeat_thread_ = std::jthread([this](std::stop_token stop) { heartbeat_loop(stop); });
}

ProgressTracker::~ProgressTracker() {
  if (heartbeat_thread_.joinable()) {
    heartbeat_thread_.request_stop();
    cv_.notify_all();
    heartbeat_thread_.join();
  }
}

void ProgressTracker::enter(ProgressPhase phase) {
  if (!fn_) return;
  std::lock_guard lock(mu_);
  if (phase == ProgressPhase::copy && last_.phase == ProgressPhase::scan) {
    last_.done_bytes = 0;
    last_.data_bytes = 0;
    last_.zero_bytes = 0;
    last_.read_bytes = 0;
  }
  last_.phase = phase;
  report_locked();
}

void ProgressTracker::set_totals(std::uint64_t total_bytes, std::uint64_t data_total_bytes) {
  if (!fn_) return;
  std::lock_guard lock(mu_);
  last_.total_bytes = total_bytes;
  last_.data_total_bytes = data_total_bytes;
}

void ProgressTracker::set_copied(const CopyStats& stats) {
  if (!fn_) return;
  std::lock_guard lock(mu_);
  last_.done_bytes = stats.virtual_bytes;
  last_.data_bytes = stats.data_bytes;
  last_.zero_bytes = stats.zero_bytes;
  last_.read_bytes = stats.read_bytes;
  if (last_.total_bytes == 0) last_.total_bytes = stats.virtual_bytes;
}

ProgressFn ProgressTracker::pipeline_fn() {
  if (!fn_) return {};
  return [this](const Progress& p) {
    std::lock_guard lock(mu_);
    // A pipeline's counters rise within its pass; max() keeps them so if two stages overlap.
    last_.done_bytes = std::max(last_.done_bytes, p.done_bytes);
    last_.data_bytes = std::max(last_.data_bytes, p.data_bytes);
    last_.zero_bytes = std::max(last_.zero_bytes, p.zero_bytes);
    last_.read_bytes = std::max(last_.read_bytes, p.read_bytes);
    if (p.total_bytes != 0) last_.total_bytes = p.total_bytes;
    report_locked();
  };
}

std::unique_ptr<ByteSink> ProgressTracker::count(std::unique_ptr<ByteSink> out) {
  if (!fn_) return out;
  return std::make_unique<CountingSink>(std::move(out), written_);
}

void ProgressTracker::report_locked() {
  last_.written_bytes = std::max(last_.written_bytes, written_->load(std::memory_order_relaxed));
  if (remote_) {
    const UploadStats u = remote_->stats();
    last_.sent_bytes = std::max(last_.sent_bytes, u.bytes_sent);
    last_.retries = std::max(last_.retries, u.retries);
  }
  last_report_ = std::chrono::steady_clock::now();
  fn_(last_);
}

void ProgressTracker::heartbeat_loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    const auto due = last_report_ + heartbeat_;
    if (cv_.wait_until(lock, stop, due, [] { return false; })) return;
    if (stop.stop_requested()) return;
    if (std::chrono::steady_clock::now() >= last_report_ + heartbeat_) report_locked();
  }
}

}  // namespace vdisk::detail
