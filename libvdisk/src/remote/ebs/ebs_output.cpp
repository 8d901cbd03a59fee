// The EBS snapshot destination: StartSnapshot once the disk's size is known, then the disk's
// bytes staged into block-aligned chunks that a pool of threads puts block by block, then
// CompleteSnapshot with the count and the LINEAR checksum of the blocks written; a snapshot left
// unfinished is deleted. Every block of the volume is put (zero runs as zero jobs, sent from one
// zero buffer with one precomputed checksum), unless the target's omit-zero-blocks skips them.
//
// Incremental (set_source() with changes, EbsSnapshotOptions::parent_snapshot_id; docs/cloud.md,
// "Reading EBS snapshots"): the parent must be completed and tagged vdconvert:source = the
// changes' base (EC2 DescribeSnapshots), else failed_precondition naming both; StartSnapshot
// names it as ParentSnapshotId, and only the blocks that meet a changed range are put, with the
// bytes the conversion wrote there (data, or zeros where the source reads as zeros now: the
// parent holds data there); CompleteSnapshot counts and aggregates those. Every snapshot made
// from a source that has an identity is tagged vdconvert:source = it, so it can be a parent.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "base/ids.h"
#include "base/zero.h"
#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "contract/target_driver.h"
#include "http/aligned_stager.h"
#include "http/upload_ledger.h"
#include "http/upload_pool.h"
#include "remote/ebs/ebs_client.h"
#include "remote/ebs/ebs_source.h"
#include "remote/readback/readback.h"

namespace vdisk {
namespace aws {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kMaxVolumeGiB = 65536;
constexpr std::size_t kChunkBytes = 4u << 20;
// The tag that says what a snapshot holds (the source's identity, "ebs:snap-...").
constexpr std::string_view kSourceTag = "vdconvert:source";

// SHA-256 of one block, as PutSnapshotBlock sends it.
struct BlockDigest {
  std::array<std::uint8_t, 32> raw{};
  std::string base64;
  std::string hex;
};

BlockDigest digest_of(std::span<const std::byte> block) {
  checksum::Sha256 h;
  h.update(block);
  BlockDigest d;
  d.raw = h.finish();
  d.base64 = checksum::to_base64(d.raw);
  d.hex = checksum::to_hex(d.raw);
  return d;
}

// What became of a pending snapshot this run gives up: deleted, or why not.
std::string delete_pending(const AwsOptions& aws, const std::string& id) {
  auto cleaner = EbsClient::create(aws, {});
  Status s = cleaner.ok() ? (*cleaner)->delete_snapshot(id) : cleaner.status();
  return s.ok() ? fmt::format("the pending snapshot {} was deleted", id)
                : fmt::format(
                      "the pending snapshot {} could not be deleted ({}); AWS deletes it when its "
                      "timeout passes",
                      id, s.message());
}

class EbsSink final : public ByteSink {
 public:
  // `volume_bytes`: the snapshot's VolumeSize in bytes (a whole number of blocks, at least
  // `size`). `exact`: every block of it is put; else only blocks holding data. `changed` (not
  // null, block-aligned, outliving the sink; `exact` false): only the blocks meeting these
  // ranges are put, zero blocks included.
  EbsSink(AwsOptions aws, StartedSnapshot snap, std::uint64_t size, std::uint64_t volume_bytes,
          bool exact, const std::vector<Extent>* changed,
          std::shared_ptr<http::UploadLedger> shared,
          std::vector<std::unique_ptr<EbsClient>> clients,
          std::shared_ptr<remote::WindowDigests> window_digests, std::stop_token stop)
      : aws_(std::move(aws)),
        snap_(std::move(snap)),
        size_(size),
        volume_bytes_(volume_bytes),
        exact_(exact),
        changed_(changed),
        shared_(std::move(shared)),
        window_digests_(std::move(window_digests)),
        stop_(stop),
        clients_(std::move(clients)),
        chunk_(std::max<std::size_t>(static_cast<std::size_t>(snap_.block_bytes),
                                     kChunkBytes / snap_.block_bytes * snap_.block_bytes)),
        zero_block_(static_cast<std::size_t>(snap_.block_bytes)),
        zero_digest_(digest_of(zero_block_)),
        pool_(clients_.size(), clients_.size() + 2, chunk_,
              [this](std::size_t t, http::UploadJob& job) { return upload(*clients_[t], job); }),
        stager_(pool_, snap_.block_bytes, chunk_,
                exact || changed ? http::ZeroUnits::send : http::ZeroUnits::skip) {}

