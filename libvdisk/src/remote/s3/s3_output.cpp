// The S3 destination: HeadObject (an existing object needs overwrite), CreateMultipartUpload,
// then the output's bytes cut into parts uploaded by a pool of threads, CompleteMultipartUpload
// with the parts in order; AbortMultipartUpload when the sink is abandoned.
#include <fmt/format.h>

#include <mutex>

#include "http/upload_ledger.h"
#include "http/upload_pool.h"
#include "remote/readback/readback.h"
#include "remote/s3/s3_client.h"

namespace vdisk {
namespace aws {
namespace {

// Bytes of parts in memory at once (those being sent and the one being filled): 3 parts of
// 5 MiB, so the process's peak stays within 64 MiB beside a stream-VMDK writer's ~45 MiB
// (bench/RESULTS.md, "Uploads within 64 MiB"). Larger parts (outputs past 50 GB) still get two.
constexpr std::uint64_t kMemoryBudget = 16u << 20;

class S3Sink final : public ByteSink {
 public:
  S3Sink(S3Object object, const AwsOptions& aws, std::optional<std::uint64_t> size,
         std::string upload_id, std::shared_ptr<http::UploadLedger> shared,
         std::vector<std::unique_ptr<S3Client>> clients,
         std::shared_ptr<remote::WindowDigests> digests, std::stop_token stop)
      : object_(std::move(object)),
        aws_(aws),
        size_(size),
        upload_id_(std::move(upload_id)),
        shared_(std::move(shared)),
        digests_(std::move(digests)),
        stop_(stop),
        clients_(std::move(clients)),
        pool_(clients_.size(), clients_.size() + 1, 0,
              [this](std::size_t t, http::UploadJob& job) { return upload(*clients_[t], job); }) {}

  ~S3Sink() override {
    if (finished_) return;
    pool_.fail(cancelled(fmt::format("s3: upload to {} abandoned", object_.display)));
    (void)pool_.drain();
    // A client of its own: the run's stop token may be what ended the upload.
    auto cleaner = S3Client::create(object_, aws_, {});
    Status s = cleaner.ok() ? (*cleaner)->abort(upload_id_) : cleaner.status();
    const std::string cleanup =
        s.ok() ? fmt::format("the multipart upload to {} was aborted", object_.display)
               : fmt::format(
                     "the multipart upload to {} could not be aborted ({}); a lifecycle "
                     "rule (AbortIncompleteMultipartUpload) removes its parts",
                     object_.display, s.message());
    shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
  }

  Status write(std::span<const std::byte> data) override {
    if (digests_) digests_->data(data);
    while (!data.empty()) {
      VDISK_RETURN_IF_ERROR(room());
      const std::size_t k = std::min(data.size(), cur_.data.size() - cur_.size);
      std::copy_n(data.begin(), k, cur_.data.begin() + static_cast<std::ptrdiff_t>(cur_.size));
      cur_.size += k;
      pos_ += k;
      data = data.subspan(k);
    }
    return {};
  }

  Status write_zeroes(std::uint64_t n) override {
    if (digests_) digests_->zeros(n);
    while (n) {
      VDISK_RETURN_IF_ERROR(room());
      const std::size_t k =
          static_cast<std::size_t>(std::min<std::uint64_t>(n, cur_.data.size() - cur_.size));
      std::fill_n(cur_.data.begin() + static_cast<std::ptrdiff_t>(cur_.size), k, std::byte{0});
      cur_.size += k;
      pos_ += k;
      n -= k;
    }
    return {};
  }

  std::uint64_t position() const override { return pos_; }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(failure());
    if (size_ && pos_ != *size_)
      return internal_error(
          fmt::format("s3: {}: the output ended at {} of {} bytes", object_.display, pos_, *size_));
    if (cur_.size || parts_ == 0) {
      if (cur_.data.empty()) VDISK_RETURN_IF_ERROR(start_part());
      VDISK_RETURN_IF_ERROR(pool_.submit(std::move(cur_)));
      cur_ = {};
    }
    VDISK_RETURN_IF_ERROR(pool_.drain());
    std::vector<std::string> etags;
    {
      std::lock_guard lock(mu_);
      etags = etags_;
    }
    VDISK_RETURN_IF_ERROR(clients_.front()->complete(upload_id_, etags));
    if (digests_) digests_->finish();
    finished_ = true;
    return {};
  }

