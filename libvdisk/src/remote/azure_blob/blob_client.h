// The Blob service operations a page-blob upload makes (docs/cloud.md, "Azure"), one request
// each with retries, against one blob named by a SAS URL. One BlobClient per thread.
#ifndef VDISK_AZURE_BLOB_CLIENT_H_
#define VDISK_AZURE_BLOB_CLIENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "http/client.h"
#include "http/service_client.h"
#include "http/url.h"
#include "vdisk/cloud.h"

namespace vdisk::azure {

// Put Page moves at most 4 MiB a request, at 512-byte page granularity.
inline constexpr std::uint64_t kPageBytes = 512;
inline constexpr std::size_t kMaxPutPageBytes = 4u << 20;
// Page blobs hold at most 8 TiB.
inline constexpr std::uint64_t kMaxPageBlobBytes = 8ull << 40;
// The service version requested (x-ms-version).
inline constexpr const char* kApiVersion = "2021-12-02";

struct BlobUrl {
  http::Url url;         // the blob, SAS in url.query
  bool managed = false;  // a managed disk's upload URL
  std::string display;   // redacted, for messages
  // The URL with `params` ("comp=page") before the SAS.
  std::string with(std::string_view params) const;
};

// Checks the URL: http(s), a path naming container and blob, plain http only on loopback.
// `managed`: nullopt decides from the host ("md-..."), as azcopy does.
Result<BlobUrl> parse_blob_url(std::string_view text, std::optional<bool> managed);

struct PageRange {
  std::uint64_t start = 0;  // bytes [start, end)
  std::uint64_t end = 0;
};

struct BlobProperties {
  bool exists = false;
  std::uint64_t length = 0;
  std::string blob_type;  // "PageBlob", "BlockBlob", ...
  std::string content_type;
  std::map<std::string, std::string> metadata;  // x-ms-meta-NAME, NAME lowercase
};

// Parses a Get Page Ranges body: ascending, 512-aligned ranges inside `length`; appends them to
// `out` and returns the NextMarker (empty when none). corrupt for anything else.
Result<std::string> parse_page_list(std::string_view xml, std::uint64_t length,
                                    std::vector<PageRange>& out);

// The parts of [start, end) that `have` (sorted, disjoint) does not cover, in order.
std::vector<PageRange> subtract_ranges(const std::vector<PageRange>& have, std::uint64_t start,
                                       std::uint64_t end);

class BlobClient {
 public:
  static Result<std::unique_ptr<BlobClient>> create(const BlobUrl& blob, HttpOptions options,
                                                    std::stop_token stop);

  Result<BlobProperties> properties();
  // Put Blob: a new, empty page blob of `length` bytes (replacing any blob of that name).
  Status create_page_blob(std::uint64_t length, const std::map<std::string, std::string>& metadata);
  // Put Page (update): `data` (a multiple of 512, at most 4 MiB) at `offset` (512-aligned).
  Status put_pages(std::uint64_t offset, std::span<const std::byte> data);
  // Put Page (clear) of [offset, offset + length).
  Status clear_pages(std::uint64_t offset, std::uint64_t length);
  // Every page range the blob holds, following continuation markers.
  Result<std::vector<PageRange>> page_ranges(std::uint64_t length);
  // Get Blob of bytes [offset, offset + length) (length > 0): exactly those bytes, else io_error.
  Result<std::string> get_range(std::uint64_t offset, std::uint64_t length);
  // Set Blob Properties with Content-MD5 (base64), keeping the content type.
  Status set_content_md5(std::string_view md5_base64, std::string_view content_type);
  Status remove();

 private:
  BlobClient(const BlobUrl& blob, http::ServiceClient client)
      : blob_(blob), client_(std::move(client)) {}
  Result<http::Response> send(http::Request request);

  BlobUrl blob_;
  http::ServiceClient client_;
};

}  // namespace vdisk::azure

#endif  // VDISK_AZURE_BLOB_CLIENT_H_
