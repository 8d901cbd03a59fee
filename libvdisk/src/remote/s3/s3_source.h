// The S3 object source (vdisk/remote.h: open_s3_source; docs/cloud.md, "Reading from HTTPS and
// S3"): an S3Fetcher under remote::block_file().
//
//   open_s3_source --> HeadObject (size, ETag) --> S3Fetcher: one S3Client per slot, signed
//     ranged GetObject with If-Match: ETag --> block_file() --> RemoteFile
//
// Guarantees:
// - s3://BUCKET/KEY is parsed as an upload's destination is (parse_s3_url: AWS's endpoint, or
//   AwsOptions::endpoint_url path-style; plain http only to a loopback endpoint); credentials
//   and a region are required; every message names s3://BUCKET/KEY, never a key.
// - The size and the ETag come from HeadObject; every block is one GetObject of its range with
//   If-Match, checked by http::check_range_reply (206, the range asked, the same ETag, the
//   body's length), retried as AwsOptions::http says; a 412 or another ETag is io_error
//   "... object changed while it was read".
// - Requests (with their body bytes) and retries are counted in the fetcher's SourceCounters.
// - The requests honour the caller's stop token and the file's destruction
//   (BlockFetcher::cancel): a fetch in flight then ends with cancelled.
#ifndef VDISK_REMOTE_S3_S3_SOURCE_H_
#define VDISK_REMOTE_S3_S3_SOURCE_H_

#include <functional>
#include <memory>
#include <stop_token>

#include "remote/s3/s3_client.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"

namespace vdisk::remote {

// Makes one S3Client for `object` with `aws` (whose on_retry counts the source's retries)
// whose requests honour `stop` (the caller's, or the file's destruction: BlockFetcher::cancel).
using S3ClientMaker = std::function<Result<std::unique_ptr<aws::S3Client>>(
    const aws::S3Object&, const AwsOptions&, std::stop_token)>;

// open_s3_source over the caller's clients (a test's scripted ones).
Result<std::unique_ptr<RemoteFile>> open_s3_source_over(const S3SourceOptions& options,
                                                        const S3ClientMaker& make,
                                                        std::stop_token stop);

}  // namespace vdisk::remote

#endif  // VDISK_REMOTE_S3_S3_SOURCE_H_