 private:
  Status failure() {
    return http::upload_failure(stop_, pool_, fmt::format("s3: upload to {}", object_.display));
  }

  Status start_part() {
    if (parts_ >= kMaxParts)
      return resource_exhausted(
          fmt::format("s3: {}: the output needs more than {} parts", object_.display, kMaxParts));
    ++parts_;
    VDISK_ASSIGN_OR_RETURN(cur_.data,
                           pool_.acquire(static_cast<std::size_t>(part_bytes(size_, parts_))));
    cur_.tag = parts_;
    cur_.size = 0;
    return {};
  }

  // Makes room in the current part: sends it when full, starts the next.
  Status room() {
    VDISK_RETURN_IF_ERROR(failure());
    if (!cur_.data.empty() && cur_.size == cur_.data.size()) {
      VDISK_RETURN_IF_ERROR(pool_.submit(std::move(cur_)));
      cur_ = {};
    }
    if (cur_.data.empty()) VDISK_RETURN_IF_ERROR(start_part());
    return {};
  }

  Status upload(S3Client& client, http::UploadJob& job) {
    const auto number = static_cast<std::uint32_t>(job.tag);
    VDISK_ASSIGN_OR_RETURN(
        std::string etag,
        client.upload_part(upload_id_, number, std::span(job.data.data(), job.size)));
    {
      std::lock_guard lock(mu_);
      if (etags_.size() < number) etags_.resize(number);
      etags_[number - 1] = std::move(etag);
    }
    shared_->sent(job.size);
    return {};
  }

  S3Object object_;
  AwsOptions aws_;
  std::optional<std::uint64_t> size_;
  std::string upload_id_;
  std::shared_ptr<http::UploadLedger> shared_;
  std::shared_ptr<remote::WindowDigests> digests_;  // read-back verification, when kept
  std::stop_token stop_;
  std::vector<std::unique_ptr<S3Client>> clients_;
  std::mutex mu_;
  std::vector<std::string> etags_;  // by part number - 1
  http::UploadPool pool_;           // after clients_: its threads use them

  http::UploadJob cur_;  // the part being filled (tag: its number)
  std::uint32_t parts_ = 0;
  std::uint64_t pos_ = 0;
  bool finished_ = false;
};

class S3Output final : public RemoteOutput {
 public:
  S3Output(S3Object o, S3ObjectOptions options)
      : object_(std::move(o)),
        options_(std::move(options)),
        shared_(std::make_shared<http::UploadLedger>()) {
    shared_->update([&](UploadStats& st) { st.object = object_.display; });
  }
  const std::string& display_name() const override { return object_.display; }
  const DestinationCaps& caps() const override {
    static const DestinationCaps c{.kind = "s3-object",
                                   .description = "an S3 object",
                                   .takes_disk = true,
                                   .takes_fixed_vhd = true,
                                   .takes_encoded = true};
    return c;
  }

