// The EBS snapshot destination: StartSnapshot once the disk's size is known, then the disk's
// bytes staged into block-aligned chunks that a pool of threads puts block by block, then
// CompleteSnapshot with the count and the LINEAR checksum of the blocks written; a snapshot left
// unfinished is deleted. Every block of the volume is put (zero runs as zero jobs, sent from one
// zero buffer with one precomputed checksum), unless the target's omit-zero-blocks skips them.
#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "base/ids.h"
#include "base/zero.h"
#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "contract/target_driver.h"
#include "http/aligned_stager.h"
#include "http/upload_ledger.h"
#include "http/upload_pool.h"
#include "remote/ebs/ebs_client.h"
#include "remote/readback/readback.h"

namespace vdisk {
namespace aws {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kMaxVolumeGiB = 65536;
constexpr std::size_t kChunkBytes = 4u << 20;

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
  // `size`). `exact`: every block of it is put; else only blocks holding data.
  EbsSink(AwsOptions aws, StartedSnapshot snap, std::uint64_t size, std::uint64_t volume_bytes,
          bool exact, std::shared_ptr<http::UploadLedger> shared,
          std::vector<std::unique_ptr<EbsClient>> clients,
          std::shared_ptr<remote::WindowDigests> window_digests, std::stop_token stop)
      : aws_(std::move(aws)),
        snap_(std::move(snap)),
        size_(size),
        volume_bytes_(volume_bytes),
        exact_(exact),
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
                exact ? http::ZeroUnits::send : http::ZeroUnits::skip) {}

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

  Status put_zero(EbsClient& client, std::uint64_t index) {
    VDISK_RETURN_IF_ERROR(
        client.put_block(snap_.id, index, zero_block_, zero_digest_.base64, zero_digest_.hex));
    {
      std::lock_guard lock(mu_);
      ++zero_blocks_;
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
    for (std::size_t at = 0; at < job.size; at += bs) {
      const std::uint64_t index = (job.tag + at) / bs;
      if (job.zeros) {
        VDISK_RETURN_IF_ERROR(put_zero(client, index));
        continue;
      }
      std::span<const std::byte> block(job.data.data() + at, static_cast<std::size_t>(bs));
      if (detail::is_zero(block)) {
        if (exact_) VDISK_RETURN_IF_ERROR(put_zero(client, index));
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

  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t> output_bytes,
                                         std::stop_token stop) override {
    VDISK_RETURN_IF_ERROR(validate());
    if (!output_bytes)
      return invalid_argument(
          "ebs: a snapshot's volume size is declared first, and this disk's size is not known "
          "until it ends (a raw stream: convert from a file)");
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
    VDISK_ASSIGN_OR_RETURN(StartedSnapshot snap, clients.front()->start(gib, options_, token));
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
    if (omit_zero_blocks_ && on_diagnostic_)
      on_diagnostic_(Diagnostic{
          Diagnostic::Level::warning,
          fmt::format("ebs: omit-zero-blocks: the zero blocks are not put into snapshot {}; they "
                      "read as zeros only on an unencrypted volume: an encrypted volume made from "
                      "it (an account with EBS encryption by default) reads them as random data",
                      snap.id)});
    digests_.reset();
    if (keep_digests_) digests_ = std::make_shared<remote::WindowDigests>(snap.block_bytes);
    snapshot_id_ = snap.id;
    exact_ = !omit_zero_blocks_;
    return std::unique_ptr<ByteSink>(new EbsSink(options_.aws, std::move(snap), *output_bytes,
                                                 gib * kGiB, !omit_zero_blocks_, shared_,
                                                 std::move(clients), digests_, stop));
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
  bool omit_zero_blocks_ = false;  // the target's omit-zero-blocks (configure())
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
