// The EBS snapshot source (ebs_source.h).
#include "remote/ebs/ebs_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>

#include "remote/reader/block_file.h"

namespace vdisk {
namespace aws {

Status failed_precondition(std::string message) { return invalid_argument(std::move(message)); }

namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
// Pages in a row that list nothing and still name a next page: past this the list never ends.
constexpr int kMaxEmptyPages = 100;

// Blocks by ascending index with their tokens: 8 bytes of index, 8 of token end and the token.
class BlockMap {
 public:
  void add(std::uint64_t index, std::string_view token) {
    index_.push_back(index);
    arena_.append(token);
    end_.push_back(arena_.size());
  }
  std::size_t size() const { return index_.size(); }
  std::optional<std::size_t> find(std::uint64_t index) const {
    auto it = std::lower_bound(index_.begin(), index_.end(), index);
    if (it == index_.end() || *it != index) return std::nullopt;
    return static_cast<std::size_t>(it - index_.begin());
  }
  bool has(std::uint64_t index) const { return find(index).has_value(); }
  std::string token(std::size_t at) const {
    const std::size_t from = at == 0 ? 0 : static_cast<std::size_t>(end_[at - 1]);
    return arena_.substr(from, static_cast<std::size_t>(end_[at]) - from);
  }
  // The position of the first index >= `index`.
  std::size_t lower(std::uint64_t index) const {
    return static_cast<std::size_t>(std::lower_bound(index_.begin(), index_.end(), index) -
                                    index_.begin());
  }
  std::uint64_t index_at(std::size_t at) const { return index_[at]; }
  void shrink() {
    index_.shrink_to_fit();
    end_.shrink_to_fit();
    arena_.shrink_to_fit();
  }

