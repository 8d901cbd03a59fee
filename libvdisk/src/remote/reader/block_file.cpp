// The block cache of the remote sources (block_file.h).
//
// Entries live in one map under one mutex: queued (waiting for a worker), loading, ready or
// failed. A reader takes the blocks of its read in windows of at most half the cache: it
// waits until the window's missing blocks fit (evicting ready blocks nobody holds, used ones
// first and the least recently used first, or dropping read-ahead that has not started), queues
// them ahead of any read-ahead, pins the window and waits for it. All allocation of a window
// happens at once under the lock, so readers never hold part of the cache while waiting for the
// rest, and a window always fits: no reader can starve another for good.
#include "remote/reader/block_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace vdisk::remote {

void SourceCounters::request(std::uint64_t body_bytes) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(body_bytes, std::memory_order_relaxed);
}
void SourceCounters::retry() { retries_.fetch_add(1, std::memory_order_relaxed); }
void SourceCounters::block_fetched() { blocks_.fetch_add(1, std::memory_order_relaxed); }
void SourceCounters::cache_hit() { hits_.fetch_add(1, std::memory_order_relaxed); }
SourceStats SourceCounters::snapshot() const {
  SourceStats s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_.load(std::memory_order_relaxed);
  s.blocks_fetched = blocks_.load(std::memory_order_relaxed);
  s.cache_hits = hits_.load(std::memory_order_relaxed);
  return s;
}

bool BlockFetcher::has_data(std::uint64_t) const { return true; }

std::uint64_t BlockFetcher::next_prefetch(std::uint64_t index, std::uint64_t end) const {
  while (index < end && !has_data(index)) ++index;
  return index;
}

Status BlockFetcher::allocation(std::uint64_t offset, std::uint64_t length,
                                std::vector<Extent>& out) const {
  append_extent(out, Extent{offset, length, ExtentKind::data});
  return {};
}

Result<std::uint64_t> choose_block_bytes(const SourceCacheOptions& options, std::uint64_t fallback,
                                         std::string_view who) {
  const std::uint64_t b = options.block_bytes;
  if (b == 0) return fallback;
  if (b < 4096 || b > (16u << 20) || (b & (b - 1)) != 0)
    return invalid_argument(fmt::format(
        "{}: cache block size {} bytes: expected a power of two from 4 KiB to 16 MiB", who, b));
  return b;
}

namespace {

class BlockFile final : public RemoteFile {
 public:
  BlockFile(std::unique_ptr<BlockFetcher> fetcher, const SourceCacheOptions& options)
      : f_(std::move(fetcher)), bb_(f_->block_bytes()), size_(f_->size()) {
    blocks_total_ = size_ == 0 ? 0 : (size_ - 1) / bb_ + 1;
    const std::size_t slots = std::max<std::size_t>(1, f_->slots());
    capacity_ = std::max<std::uint64_t>(2 * slots, options.cache_bytes / bb_);
    ahead_ = options.read_ahead_blocks ? options.read_ahead_blocks : unsigned(2 * slots);
    window_ = std::max<std::uint64_t>(1, capacity_ / 2);
    workers_.reserve(slots);
    for (std::size_t i = 0; i < slots; ++i)
      workers_.emplace_back([this, i](std::stop_token st) { work(i, st); });
  }

  ~BlockFile() override {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    f_->cancel();
    for (auto& w : workers_) w.request_stop();
    workers_.clear();  // joins
  }

  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return f_->name(); }
  std::string_view kind() const override { return f_->kind(); }
  std::string identity() const override { return f_->identity(); }
  const ChangeSet* changes() const override { return f_->changes(); }
  SourceStats stats() const override { return f_->counters().snapshot(); }

