// The Azure blob source (blob_source.h).
#include "remote/azure_blob/blob_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "http/service_client.h"
#include "remote/reader/block_file.h"

namespace vdisk {
namespace azure {
namespace {

// The most one Get Blob asks for: the largest range whose Content-MD5 the service computes.
constexpr std::uint64_t kMaxGetBytes = 4u << 20;
// Larger than any blob Azure stores (a block blob: 50,000 blocks of 4000 MiB).
constexpr std::uint64_t kMaxBlobBytes = 256ull << 40;

class BlobFetcher final : public remote::BlockFetcher {
 public:
  BlobFetcher(BlobUrl blob, std::uint64_t block_bytes, std::stop_token user_stop)
      : blob_(std::move(blob)),
        bb_(block_bytes),
        on_user_stop_(std::in_place, user_stop, [this] { stop_.request_stop(); }) {}

  // Opens the clients and reads the blob's properties and map.
  Status open(const HttpOptions& http, const ClientMaker& make) {
    HttpOptions counted = http;
    counted.on_retry = [this, user = http.on_retry](std::string_view line) {
      counters_.retry();
      if (user) user(line);
    };
    VDISK_ASSIGN_OR_RETURN(clients_, http::open_clients<BlobClient>(http.connections, [&] {
                             return make(blob_, counted, stop_.get_token());
                           }));
    BlobClient& c = *clients_.front();
    VDISK_ASSIGN_OR_RETURN(props_, c.properties());
    counters_.request(0);
    if (!props_.exists)
      return not_found(fmt::format(
          "azure: {}: the blob does not exist (or the SAS is for another blob)", blob_.display));
    page_blob_ = props_.blob_type == "PageBlob";
    // Azure's limits (8 TiB page blobs of whole pages; block blobs of about 190.7 TiB): a reply
    // past them is not a blob's.
    if (page_blob_ ? props_.length > kMaxPageBlobBytes || props_.length % kPageBytes
                   : props_.length > kMaxBlobBytes)
      return corrupt(fmt::format(
          "azure: Get Blob Properties of {}: a {} of {} bytes is past what Azure stores",
          blob_.display, page_blob_ ? "page blob" : "blob", props_.length));
    if (page_blob_) {
      std::uint64_t requests = 0;
      auto ranges = c.page_ranges(props_.length, &requests);
      for (std::uint64_t i = 0; i < requests; ++i) counters_.request(0);
      if (!ranges.ok()) return ranges.status();
      ranges_ = std::move(*ranges);
      for (const PageRange& r : ranges_) mapped_ += r.end - r.start;
    }
    return {};
  }

  std::uint64_t size() const override { return props_.length; }
  std::uint64_t block_bytes() const override { return bb_; }
  std::size_t slots() const override { return clients_.size(); }
  std::string_view kind() const override { return page_blob_ ? "azure-page-blob" : "azure-blob"; }
  const std::string& name() const override { return blob_.display; }
  remote::SourceCounters& counters() override { return counters_; }
  void cancel() override { stop_.request_stop(); }

  bool has_data(std::uint64_t index) const override {
    if (!page_blob_) return true;
    const std::uint64_t start = index * bb_;
    auto it = first_ending_after(start);
    return it != ranges_.end() && it->start < start + bb_;
  }

  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    if (!page_blob_) return BlockFetcher::allocation(offset, length, out);
    const std::uint64_t end = offset + length;
    std::uint64_t at = offset;
    for (auto it = first_ending_after(offset); it != ranges_.end() && it->start < end; ++it) {
      const std::uint64_t from = std::max(at, it->start);
      const std::uint64_t to = std::min(end, it->end);
      append_extent(out, Extent{at, from - at, ExtentKind::unallocated});
      append_extent(out, Extent{from, to - from, ExtentKind::data});
      at = to;
    }
    append_extent(out, Extent{at, end - at, ExtentKind::unallocated});
    return {};
  }

  Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) override {
    const std::uint64_t start = index * bb_;
    const std::uint64_t end = start + dst.size();
    if (dst.empty() || end > props_.length || end < start)
      return internal_error(
          fmt::format("azure: {}: block {} ({} bytes at {}) is not inside the "
                      "blob's {} bytes",
                      blob_.display, index, dst.size(), start, props_.length));
    std::vector<PageRange> pieces;
    if (page_blob_) {
      pieces = covered_pieces(ranges_, start, end, kMergeGapBytes);
      std::memset(dst.data(), 0, dst.size());
    } else {
      pieces.push_back({start, end});
    }
    const RangeChecks checks{props_.etag, props_.length, true};
    for (const PageRange& p : pieces) {
      for (std::uint64_t o = p.start; o < p.end;) {
        const std::uint64_t n = std::min(p.end - o, kMaxGetBytes);
        VDISK_ASSIGN_OR_RETURN(const std::string body, clients_[slot]->get_range(o, n, checks));
        counters_.request(n);
        std::memcpy(dst.data() + (o - start), body.data(), n);
        o += n;
      }
    }
    return {};
  }

  void describe(Properties& out) const override {
    out.add("blob_type", props_.blob_type.empty() ? std::string("unknown") : props_.blob_type);
    if (page_blob_) {
      out.add("page_ranges", static_cast<std::uint64_t>(ranges_.size()));
      out.add("mapped_bytes", mapped_);
    }
    if (!props_.etag.empty()) out.add("etag", props_.etag);
    if (blob_.managed) out.add("managed_disk", true);
  }

 private:
  std::vector<PageRange>::const_iterator first_ending_after(std::uint64_t offset) const {
    return std::upper_bound(ranges_.begin(), ranges_.end(), offset,
                            [](std::uint64_t v, const PageRange& r) { return v < r.end; });
  }

  BlobUrl blob_;
  std::uint64_t bb_;
  BlobProperties props_;
  bool page_blob_ = false;
  std::vector<PageRange> ranges_;
  std::uint64_t mapped_ = 0;
  remote::SourceCounters counters_;
  // The clients' stop token: the caller's, or cancel().
  std::stop_source stop_;
  std::optional<std::stop_callback<std::function<void()>>> on_user_stop_;
  std::vector<std::unique_ptr<BlobClient>> clients_;
};

}  // namespace

Result<std::unique_ptr<RemoteFile>> open_blob_source(const AzureBlobSourceOptions& options,
                                                     const ClientMaker& make,
                                                     std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(BlobUrl blob, parse_blob_url(options.url, std::nullopt, true));
  VDISK_RETURN_IF_ERROR(http::check_connections("azure", options.http.connections));
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t bb,
                         remote::choose_block_bytes(options.cache, kSourceBlockBytes,
                                                    fmt::format("azure: {}", blob.display)));
  auto fetcher = std::make_unique<BlobFetcher>(std::move(blob), bb, stop);
  VDISK_RETURN_IF_ERROR(fetcher->open(options.http, make));
  return remote::block_file(std::move(fetcher), options.cache);
}

}  // namespace azure

Result<std::unique_ptr<RemoteFile>> open_azure_blob_source(const AzureBlobSourceOptions& options,
                                                           std::stop_token stop) {
  return azure::open_blob_source(options, azure::default_client_maker(), stop);
}

}  // namespace vdisk
