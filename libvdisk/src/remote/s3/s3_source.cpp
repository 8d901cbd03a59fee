// The S3 object source (s3_source.h).
#include "remote/s3/s3_source.h"

#include <fmt/format.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/service_client.h"
#include "remote/reader/block_file.h"

namespace vdisk {
namespace remote {
namespace {

constexpr std::uint64_t kDefaultBlock = 1u << 20;

class S3Fetcher final : public BlockFetcher {
 public:
  S3Fetcher(std::string display, std::uint64_t block, std::stop_token user_stop)
      : display_(std::move(display)),
        block_(block),
        on_user_stop_(std::in_place, user_stop, [this] { stop_.request_stop(); }) {}

  // The clients' stop token: the caller's, or cancel().
  std::stop_token stop_token() const { return stop_.get_token(); }
  void cancel() override { stop_.request_stop(); }

  void set(std::vector<std::unique_ptr<aws::S3Client>> clients, std::uint64_t size,
           http::Validator validator) {
    clients_ = std::move(clients);
    size_ = size;
    validator_ = std::move(validator);
  }

  std::uint64_t size() const override { return size_; }
  std::uint64_t block_bytes() const override { return block_; }
  std::size_t slots() const override { return clients_.size(); }
  std::string_view kind() const override { return "s3-object"; }
  const std::string& name() const override { return display_; }
  SourceCounters& counters() override { return counters_; }
  void describe(Properties& out) const override { out.add("validator", validator_.describe()); }

  Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) override {
    VDISK_RETURN_IF_ERROR(clients_.at(slot)->read_range(index * block_, dst, size_, validator_));
    counters_.request(dst.size());
    return {};
  }

 private:
  std::string display_;
  std::uint64_t block_;
  std::uint64_t size_ = 0;
  http::Validator validator_;
  std::stop_source stop_;
  std::optional<std::stop_callback<std::function<void()>>> on_user_stop_;
  std::vector<std::unique_ptr<aws::S3Client>> clients_;
  SourceCounters counters_;
};

}  // namespace

Result<std::unique_ptr<RemoteFile>> open_s3_source_over(const S3SourceOptions& options,
                                                        const S3ClientMaker& make,
                                                        std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(aws::S3Object object, aws::parse_s3_url(options.url, options.aws));
  const std::string who = fmt::format("s3: {}", object.display);
  VDISK_RETURN_IF_ERROR(aws::check_credentials(options.aws, who));
  VDISK_RETURN_IF_ERROR(http::check_connections("s3", options.aws.http.connections));
  VDISK_ASSIGN_OR_RETURN(std::uint64_t block,
                         choose_block_bytes(options.cache, kDefaultBlock, who));
  auto fetcher = std::make_unique<S3Fetcher>(object.display, block, stop);
  AwsOptions aws = options.aws;
  aws.http.on_retry = [counters = &fetcher->counters(),
                       user = options.aws.http.on_retry](std::string_view line) {
    counters->retry();
    if (user) user(line);
  };
  std::vector<std::unique_ptr<aws::S3Client>> clients;
  for (unsigned i = 0; i < aws.http.connections; ++i) {
    VDISK_ASSIGN_OR_RETURN(std::unique_ptr<aws::S3Client> c,
                           make(object, aws, fetcher->stop_token()));
    clients.push_back(std::move(c));
  }
  VDISK_ASSIGN_OR_RETURN(aws::S3Client::Head head, clients.front()->head());
  fetcher->counters().request(0);
  fetcher->set(std::move(clients), head.bytes, std::move(head.validator));
  return block_file(std::move(fetcher), options.cache);
}

}  // namespace remote

Result<std::unique_ptr<RemoteFile>> open_s3_source(const S3SourceOptions& options,
                                                   std::stop_token stop) {
  return remote::open_s3_source_over(
      options,
      [](const aws::S3Object& object, const AwsOptions& aws, std::stop_token client_stop) {
        return aws::S3Client::create(object, aws, client_stop);
      },
      stop);
}

}  // namespace vdisk