 private:
  std::vector<std::uint64_t> index_;
  std::vector<std::uint64_t> end_;
  std::string arena_;
};

bool valid_snapshot_id(std::string_view id) {
  if (!id.starts_with("snap-") || id.size() < 6 || id.size() > 64) return false;
  return std::all_of(id.begin() + 5, id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

class EbsFetcher final : public remote::BlockFetcher {
 public:
  EbsFetcher(const EbsSourceOptions& o, std::stop_token stop)
      : id_(o.snapshot_id),
        name_("ebs:" + o.snapshot_id),
        http_(o.aws.http),
        link_(stop, RequestStop{&stop_}) {}

  // The token the clients and pauses honour: the caller's, or cancel().
  std::stop_token stop_token() const { return stop_.get_token(); }
  void cancel() override { stop_.request_stop(); }

  // Lists the snapshot (and what changed since `since`) with clients_[0].
  Status load(const std::string& since) {
    EbsClient& c = *clients_.front();
    std::string token;
    std::optional<std::uint64_t> prev;
    int empty = 0;
    for (;;) {
      VDISK_ASSIGN_OR_RETURN(BlockList page, c.list_blocks(id_, token));
      if (!bs_) {
        bs_ = page.block_bytes;
        volume_gib_ = page.volume_gib;
        size_ = volume_gib_ * kGiB;
      } else if (page.block_bytes != bs_ || page.volume_gib != volume_gib_) {
        return corrupt(fmt::format(
            "{}: ListSnapshotBlocks: a page states {}-byte blocks of a {} GiB volume, the first "
            "{}-byte blocks of {} GiB",
            name_, page.block_bytes, page.volume_gib, bs_, volume_gib_));
      }
      VDISK_RETURN_IF_ERROR(
          next_page(page.blocks.empty(), page.next_token, token, empty, "ListSnapshotBlocks"));
      for (const ListedBlock& b : page.blocks) {
        if (prev && b.index <= *prev)
          return corrupt(fmt::format(
              "{}: ListSnapshotBlocks: block {} follows block {} of an earlier page: expected "
              "ascending indexes, each once",
              name_, b.index, *prev));
        prev = b.index;
        map_.add(b.index, b.token);
      }
      if (token.empty()) break;
    }
    map_.shrink();
    if (!since.empty()) VDISK_RETURN_IF_ERROR(load_changes(c, since));
    return {};
  }

  std::vector<std::unique_ptr<EbsClient>>& clients() { return clients_; }
  std::uint64_t size() const override { return size_; }
  std::uint64_t block_bytes() const override { return bs_; }
  std::size_t slots() const override { return clients_.size(); }
  std::string_view kind() const override { return "ebs-snapshot"; }
  const std::string& name() const override { return name_; }
  std::string identity() const override { return name_; }
  const ChangeSet* changes() const override { return changes_ ? &*changes_ : nullptr; }
  remote::SourceCounters& counters() override { return counters_; }

  bool has_data(std::uint64_t index) const override {
    return map_.has(index) || changed_.has(index);
  }

  // By search in the map; with `since`, changed blocks only: an incremental move reads nothing
  // else.
  std::uint64_t next_prefetch(std::uint64_t index, std::uint64_t end) const override {
    const BlockMap& m = changes_ ? changed_ : map_;
    const std::size_t at = m.lower(index);
    return at < m.size() ? std::min(end, m.index_at(at)) : end;
  }

  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    const std::uint64_t end = offset + length;
    const std::uint64_t first = offset / bs_;
    std::size_t a = map_.lower(first), b = changed_.lower(first);
    std::uint64_t at = offset;
    for (;;) {
      // The next block holding data (in either list).
      std::optional<std::uint64_t> next;
      if (a < map_.size()) next = map_.index_at(a);
      if (b < changed_.size() && (!next || changed_.index_at(b) < *next))
        next = changed_.index_at(b);
      if (!next || *next * bs_ >= end) break;
      const std::uint64_t from = std::max(at, *next * bs_);
      const std::uint64_t to = std::min(end, (*next + 1) * bs_);
      append_extent(out, Extent{at, from - at, ExtentKind::unallocated});
      append_extent(out, Extent{from, to - from, ExtentKind::data});
      at = to;
      if (a < map_.size() && map_.index_at(a) == *next) ++a;
      if (b < changed_.size() && changed_.index_at(b) == *next) ++b;
    }
    append_extent(out, Extent{at, end - at, ExtentKind::unallocated});
    return {};
  }

  Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) override {
    const std::uint64_t offset = index * bs_;
    std::string token;
    if (auto at = changed_.find(index))
      token = changed_.token(*at);
    else if (auto at2 = map_.find(index))
      token = map_.token(*at2);
    else
      return internal_error(
          fmt::format("{}: block {} (offset {}) is not listed, yet fetched", name_, index, offset));
    if (slot >= clients_.size() || dst.size() != bs_)
      return internal_error(fmt::format("{}: fetch of block {} into slot {} of {} bytes", name_,
                                        index, slot, dst.size()));
    const unsigned attempts = std::max(1u, http_.max_attempts);
    std::chrono::milliseconds pause(http_.initial_backoff_ms);
    std::string problem;
    for (unsigned attempt = 1;; ++attempt) {
      auto reply = clients_[slot]->get_block_reply(id_, index, token);
      if (!reply.ok())
        return Status(reply.status().code(), fmt::format("{}: block {} (offset {}): {}", name_,
                                                         index, offset, reply.status().message()));
      counters_.request(reply->body.size());
      problem = block_reply_problem(*reply, bs_);
      if (problem.empty()) {
        std::memcpy(dst.data(), reply->body.data(), dst.size());
        return {};
      }
      if (attempt >= attempts) break;
      counters_.retry();
      if (http_.on_retry)
        http_.on_retry(fmt::format("{}: GetSnapshotBlock {} (offset {}): {}; retrying in {} ms",
                                   name_, index, offset, problem, pause.count()));
      if (!sleep(pause))
        return cancelled(fmt::format("{}: block {} (offset {}): cancelled", name_, index, offset));
      pause = std::min(pause * 2, std::chrono::milliseconds(http_.max_backoff_ms));
    }
    return io_error(fmt::format("{}: GetSnapshotBlock {} (offset {}): {} ({} attempts)", name_,
                                index, offset, problem, attempts));
  }

  void describe(Properties& out) const override {
    out.add("snapshot", id_);
    out.add("volume_gib", volume_gib_);
    out.add("blocks_listed", static_cast<std::uint64_t>(map_.size()));
    out.add("bytes_listed", static_cast<std::uint64_t>(map_.size()) * bs_);
    if (changes_) {
      out.add("changed_blocks", changed_blocks_);
      out.add("changed_data_blocks", static_cast<std::uint64_t>(changed_.size()));
    }
  }

 private:
  // Page bookkeeping: `next` becomes the page token; refuses a list that never ends.
  Status next_page(bool page_empty, const std::string& next, std::string& token, int& empty,
                   std::string_view call) const {
    if (!next.empty() && next == token)
      return corrupt(fmt::format("{}: {}: NextToken names the same page again", name_, call));
    empty = page_empty && !next.empty() ? empty + 1 : 0;
    if (empty > kMaxEmptyPages)
      return corrupt(fmt::format("{}: {}: {} pages in a row list nothing and name a next page",
                                 name_, call, empty));
    token = next;
    return {};
  }

  Status load_changes(EbsClient& c, const std::string& since) {
    const std::string base = "ebs:" + since;
    // The earlier snapshot's sizes: one page of its own list.
    VDISK_ASSIGN_OR_RETURN(const BlockList first, c.list_blocks(since, {}, 100));
    if (first.block_bytes != bs_ || first.volume_gib != volume_gib_)
      return failed_precondition(fmt::format(
          "{}: {} is a {} GiB volume of {}-byte blocks and {} a {} GiB volume of {}-byte blocks: "
          "changes are listed between snapshots of the same volume size and block size",
          name_, base, first.volume_gib, first.block_bytes, name_, volume_gib_, bs_));
    ChangeSet cs;
    cs.base = base;
    cs.identity = name_;
    cs.disk_bytes = size_;
    std::string token;
    std::optional<std::uint64_t> prev;
    int empty = 0;
    for (;;) {
      VDISK_ASSIGN_OR_RETURN(ChangedList page, c.list_changed_blocks(since, id_, token));
      if (page.block_bytes != bs_ || page.volume_gib != volume_gib_)
        return corrupt(fmt::format(
            "{}: ListChangedBlocks since {}: the reply states {}-byte blocks of a {} GiB volume, "
            "the snapshots {}-byte blocks of {} GiB",
            name_, since, page.block_bytes, page.volume_gib, bs_, volume_gib_));
      VDISK_RETURN_IF_ERROR(
          next_page(page.blocks.empty(), page.next_token, token, empty, "ListChangedBlocks"));
      for (const ChangedBlock& b : page.blocks) {
        if (prev && b.index <= *prev)
          return corrupt(fmt::format(
              "{}: ListChangedBlocks: block {} follows block {} of an earlier page: expected "
              "ascending indexes, each once",
              name_, b.index, *prev));
        prev = b.index;
        ++changed_blocks_;
        const bool data = !b.second_token.empty();
        if (!data && map_.has(b.index))
          return corrupt(fmt::format(
              "{}: ListChangedBlocks since {} says block {} is not in the snapshot, and "
              "ListSnapshotBlocks lists it",
              name_, since, b.index));
        if (data) changed_.add(b.index, b.second_token);
        append_extent(cs.ranges, Extent{b.index * bs_, bs_,
                                        data ? ExtentKind::data : ExtentKind::unallocated});
      }
      if (token.empty()) break;
    }
    changed_.shrink();
    changes_ = std::move(cs);
    return {};
  }

  // Waits `pause` unless stopped first; false when stopped.
  bool sleep(std::chrono::milliseconds pause) const {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    std::stop_token stop = stop_.get_token();
    cv.wait_for(lock, stop, pause, [] { return false; });
    return !stop.stop_requested();
  }

  struct RequestStop {
    std::stop_source* source;
    void operator()() const { source->request_stop(); }
  };

  std::string id_;
  std::string name_;
  HttpOptions http_;
  std::stop_source stop_;                 // the clients' (before link_: it is linked to it)
  std::stop_callback<RequestStop> link_;  // the caller's token triggers stop_
  std::vector<std::unique_ptr<EbsClient>> clients_;
  std::uint64_t bs_ = 0;
  std::uint64_t volume_gib_ = 0;
  std::uint64_t size_ = 0;
  BlockMap map_;      // ListSnapshotBlocks
  BlockMap changed_;  // ListChangedBlocks' blocks with a SecondBlockToken (read with it)
  std::uint64_t changed_blocks_ = 0;
  std::optional<ChangeSet> changes_;
  remote::SourceCounters counters_;
};

}  // namespace

Result<std::unique_ptr<RemoteFile>> open_ebs_source_with(const EbsSourceOptions& o,
                                                         const EbsClientFactory& make,
                                                         std::stop_token stop) {
  if (!valid_snapshot_id(o.snapshot_id))
    return invalid_argument(
        fmt::format("ebs: source '{}': expected a snapshot id, snap- and 1..59 letters or digits",
                    o.snapshot_id.substr(0, 64)));
  if (!o.since.empty() && !valid_snapshot_id(o.since))
    return invalid_argument(
        fmt::format("ebs: since '{}': expected a snapshot id, snap- and 1..59 letters or digits",
                    o.since.substr(0, 64)));
  if (o.since == o.snapshot_id)
    return invalid_argument(
        fmt::format("ebs: ebs:{} since itself: name an earlier snapshot", o.snapshot_id));
  VDISK_RETURN_IF_ERROR(check_credentials(o.aws, "ebs"));
  VDISK_RETURN_IF_ERROR(check_region(o.aws, "ebs"));
  VDISK_RETURN_IF_ERROR(http::check_connections("ebs", o.aws.http.connections));
  auto f = std::make_unique<EbsFetcher>(o, stop);
  // The HTTP retries of every request count in the source's stats.
  AwsOptions counted = o.aws;
  remote::SourceCounters* counters = &f->counters();
  counted.http.on_retry = [counters, user = o.aws.http.on_retry](std::string_view line) {
    counters->retry();
    if (user) user(line);
  };
  for (unsigned i = 0; i < o.aws.http.connections; ++i) {
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<EbsClient> c, make(counted, f->stop_token()));
    f->clients().push_back(std::move(c));
  }
  VDISK_RETURN_IF_ERROR(f->load(o.since));
  return remote::block_file(std::move(f), o.cache);
}

}  // namespace aws

Result<std::unique_ptr<RemoteFile>> open_ebs_source(const EbsSourceOptions& options,
                                                    std::stop_token stop) {
  return aws::open_ebs_source_with(
      options,
      [](const AwsOptions& aws, std::stop_token token) {
        return aws::EbsClient::create(aws, token);
      },
      stop);
}

std::string ebs_snapshot_id(std::string_view text) {
  for (std::string_view prefix : {"ebs://", "ebs:"})
    if (text.starts_with(prefix)) {
      text.remove_prefix(prefix.size());
      // Checked when opened (open_ebs_source names what is wrong with it).
      if (text.starts_with("snap-") && text.size() > 5) return std::string(text);
      return {};
    }
  return {};
}

bool is_ebs_source(std::string_view text) { return !ebs_snapshot_id(text).empty(); }

std::string snapshot_id_of(std::string_view text) {
  return text.starts_with("ebs:") ? ebs_snapshot_id(text)
                                  : ebs_snapshot_id("ebs:" + std::string(text));
}

}  // namespace vdisk
