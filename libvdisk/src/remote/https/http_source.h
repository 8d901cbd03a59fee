// The HTTP(S) URL source (vdisk/remote.h: open_http_source; docs/cloud.md, "Reading from HTTPS
// and S3"): an HttpFetcher under remote::block_file(), or the body of one GET as a stream.
//
//   open_http_source --> probe: GET Range: bytes=0-(B-1) (StreamingConnection, retried)
//     206 + Content-Range bytes 0-x/TOTAL --> HttpFetcher (one ServiceClient per slot)
//                                             --> block_file() --> HttpSource::file
//     200 (the range ignored)             --> that body --> HttpSource::stream
//
// Guarantees:
// - Every request carries the caller's headers (never shown in a message) and goes to the URL
//   as given; messages show the URL redacted (http::redact_url). Plain http only to a loopback
//   host; certificates always verified (HttpOptions::ca_file honoured).
// - The size is the probe's Content-Range total (a `*` total is refused, unsupported). The
//   probe's validator (ETag, else Last-Modified) is pinned: each block request sends If-Match
//   (a strong ETag) or If-Unmodified-Since, and each reply must carry the same validator, else
//   io_error "... object changed while it was read".
// - Each block is one ranged GET checked by http::check_range_reply (206, the range asked, the
//   body's length), retried as HttpOptions says; a failure for good names the URL and the
//   offset. The probe's own block is kept and given to the first fetch of block 0.
// - Requests (with their body bytes) and retries are counted in the fetcher's SourceCounters.
// - The block requests honour the caller's stop token and the file's destruction
//   (BlockFetcher::cancel): a fetch in flight then ends with cancelled.
#ifndef VDISK_REMOTE_HTTPS_HTTP_SOURCE_H_
#define VDISK_REMOTE_HTTPS_HTTP_SOURCE_H_

#include <functional>
#include <memory>
#include <stop_token>

#include "http/body_stream.h"
#include "http/client.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"

namespace vdisk::remote {

// The connections an HTTP source uses: the probe's, and a maker of one per slot.
struct HttpConnections {
  std::unique_ptr<http::StreamingConnection> probe;
  std::function<Result<std::unique_ptr<http::Connection>>()> make;
};

// open_http_source over the caller's connections (a test's scripted ones).
Result<HttpSource> open_http_source_over(const HttpSourceOptions& options,
                                         HttpConnections connections, std::stop_token stop);

}  // namespace vdisk::remote

#endif  // VDISK_REMOTE_HTTPS_HTTP_SOURCE_H_