  Status validate() const override {
    VDISK_RETURN_IF_ERROR(check_credentials(options_.aws, fmt::format("s3: {}", object_.display)));
    return http::check_connections("s3", options_.aws.http.connections);
  }

  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t> output_bytes,
                                         std::stop_token stop) override {
    VDISK_RETURN_IF_ERROR(validate());
    if (output_bytes && *output_bytes > part_bytes(output_bytes, 1) * kMaxParts)
      return invalid_argument(fmt::format("s3: {}: {} bytes do not fit {} parts", object_.display,
                                          *output_bytes, kMaxParts));
    // Parts in memory at once: the budget, at least two.
    const std::uint64_t part = part_bytes(output_bytes, 1);
    const std::uint64_t fit = std::max<std::uint64_t>(2, kMemoryBudget / part) - 1;
    const unsigned threads =
        static_cast<unsigned>(std::min<std::uint64_t>(options_.aws.http.connections, fit));
    const AwsOptions counted = counting_retries(options_.aws, *shared_);
    VDISK_ASSIGN_OR_RETURN(auto clients, http::open_clients<S3Client>(threads, [&] {
                             return S3Client::create(object_, counted, stop);
                           }));
    VDISK_ASSIGN_OR_RETURN(bool exists, clients.front()->exists());
    if (exists && !options_.overwrite)
      return already_exists(
          fmt::format("s3: {}: the object exists; --force replaces it", object_.display));
    VDISK_ASSIGN_OR_RETURN(std::string id, clients.front()->initiate());
    {
      shared_->update([&](UploadStats& st) { st.created = true; });
    }
    digests_.reset();
    if (keep_digests_)
      digests_ = std::make_shared<remote::WindowDigests>(remote::kVerifyWindowBytes);
    return std::unique_ptr<ByteSink>(new S3Sink(object_, options_.aws, output_bytes, std::move(id),
                                                shared_, std::move(clients), digests_, stop));
  }

  UploadStats stats() const override { return shared_->snapshot(); }

  Status keep_digests() override {
    keep_digests_ = true;
    return {};
  }

  // HeadObject (the size), then every window by ranged GETs: an object has no holes.
  Status verify(std::stop_token stop) override {
    if (!digests_ || !digests_->finished())
      return internal_error(
          fmt::format("s3: verify {}: no finished upload kept digests (keep_digests before open)",
                      object_.display));
    const std::string what = fmt::format("s3: {} read back", object_.display);
    const AwsOptions counted = counting_retries(options_.aws, *shared_);
    VDISK_ASSIGN_OR_RETURN(auto clients,
                           http::open_clients<S3Client>(options_.aws.http.connections, [&] {
                             return S3Client::create(object_, counted, stop);
                           }));
    VDISK_ASSIGN_OR_RETURN(const std::uint64_t size, clients.front()->size());
    if (size != digests_->size())
      return io_error(
          fmt::format("{}: the object has {} bytes, expected {}", what, size, digests_->size()));
    const remote::WindowDigests& d = *digests_;
    auto read = [&](std::size_t t, std::size_t w, remote::WindowHasher& h,
                    std::uint64_t& bytes_read) -> Status {
      const auto [start, end] = d.bounds(w);
      for (std::uint64_t o = start; o < end;) {
        const std::uint64_t n = std::min(end - o, remote::kReadPieceBytes);
        VDISK_ASSIGN_OR_RETURN(const std::string body, clients[t]->get_range(o, n));
        h.data(std::as_bytes(std::span(body.data(), body.size())));
        bytes_read += n;
        o += n;
      }
      return {};
    };
    VDISK_ASSIGN_OR_RETURN(const std::uint64_t bytes,
                           remote::read_back(d, clients.size(), read, what, stop));
    shared_->update([&](UploadStats& st) {
      st.verified = true;
      st.verify_bytes_read = bytes;
    });
    return {};
  }

 private:
  S3Object object_;
  S3ObjectOptions options_;
  std::shared_ptr<http::UploadLedger> shared_;
  bool keep_digests_ = false;
  std::shared_ptr<remote::WindowDigests> digests_;  // the last sink's
};

}  // namespace
}  // namespace aws

bool is_s3_url(std::string_view text) { return text.starts_with("s3://"); }

Result<std::unique_ptr<RemoteOutput>> s3_object(S3ObjectOptions options) {
  VDISK_ASSIGN_OR_RETURN(aws::S3Object o, aws::parse_s3_url(options.url, options.aws));
  auto out = std::make_unique<aws::S3Output>(std::move(o), std::move(options));
  return std::unique_ptr<RemoteOutput>(std::move(out));
}

}  // namespace vdisk
