// See readback.h.
#include "remote/readback/readback.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <thread>

namespace vdisk::remote {
namespace {

std::uint64_t short_digest(checksum::Sha256& sha) {
  const std::array<std::uint8_t, 32> d = sha.finish();
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | d[i];
  return v;
}

std::string window_text(std::uint64_t bytes) {
  if (bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (1u << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{}-byte", bytes);
}

}  // namespace

std::uint64_t zero_window_digest(std::uint64_t n) {
  checksum::Sha256 sha;
  sha.update_zeros(n);
  return short_digest(sha);
}

void WindowHasher::data(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  if (pending_zeros_) sha_.update_zeros(pending_zeros_);
  pending_zeros_ = 0;
  sha_.update(bytes);
  has_data_ = true;
  length_ += bytes.size();
}

void WindowHasher::zeros(std::uint64_t n) {
  pending_zeros_ += n;
  length_ += n;
}

std::uint64_t WindowHasher::finish() {
  std::uint64_t d = 0;
  if (!has_data_ && length_ == zero_length_) {
    d = zero_digest_;
  } else {
    if (pending_zeros_) sha_.update_zeros(pending_zeros_);
    d = short_digest(sha_);
  }
  sha_ = checksum::Sha256();
  length_ = 0;
  pending_zeros_ = 0;
  has_data_ = false;
  return d;
}

WindowDigests::WindowDigests(std::uint64_t window_bytes)
    : window_(window_bytes),
      full_zero_digest_(zero_window_digest(window_bytes)),
      current_(window_bytes, full_zero_digest_) {}

void WindowDigests::data(std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const std::uint64_t room = window_ - current_.length();
    const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size()));
    current_.data(bytes.first(k));
    bytes = bytes.subspan(k);
    size_ += k;
    if (current_.length() == window_) digests_.push_back(current_.finish());
  }
}

void WindowDigests::zeros(std::uint64_t n) {
  while (n) {
    const std::uint64_t k = std::min(n, window_ - current_.length());
    current_.zeros(k);
    n -= k;
    size_ += k;
    if (current_.length() == window_) digests_.push_back(current_.finish());
  }
}

void WindowDigests::finish() {
  if (finished_) return;
  finished_ = true;
  if (current_.length()) digests_.push_back(current_.finish());
}

std::pair<std::uint64_t, std::uint64_t> WindowDigests::bounds(std::size_t i) const {
  const std::uint64_t start = std::uint64_t{i} * window_;
  return {start, std::min(size_, start + window_)};
}

bool WindowDigests::zero(std::size_t i) const {
  const auto [start, end] = bounds(i);
  const std::uint64_t zero =
      end - start == window_ ? full_zero_digest_ : zero_window_digest(end - start);
  return digests_[i] == zero;
}

WindowHasher WindowDigests::hasher(std::size_t i) const {
  const auto [start, end] = bounds(i);
  if (end - start == window_) return WindowHasher(window_, full_zero_digest_);
  return WindowHasher(end - start, zero_window_digest(end - start));
}

Result<std::uint64_t> read_back(const WindowDigests& digests, std::size_t threads,
                                const ReadWindow& read, std::string_view what,
                                std::stop_token stop) {
  return read_back(digests, 0, digests.count(), threads, read, what, stop);
}

Result<std::uint64_t> read_back(const WindowDigests& digests, std::size_t first, std::size_t last,
                                std::size_t threads, const ReadWindow& read, std::string_view what,
                                std::stop_token stop) {
  constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
  const std::size_t count = std::min(last, digests.count());
  std::atomic<std::size_t> next{std::min(first, count)};
  std::atomic<std::uint64_t> total{0};
  std::mutex mu;
  std::size_t first_bad = kNone;  // under mu
  Status error;                   // under mu
  std::atomic<bool> failed{false};

  auto run = [&](std::size_t thread) {
    for (;;) {
      if (failed.load() || stop.stop_requested()) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= count) return;
      {
        std::lock_guard lock(mu);
        if (i > first_bad) return;  // a window before it differs already
      }
      WindowHasher h = digests.hasher(i);
      std::uint64_t got = 0;
      Status s = read(thread, i, h, got);
      total.fetch_add(got);
      const auto [start, end] = digests.bounds(i);
      if (s.ok() && h.length() != end - start)
        s = internal_error(fmt::format("{}: reading back bytes {}..{} gave {} bytes", what, start,
                                       end - 1, h.length()));
      std::lock_guard lock(mu);
      if (!s.ok()) {
        if (error.ok()) error = std::move(s);
        failed.store(true);
        return;
      }
      if (h.finish() != digests.digest(i)) first_bad = std::min(first_bad, i);
    }
  };
  const std::size_t n =
      std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(count - std::min(first, count), 1));
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  for (std::size_t t = 1; t < n; ++t) pool.emplace_back(run, t);
  run(0);
  for (std::thread& t : pool) t.join();

  if (!error.ok()) return error;
  if (stop.stop_requested()) return cancelled(fmt::format("{}: cancelled", what));
  if (first_bad != kNone) {
    const auto [start, end] = digests.bounds(first_bad);
    return io_error(fmt::format(
        "{}: the bytes differ from those sent at offset {} (the first differing {} window: bytes "
        "{}..{}{})",
        what, start, window_text(digests.window_bytes()), start, end - 1,
        digests.zero(first_bad) ? ", sent as zeros" : ""));
  }
  return total.load();
}

}  // namespace vdisk::remote