  ~EbsSink() override {
    if (finished_) return;
    pool_.fail(cancelled(fmt::format("ebs: upload to {} abandoned", snap_.id)));
    (void)pool_.drain();
    const std::string cleanup = delete_pending(aws_, snap_.id);
    shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
  }

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (data.size() > size_ - stager_.position())
      return out_of_range(
          fmt::format("ebs: {}: writing past the disk's {} bytes", snap_.id, size_));
    if (window_digests_) window_digests_->data(data);
    return stager_.write(data);
  }
  Status write_zeroes(std::uint64_t n) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (n > size_ - stager_.position())
      return out_of_range(
          fmt::format("ebs: {}: writing past the disk's {} bytes", snap_.id, size_));
    if (window_digests_) window_digests_->zeros(n);
    return stager_.write_zeroes(n);
  }
  // (finish() stages the volume's padding past the disk's end: not the disk's bytes.)
  std::uint64_t position() const override { return std::min(stager_.position(), size_); }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(failure());
    if (stager_.position() != size_)
      return internal_error(fmt::format("ebs: {}: the disk ended at {} of {} bytes", snap_.id,
                                        stager_.position(), size_));
    // Exact: the volume's zeros past the disk's end too (its last partial block and the padding
    // up to the whole GiB).
    if (exact_) VDISK_RETURN_IF_ERROR(stager_.write_zeroes(volume_bytes_ - size_));
    // The read-back covers the whole volume: past the disk's end it must read as zeros.
    if (window_digests_) window_digests_->zeros(volume_bytes_ - size_);
    http::UploadJob last = stager_.take_last();
    if (last.size) VDISK_RETURN_IF_ERROR(pool_.submit(std::move(last)));
    VDISK_RETURN_IF_ERROR(pool_.drain());
    // The LINEAR checksum over the blocks put, in ascending index: the data blocks' digests
    // recorded, the zero blocks' one digest (every index not recorded, when exact).
    const std::uint64_t blocks = volume_bytes_ / snap_.block_bytes;
    LinearChecksum linear;
    std::uint64_t put = 0;
    {
      std::lock_guard lock(mu_);
      std::uint64_t next = 0;  // exact: the first index not yet fed
      for (const auto& [index, d] : digests_) {
        if (exact_)
          for (; next < index; ++next) linear.add(zero_digest_.raw);
        linear.add(d);
        next = index + 1;
      }
      if (exact_)
        for (; next < blocks; ++next) linear.add(zero_digest_.raw);
      put = exact_ ? blocks : digests_.size();
      if (exact_ && zero_blocks_ + digests_.size() != blocks)
        return internal_error(fmt::format("ebs: {}: {} data and {} zero blocks put of {}", snap_.id,
                                          digests_.size(), zero_blocks_, blocks));
    }
    VDISK_RETURN_IF_ERROR(clients_.front()->complete(snap_.id, put, linear.finish_base64()));
    if (window_digests_) window_digests_->finish();
    finished_ = true;
    return {};
  }

 private:
  Status failure() {
    return http::upload_failure(stop_, pool_, fmt::format("ebs: upload to {}", snap_.id));
  }

  // Whether [from, to) meets a changed range (always, for a full copy).
  bool meets_changes(std::uint64_t from, std::uint64_t to) const {
    if (!changed_) return true;
    auto it = std::upper_bound(changed_->begin(), changed_->end(), from,
                               [](std::uint64_t v, const Extent& e) { return v < e.end(); });
    return it != changed_->end() && it->offset < to;
  }

  Status put_zero(EbsClient& client, std::uint64_t index) {
    VDISK_RETURN_IF_ERROR(
        client.put_block(snap_.id, index, zero_block_, zero_digest_.base64, zero_digest_.hex));
    {
      std::lock_guard lock(mu_);
      ++zero_blocks_;
      // Incremental: the zero blocks put are counted and aggregated as data blocks are.
      if (changed_) digests_[index] = zero_digest_.raw;
    }
    shared_->sent(snap_.block_bytes);
    shared_->update([](UploadStats& st) {
      ++st.blocks_sent;
      ++st.zero_blocks_sent;
    });
    return {};
  }

  Status upload(EbsClient& client, http::UploadJob& job) {
    const std::uint64_t bs = snap_.block_bytes;
    if (!meets_changes(job.tag, job.tag + job.size)) return {};
    for (std::size_t at = 0; at < job.size; at += bs) {
      const std::uint64_t index = (job.tag + at) / bs;
      if (!meets_changes(job.tag + at, job.tag + at + bs)) continue;
      if (job.zeros) {
        VDISK_RETURN_IF_ERROR(put_zero(client, index));
        continue;
      }
      std::span<const std::byte> block(job.data.data() + at, static_cast<std::size_t>(bs));
      if (detail::is_zero(block)) {
        if (exact_ || changed_) VDISK_RETURN_IF_ERROR(put_zero(client, index));
        continue;
      }
      const BlockDigest d = digest_of(block);
      VDISK_RETURN_IF_ERROR(client.put_block(snap_.id, index, block, d.base64, d.hex));
      {
        std::lock_guard lock(mu_);
        digests_[index] = d.raw;
      }
      shared_->sent(bs);
      shared_->update([](UploadStats& st) { ++st.blocks_sent; });
    }
    return {};
  }

  AwsOptions aws_;
  StartedSnapshot snap_;
  std::uint64_t size_;
  std::uint64_t volume_bytes_;
  bool exact_;
  const std::vector<Extent>* changed_;  // incremental: the ranges to put; null: a full copy
  std::shared_ptr<http::UploadLedger> shared_;
  // Read-back verification, when kept: a digest per block of the volume.
  std::shared_ptr<remote::WindowDigests> window_digests_;
  std::stop_token stop_;
  std::vector<std::unique_ptr<EbsClient>> clients_;
  std::size_t chunk_;
  const std::vector<std::byte> zero_block_;  // one block of zeros, every zero block's body
  const BlockDigest zero_digest_;
  std::mutex mu_;
  std::map<std::uint64_t, std::array<std::uint8_t, 32>> digests_;  // data blocks, by index
  std::uint64_t zero_blocks_ = 0;
  http::UploadPool pool_;  // after clients_ and the zero block: its threads use them
  http::AlignedStager stager_;
  bool finished_ = false;
};