  void describe(Properties& out) const override {
    out.add("kind", f_->kind());
    out.add("object", f_->name());
    out.add("bytes", size_);
    out.add("block_bytes", bb_);
    f_->describe(out);
  }

  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    if (offset > size_ || length > size_ - offset)
      return out_of_range(fmt::format("{}: map of {} bytes at offset {} lies past its end ({})",
                                      f_->name(), length, offset, size_));
    if (length == 0) return {};
    return f_->allocation(offset, length, out);
  }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > size_ || dst.size() > size_ - offset)
      return out_of_range(fmt::format("{}: read of {} bytes at offset {} lies past its end ({})",
                                      f_->name(), dst.size(), offset, size_));
    if (dst.empty()) return {};
    const std::uint64_t first = offset / bb_;
    const std::uint64_t last = (offset + dst.size() - 1) / bb_;
    for (std::uint64_t w = first; w <= last; w += window_) {
      const std::uint64_t w_last = std::min(last, w + window_ - 1);
      VDISK_RETURN_IF_ERROR(read_window(w, w_last, offset, dst));
    }
    return {};
  }

 private:
  enum class State : std::uint8_t { queued, loading, ready, failed };
  struct Entry {
    State state = State::queued;
    bool prefetch = false;  // queued by read-ahead and not yet asked for
    bool used = false;      // a reader copied from it
    std::uint32_t pins = 0;
    std::uint64_t last_use = 0;
    std::vector<std::byte> data;
    Status error;
  };

  std::uint64_t block_length(std::uint64_t index) const {
    return std::min(bb_, size_ - index * bb_);
  }

  // Removes one entry nobody needs (ready and unpinned, or read-ahead still queued) to make
  // room. False when there is none.
  bool evict_one() const {
    auto victim = blocks_.end();
    auto better = [](const Entry& a, const Entry& b) {
      // Used blocks go first, then the oldest.
      if (a.used != b.used) return a.used;
      return a.last_use < b.last_use;
    };
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it) {
      const Entry& e = it->second;
      const bool free_ready = e.state == State::ready && e.pins == 0;
      const bool idle_ahead = e.state == State::queued && e.prefetch && e.pins == 0;
      if (!free_ready && !idle_ahead) continue;
      if (victim == blocks_.end() || better(e, victim->second)) victim = it;
    }
    if (victim == blocks_.end()) return false;
    blocks_.erase(victim);
    return true;
  }

  std::uint64_t missing(std::uint64_t first, std::uint64_t last) const {
    std::uint64_t n = 0;
    for (std::uint64_t i = first; i <= last; ++i)
      if (f_->has_data(i) && !blocks_.count(i)) ++n;
    return n;
  }

  Status read_window(std::uint64_t first, std::uint64_t last, std::uint64_t offset,
                     std::span<std::byte> dst) const {
    std::unique_lock lock(mu_);
    // Room for the blocks this window still needs, all at once.
    for (;;) {
      const std::uint64_t need = missing(first, last);
      while (blocks_.size() + need > capacity_ && evict_one()) {
      }
      if (blocks_.size() + need <= capacity_) break;
      if (closing_) return cancelled(fmt::format("{}: closed while reading", f_->name()));
      cv_.wait(lock);
    }
    for (std::uint64_t i = first; i <= last; ++i) {
      if (!f_->has_data(i)) continue;
      auto [it, fresh] = blocks_.try_emplace(i);
      Entry& e = it->second;
      if (fresh) {
        demand_.push_back(i);
      } else if (e.state == State::ready) {
        f_->counters().cache_hit();
      } else if (e.prefetch && e.state == State::queued) {
        demand_.push_back(i);  // asked for now: ahead of the read-ahead queue
      }
      e.prefetch = false;
      ++e.pins;
    }
    cv_.notify_all();
    Status failure;
    for (std::uint64_t i = first; i <= last; ++i) {
      const std::uint64_t b_start = i * bb_;
      const std::uint64_t b_end = b_start + block_length(i);
      const std::uint64_t from = std::max(b_start, offset);
      const std::uint64_t to = std::min(b_end, offset + dst.size());
      std::byte* out = dst.data() + (from - offset);
      if (!f_->has_data(i)) {
        std::memset(out, 0, to - from);
        continue;
      }
      auto it = blocks_.find(i);
      cv_.wait(lock, [&] {
        return it->second.state == State::ready || it->second.state == State::failed;
      });
      Entry& e = it->second;
      if (e.state == State::failed) {
        if (failure.ok()) failure = e.error;
      } else if (failure.ok()) {
        std::memcpy(out, e.data.data() + (from - b_start), to - from);
        e.used = true;
        e.last_use = ++clock_;
      }
    }
    for (std::uint64_t i = first; i <= last; ++i) {
      auto it = blocks_.find(i);
      if (it == blocks_.end()) continue;
      --it->second.pins;
      // A failed block is not kept: a later read tries again.
      if (it->second.state == State::failed && it->second.pins == 0) blocks_.erase(it);
    }
    if (failure.ok()) read_ahead(first, last);
    lock.unlock();
    cv_.notify_all();
    return failure;
  }

  // After a read of [first, last]: when the block before it was read too (a sequential
  // reader), queue the next blocks that may hold data, while the cache has room to spare.
  void read_ahead(std::uint64_t first, std::uint64_t last) const {
    if (first == 0) return;
    auto prev = blocks_.find(first - 1);
    if (prev == blocks_.end() || !prev->second.used) return;
    const std::uint64_t spare = capacity_ - std::min(capacity_, window_);
    std::uint64_t queued = 0;
    for (std::uint64_t i = f_->next_prefetch(last + 1, blocks_total_);
         i < blocks_total_ && queued < ahead_; i = f_->next_prefetch(i + 1, blocks_total_)) {
      if (blocks_.size() >= spare) break;
      if (blocks_.count(i)) continue;
      Entry& e = blocks_[i];
      e.prefetch = true;
      e.last_use = ++clock_;
      ahead_q_.push_back(i);
      ++queued;
    }
  }

  void work(std::size_t slot, std::stop_token st) {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] {
        return closing_ || st.stop_requested() || !demand_.empty() || !ahead_q_.empty();
      });
      if (closing_ || st.stop_requested()) return;
      std::deque<std::uint64_t>& q = demand_.empty() ? ahead_q_ : demand_;
      const std::uint64_t index = q.front();
      q.pop_front();
      auto it = blocks_.find(index);
      if (it == blocks_.end() || it->second.state != State::queued) continue;  // evicted, taken
      it->second.state = State::loading;
      lock.unlock();
      std::vector<std::byte> data(block_length(index));
      Status s = f_->fetch(slot, index, data);
      if (s.ok()) f_->counters().block_fetched();
      lock.lock();
      it = blocks_.find(index);  // loading entries are never erased
      if (s.ok()) {
        it->second.data = std::move(data);
        it->second.state = State::ready;
      } else if (it->second.prefetch && it->second.pins == 0) {
        blocks_.erase(it);  // nobody asked for it: dropped, a read fetches it again
      } else {
        it->second.error = std::move(s);
        it->second.state = State::failed;
      }
      cv_.notify_all();
    }
  }

  std::unique_ptr<BlockFetcher> f_;
  std::uint64_t bb_;
  std::uint64_t size_;
  std::uint64_t blocks_total_ = 0;
  std::uint64_t capacity_ = 0;  // blocks
  std::uint64_t window_ = 1;    // blocks a reader takes at once
  unsigned ahead_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::unordered_map<std::uint64_t, Entry> blocks_;
  mutable std::deque<std::uint64_t> demand_;
  mutable std::deque<std::uint64_t> ahead_q_;
  mutable std::uint64_t clock_ = 0;
  bool closing_ = false;
  std::vector<std::jthread> workers_;
};

}  // namespace

std::unique_ptr<RemoteFile> block_file(std::unique_ptr<BlockFetcher> fetcher,
                                       const SourceCacheOptions& options) {
  return std::make_unique<BlockFile>(std::move(fetcher), options);
}

}  // namespace vdisk::remote
