// The EBS snapshot destination: StartSnapshot once the disk's size is known, then the disk's
// bytes staged into block-aligned chunks (zero blocks never sent) that a pool of threads puts
// block by block, then CompleteSnapshot with the count and the LINEAR checksum of the blocks
// written; a snapshot left unfinished is deleted.
#include <fmt/format.h>

#include <map>
#include <mutex>

#include "remote/ebs/ebs_client.h"
#include "checksum/checksum_sinks.h"
#include "checksum/sha256.h"
#include "http/aligned_stager.h"
#include "http/upload_ledger.h"
#include "http/upload_pool.h"
#include "base/ids.h"
#include "base/zero.h"

namespace vdisk {
namespace aws {
namespace {

constexpr std::uint64_t kGiB = 1ull << 30;
constexpr std::uint64_t kMaxVolumeGiB = 65536;
constexpr std::size_t kChunkBytes = 4u << 20;

class EbsSink final : public ByteSink {
 public:
  EbsSink(AwsOptions aws, StartedSnapshot snap, std::uint64_t size,
          std::shared_ptr<http::UploadLedger> shared,
          std::vector<std::unique_ptr<EbsClient>> clients, std::stop_token stop)
      : aws_(std::move(aws)),
        snap_(std::move(snap)),
        size_(size),
        shared_(std::move(shared)),
        stop_(stop),
        clients_(std::move(clients)),
        chunk_(std::max<std::size_t>(static_cast<std::size_t>(snap_.block_bytes),
                                     kChunkBytes / snap_.block_bytes * snap_.block_bytes)),
        pool_(clients_.size(), clients_.size() + 2, chunk_,
              [this](std::size_t t, http::UploadJob& job) { return upload(*clients_[t], job); }),
        stager_(pool_, snap_.block_bytes, chunk_) {}

  ~EbsSink() override {
    if (finished_) return;
    pool_.fail(cancelled(fmt::format("ebs: upload to {} abandoned", snap_.id)));
    (void)pool_.drain();
    auto cleaner = EbsClient::create(aws_, {});
    Status s = cleaner.ok() ? (*cleaner)->delete_snapshot(snap_.id) : cleaner.status();
    const std::string cleanup =
        s.ok() ? fmt::format("the pending snapshot {} was deleted", snap_.id)
               : fmt::format(
                     "the pending snapshot {} could not be deleted ({}); AWS deletes it "
                     "when its timeout passes",
                     snap_.id, s.message());
    shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
  }

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (data.size() > size_ - stager_.position())
      return out_of_range(
          fmt::format("ebs: {}: writing past the disk's {} bytes", snap_.id, size_));
    return stager_.write(data);
  }
  Status write_zeroes(std::uint64_t n) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (n > size_ - stager_.position())
      return out_of_range(
          fmt::format("ebs: {}: writing past the disk's {} bytes", snap_.id, size_));
    return stager_.write_zeroes(n);
  }
  std::uint64_t position() const override { return stager_.position(); }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(failure());
    if (stager_.position() != size_)
      return internal_error(fmt::format("ebs: {}: the disk ended at {} of {} bytes", snap_.id,
                                        stager_.position(), size_));
    http::UploadJob last = stager_.take_last();
    if (last.size) VDISK_RETURN_IF_ERROR(pool_.submit(std::move(last)));
    VDISK_RETURN_IF_ERROR(pool_.drain());
    std::vector<std::array<std::uint8_t, 32>> digests;
    {
      std::lock_guard lock(mu_);
      for (const auto& [index, d] : digests_) digests.push_back(d);  // ascending index
    }
    VDISK_RETURN_IF_ERROR(
        clients_.front()->complete(snap_.id, digests.size(), linear_checksum(digests)));
    finished_ = true;
    return {};
  }

 private:
  Status failure() {
    return http::upload_failure(stop_, pool_, fmt::format("ebs: upload to {}", snap_.id));
  }

  Status upload(EbsClient& client, http::UploadJob& job) {
    const std::uint64_t bs = snap_.block_bytes;
    for (std::size_t at = 0; at < job.size; at += bs) {
      std::span<const std::byte> block(job.data.data() + at, static_cast<std::size_t>(bs));
      if (detail::is_zero(block)) continue;
      checksum::Sha256 h;
      h.update(block);
      const auto digest = h.finish();
      const std::uint64_t index = (job.tag + at) / bs;
      VDISK_RETURN_IF_ERROR(client.put_block(snap_.id, index, block, digest));
      {
        std::lock_guard lock(mu_);
        digests_[index] = digest;
      }
      shared_->sent(bs);
    }
    return {};
  }

  AwsOptions aws_;
  StartedSnapshot snap_;
  std::uint64_t size_;
  std::shared_ptr<http::UploadLedger> shared_;
  std::stop_token stop_;
  std::vector<std::unique_ptr<EbsClient>> clients_;
  std::size_t chunk_;
  std::mutex mu_;
  std::map<std::uint64_t, std::array<std::uint8_t, 32>> digests_;  // by block index
  http::UploadPool pool_;  // after clients_: its threads use them
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
    return std::unique_ptr<ByteSink>(new EbsSink(options_.aws, std::move(snap), *output_bytes,
                                                 shared_, std::move(clients), stop));
  }

  UploadStats stats() const override { return shared_->snapshot(); }

 private:
  EbsSnapshotOptions options_;
  std::string display_;
  std::shared_ptr<http::UploadLedger> shared_;
};

}  // namespace
}  // namespace aws

Result<std::unique_ptr<RemoteOutput>> ebs_snapshot(EbsSnapshotOptions options) {
  return std::unique_ptr<RemoteOutput>(new aws::EbsOutput(std::move(options)));
}

}  // namespace vdisk