class EbsOutput final : public RemoteOutput {
 public:
  explicit EbsOutput(EbsSnapshotOptions o)
      : options_(std::move(o)), shared_(std::make_shared<http::UploadLedger>()) {
    display_ = "a new EBS snapshot";
    shared_->update([&](UploadStats& st) { st.object = display_; });
  }
  const std::string& display_name() const override { return display_; }
  // Only the target made for it (aws-snapshot: the disk's bytes, volume size rounded up to a
  // whole GiB by StartSnapshot).
  const DestinationCaps& caps() const override {
    static const DestinationCaps c{
        .kind = "ebs-snapshot", .description = "a new EBS snapshot", .needs_size = true};
    return c;
  }

  Status configure(const OptionValues& target_settings, DiagnosticFn on_diagnostic) override {
    VDISK_ASSIGN_OR_RETURN(omit_zero_blocks_, option_flag(detail::aws_snapshot_target().options,
                                                          target_settings, "omit-zero-blocks"));
    on_diagnostic_ = std::move(on_diagnostic);
    return {};
  }

  Status validate() const override {
    VDISK_RETURN_IF_ERROR(check_credentials(options_.aws, "ebs"));
    VDISK_RETURN_IF_ERROR(check_region(options_.aws, "ebs"));
    VDISK_RETURN_IF_ERROR(http::check_connections("ebs", options_.aws.http.connections));
    if (options_.timeout_minutes < 10 || options_.timeout_minutes > 4320)
      return invalid_argument(
          fmt::format("ebs: timeout of {} minutes: expected 10..4320", options_.timeout_minutes));
    return {};
  }

