// The Blob service operations a page-blob upload and a blob source make (docs/cloud.md, "Azure
// page blobs" and "Reading Azure blobs"), one request each with retries, against one blob named
// by a SAS URL. One BlobClient per thread.
#ifndef VDISK_AZURE_BLOB_CLIENT_H_
#define VDISK_AZURE_BLOB_CLIENT_H_

#include <cstdint>
#include <functional>
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
// `managed`: nullopt decides from the host ("md-..."), as azcopy does. `for_reading` only
// changes what a URL without a SAS is told (a read SAS, not a write one).
Result<BlobUrl> parse_blob_url(std::string_view text, std::optional<bool> managed,
                               bool for_reading = false);

struct PageRange {
  std::uint64_t start = 0;  // bytes [start, end)
  std::uint64_t end = 0;
};

struct BlobProperties {
  bool exists = false;
  std::uint64_t length = 0;
  std::string blob_type;  // "PageBlob", "BlockBlob", ...
  std::string content_type;
  std::string etag;  // as the service sent it (quotes included); empty when none
  std::map<std::string, std::string> metadata;  // x-ms-meta-NAME, NAME lowercase
};

// What a ranged Get Blob checks besides the status and the body's length.
struct RangeChecks {
  // Sent as If-Match: the blob must still have this ETag (else io_error "changed while it was
  // read"); a reply naming another ETag is refused the same way. Empty: not pinned.
  std::string_view etag;
  // The blob's length: a 206's Content-Range must say "bytes S-E/length". 0: not checked.
  std::uint64_t blob_length = 0;
  // Ask for the range's Content-MD5 (x-ms-range-get-content-md5, ranges of at most 4 MiB) and
  // check the body against it when the reply carries one; a mismatch is retried as a failed
  // attempt (HttpOptions::max_attempts), then io_error.
  bool md5 = false;
};

// Parses a Get Page Ranges body: ascending, 512-aligned ranges inside `length`; appends them to
// `out` and returns the NextMarker (empty when none). corrupt for anything else.
Result<std::string> parse_page_list(std::string_view xml, std::uint64_t length,
                                    std::vector<PageRange>& out);

// The parts of [start, end) that `have` (sorted, disjoint) does not cover, in order.
std::vector<PageRange> subtract_ranges(const std::vector<PageRange>& have, std::uint64_t start,
                                       std::uint64_t end);

// The parts of [start, end) that `ranges` (sorted, disjoint) cover, clipped to it, in order;
// parts less than `merge_gap` apart are joined (the gap included).
std::vector<PageRange> covered_pieces(const std::vector<PageRange>& ranges, std::uint64_t start,
                                      std::uint64_t end, std::uint64_t merge_gap = 0);

class BlobClient {
 public:
  static Result<std::unique_ptr<BlobClient>> create(const BlobUrl& blob, HttpOptions options,
                                                    std::stop_token stop);
  // Over a client the caller made (a test's scripted connection).
  static std::unique_ptr<BlobClient> over(const BlobUrl& blob, http::ServiceClient client) {
    return std::unique_ptr<BlobClient>(new BlobClient(blob, std::move(client)));
  }

  Result<BlobProperties> properties();
  // Put Blob: a new, empty page blob of `length` bytes (replacing any blob of that name).
  Status create_page_blob(std::uint64_t length, const std::map<std::string, std::string>& metadata);
  // Put Page (update): `data` (a multiple of 512, at most 4 MiB) at `offset` (512-aligned).
  Status put_pages(std::uint64_t offset, std::span<const std::byte> data);
  // Put Page (clear) of [offset, offset + length).
  Status clear_pages(std::uint64_t offset, std::uint64_t length);
  // Every page range the blob holds, following continuation markers; `requests`, when given,
  // counts the requests made.
  Result<std::vector<PageRange>> page_ranges(std::uint64_t length,
                                             std::uint64_t* requests = nullptr);
  // Get Blob of bytes [offset, offset + length) (length > 0): exactly those bytes (a 206 whose
  // Content-Range names them, or a 200 when they are the whole blob), else io_error.
  Result<std::string> get_range(std::uint64_t offset, std::uint64_t length,
                                const RangeChecks& checks = {});
  // Set Blob Metadata: the blob's metadata becomes `metadata` (names without x-ms-meta-).
  Status set_metadata(const std::map<std::string, std::string>& metadata);
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

// Makes one client (one connection) for `blob`: BlobClient::create, or a test's.
using ClientMaker = std::function<Result<std::unique_ptr<BlobClient>>(
    const BlobUrl& blob, const HttpOptions& options, std::stop_token stop)>;
ClientMaker default_client_maker();

}  // namespace vdisk::azure

#endif  // VDISK_AZURE_BLOB_CLIENT_H_