  // Full copy or incremental (see the top of the file): what is refused is refused here and
  // again in open(), which a caller may reach without calling this.
  Status set_source(std::string_view identity, const ChangeSet* changes) override {
    identity_ = std::string(identity);
    changes_.reset();
    VDISK_RETURN_IF_ERROR(check_parent_use(changes));
    if (changes) changes_ = *changes;
    return {};
  }

  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t> output_bytes,
                                         std::stop_token stop) override {
    VDISK_RETURN_IF_ERROR(validate());
    if (!output_bytes)
      return invalid_argument(
          "ebs: a snapshot's volume size is declared first, and this disk's size is not known "
          "until it ends (a raw stream: convert from a file)");
    VDISK_RETURN_IF_ERROR(check_parent_use(changes_ ? &*changes_ : nullptr));
    if (changes_ && changes_->disk_bytes != *output_bytes)
      return invalid_argument(fmt::format(
          "ebs: the changes since {} cover a disk of {} bytes, and the output is {} bytes",
          changes_->base, changes_->disk_bytes, *output_bytes));
    if (changes_ && keep_digests_)
      return unsupported(fmt::format(
          "ebs: --verify of an incremental snapshot: the blocks it does not hold are its "
          "parent's ({}), which this run does not write",
          options_.parent_snapshot_id));
    const std::uint64_t gib = std::max<std::uint64_t>(1, (*output_bytes + kGiB - 1) / kGiB);
    if (gib > kMaxVolumeGiB)
      return invalid_argument(fmt::format("ebs: {} bytes is more than a snapshot's {} GiB",
                                          *output_bytes, kMaxVolumeGiB));
    const AwsOptions counted = counting_retries(options_.aws, *shared_);
    VDISK_ASSIGN_OR_RETURN(auto clients,
                           http::open_clients<EbsClient>(options_.aws.http.connections, [&] {
                             return EbsClient::create(counted, stop);
                           }));
    std::string token = options_.client_token;
    if (token.empty()) {
      const auto id = detail::unique_id_or_random(std::nullopt);
      token = checksum::to_hex(id);
    }
    if (changes_) VDISK_RETURN_IF_ERROR(check_parent(*clients.front()));
    // The snapshot says what it holds, so that a later incremental run can name it as parent.
    EbsSnapshotOptions start_options = options_;
    // (EC2 takes tag values of at most 256 characters: a longer identity is not recorded.)
    if (!identity_.empty() && identity_.size() <= 256) {
      std::erase_if(start_options.tags, [](const auto& t) { return t.first == kSourceTag; });
      start_options.tags.emplace_back(std::string(kSourceTag), identity_);
    }
    VDISK_ASSIGN_OR_RETURN(StartedSnapshot snap, clients.front()->start(gib, start_options, token));
    {
      shared_->update([&](UploadStats& st) {
        st.created = true;
        st.object_id = snap.id;
        st.block_bytes = snap.block_bytes;
        st.object = "EBS snapshot " + snap.id;
      });
    }
    if (omit_zero_blocks_ && snap.encrypted) {
      const std::string cleanup = delete_pending(options_.aws, snap.id);
      shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
      return invalid_argument(fmt::format(
          "ebs: omit-zero-blocks: snapshot {} is encrypted ({}), and an encrypted snapshot reads "
          "the blocks it does not hold as random data, not zeros: convert without "
          "omit-zero-blocks",
          snap.id, snap.encryption));
    }
    if (changes_) {
      // The changed ranges are put block by block: each must be whole blocks of this snapshot.
      for (const Extent& e : changes_->ranges)
        if (e.offset % snap.block_bytes ||
            (e.end() % snap.block_bytes && e.end() != *output_bytes)) {
          const std::string cleanup = delete_pending(options_.aws, snap.id);
          shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
          return unsupported(fmt::format(
              "ebs: the changes since {} hold bytes {}..{}, not whole {}-byte blocks of snapshot "
              "{}: a block put whole would overwrite its parent's bytes around them",
              changes_->base, e.offset, e.end() - 1, snap.block_bytes, snap.id));
        }
    }
    if (omit_zero_blocks_ && !changes_ && on_diagnostic_)
      on_diagnostic_(Diagnostic{
          Diagnostic::Level::warning,
          fmt::format("ebs: omit-zero-blocks: the zero blocks are not put into snapshot {}; they "
                      "read as zeros only on an unencrypted volume: an encrypted volume made from "
                      "it (an account with EBS encryption by default) reads them as random data",
                      snap.id)});
    digests_.reset();
    if (keep_digests_) digests_ = std::make_shared<remote::WindowDigests>(snap.block_bytes);
    snapshot_id_ = snap.id;
    exact_ = !omit_zero_blocks_ && !changes_;
    return std::unique_ptr<ByteSink>(new EbsSink(
        options_.aws, std::move(snap), *output_bytes, gib * kGiB, exact_,
        changes_ ? &changes_->ranges : nullptr, shared_, std::move(clients), digests_, stop));
  }

  UploadStats stats() const override { return shared_->snapshot(); }

  Status keep_digests() override {
    keep_digests_ = true;
    return {};
  }

  // ListSnapshotBlocks page by page, and GetSnapshotBlock for each block listed (its reply's
  // checksum checked, its bytes compared). A block not listed reads as zeros only when blocks
  // were omitted (omit-zero-blocks): then it must have been a zero block; when every block was
  // put, every block must be listed.
  Status verify(std::stop_token stop) override {
    if (!digests_ || !digests_->finished())
      return internal_error(
          "ebs: verify: no finished upload kept digests (keep_digests before open)");
    const std::string& id = snapshot_id_;
    const std::string what = fmt::format("ebs: snapshot {} read back", id);
    const remote::WindowDigests& d = *digests_;
    const std::uint64_t bs = d.window_bytes();
    const AwsOptions counted = counting_retries(options_.aws, *shared_);
    VDISK_ASSIGN_OR_RETURN(auto clients,
                           http::open_clients<EbsClient>(options_.aws.http.connections, [&] {
                             return EbsClient::create(counted, stop);
                           }));
    VDISK_RETURN_IF_ERROR(wait_completed(*clients.front(), id, what, stop));
    std::uint64_t bytes = 0;
    std::size_t done = 0;  // blocks checked
    std::string token;
    for (int page = 0;; ++page) {
      if (page > 100000) return corrupt(fmt::format("{}: ListSnapshotBlocks never ends", what));
      VDISK_ASSIGN_OR_RETURN(const BlockList list, clients.front()->list_blocks(id, token));
      if (list.block_bytes != bs || list.volume_gib * kGiB != d.size())
        return io_error(fmt::format(
            "{}: ListSnapshotBlocks states {}-byte blocks of a {} GiB volume; {}-byte blocks of "
            "{} bytes were put",
            what, list.block_bytes, list.volume_gib, bs, d.size()));
      if (!list.blocks.empty() &&
          (list.blocks.front().index < done || list.blocks.back().index >= d.count()))
        return corrupt(fmt::format(
            "{}: ListSnapshotBlocks lists block {} out of order or past "
            "the volume's {} blocks",
            what,
            list.blocks.front().index < done ? list.blocks.front().index : list.blocks.back().index,
            d.count()));
      const std::size_t end = list.next_token.empty() ? d.count()
                              : list.blocks.empty()
                                  ? done
                                  : static_cast<std::size_t>(list.blocks.back().index + 1);
      auto read = [&](std::size_t t, std::size_t w, remote::WindowHasher& h,
                      std::uint64_t& got) -> Status {
        auto it =
            std::lower_bound(list.blocks.begin(), list.blocks.end(), std::uint64_t{w},
                             [](const ListedBlock& b, std::uint64_t v) { return b.index < v; });
        if (it == list.blocks.end() || it->index != w) {
          if (exact_)
            return io_error(fmt::format(
                "{}: block {} (offset {}) is not in the snapshot, and every block was put", what, w,
                std::uint64_t{w} * bs));
          h.zeros(bs);  // omitted: it must have been a zero block
          return {};
        }
        VDISK_ASSIGN_OR_RETURN(const std::string body, clients[t]->get_block(id, w, it->token, bs));
        h.data(std::as_bytes(std::span(body.data(), body.size())));
        got += bs;
        return {};
      };
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t n,
                             remote::read_back(d, done, end, clients.size(), read, what, stop));
      bytes += n;
      done = end;
      if (list.next_token.empty()) break;
      token = list.next_token;
    }
    shared_->update([&](UploadStats& st) {
      st.verified = true;
      st.verify_bytes_read = bytes;
    });
    return {};
  }

 private:
  // A parent takes changes and changes need a parent.
  Status check_parent_use(const ChangeSet* changes) const {
    const std::string& parent = options_.parent_snapshot_id;
    if (changes && parent.empty())
      return failed_precondition(fmt::format(
          "ebs: an incremental source needs --parent-snapshot: the snapshot that holds {} "
          "(made from it by a full run), which the changed blocks are put on top of",
          changes->base));
    if (!changes && !parent.empty())
      return invalid_argument(fmt::format(
          "ebs: --parent-snapshot {} takes an incremental source (an EBS snapshot read with "
          "--since); a full copy makes a snapshot of its own",
          parent));
    return {};
  }

  // The parent is completed and holds the changes' base (its vdconvert:source tag).
  Status check_parent(EbsClient& client) const {
    const std::string& parent = options_.parent_snapshot_id;
    VDISK_ASSIGN_OR_RETURN(const SnapshotFacts facts, client.describe_snapshot(parent));
    if (facts.state != "completed")
      return failed_precondition(
          fmt::format("ebs: parent snapshot {} is {}, not completed", parent, facts.state));
    const auto holds = facts.tag(kSourceTag);
    if (!holds)
      return failed_precondition(fmt::format(
          "ebs: parent snapshot {} has no tag {}, so what it holds is not known; the changes are "
          "since {}: name a snapshot a full run made from {}",
          parent, kSourceTag, changes_->base, changes_->base));
    if (*holds != changes_->base)
      return failed_precondition(fmt::format(
          "ebs: parent snapshot {} holds {} (its tag {}), and the changes are since {}: name a "
          "snapshot made from {}",
          parent, *holds, kSourceTag, changes_->base, changes_->base));
    return {};
  }

  // A snapshot's blocks can be read once it is completed, which AWS reaches some time after
  // CompleteSnapshot: DescribeSnapshots from 0.5 s apart, doubling to 15 s, for at most the
  // snapshot's timeout.
  Status wait_completed(EbsClient& client, const std::string& id, const std::string& what,
                        std::stop_token stop) const {
    const auto t0 = std::chrono::steady_clock::now();
    const auto limit = std::chrono::minutes(options_.timeout_minutes);
    std::chrono::milliseconds pause(500);
    for (;;) {
      VDISK_ASSIGN_OR_RETURN(const std::string state, client.snapshot_state(id));
      if (state == "completed") return {};
      if (state != "pending")
        return io_error(
            fmt::format("{}: the snapshot is in state '{}', not completed", what, state));
      if (std::chrono::steady_clock::now() - t0 > limit)
        return io_error(fmt::format("{}: the snapshot is still pending after {} minutes", what,
                                    options_.timeout_minutes));
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, pause, [] { return false; });
      if (stop.stop_requested()) return cancelled(fmt::format("{}: cancelled", what));
      pause = std::min(pause * 2, std::chrono::milliseconds(15000));
    }
  }

  EbsSnapshotOptions options_;
  std::string identity_;              // set_source(): what the source is
  std::optional<ChangeSet> changes_;  // set_source(): incremental, what changed
  bool omit_zero_blocks_ = false;     // the target's omit-zero-blocks (configure())
  DiagnosticFn on_diagnostic_;
  std::string display_;
  std::shared_ptr<http::UploadLedger> shared_;
  bool keep_digests_ = false;
  std::shared_ptr<remote::WindowDigests> digests_;  // the last sink's, a digest per block
  std::string snapshot_id_;                         // the last sink's
  bool exact_ = true;                               // the last sink put every block
};

}  // namespace
}  // namespace aws

Result<std::unique_ptr<RemoteOutput>> ebs_snapshot(EbsSnapshotOptions options) {
  return std::unique_ptr<RemoteOutput>(new aws::EbsOutput(std::move(options)));
}

}  // namespace vdisk
