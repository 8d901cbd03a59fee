// Conversions straight into a cloud object: the output's bytes go to an Azure page blob, an S3
// object or a new EBS snapshot as they are made, with no local copy (and, into a page blob, only
// data sent: zero runs never are; S3 objects have no holes, and an EBS snapshot is written whole
// unless its target's omit-zero-blocks says otherwise).
//
// A RemoteOutput names the destination; convert() (image.h) opens it once the output's size is
// known (ImageOutput::remote) and writes through the ByteSink it returns. The library reads no
// environment and prints nothing: credentials, proxies and retry notes come and go through
// these options. Secrets (the SAS signature, keys) never appear in a message: URLs are shown
// with them replaced by "REDACTED".
#ifndef VDISK_CLOUD_H_
#define VDISK_CLOUD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk {

struct HttpOptions {
  unsigned connections = 8;           // requests in flight at once (one connection each)
  unsigned max_attempts = 8;          // tries per request, the first included
  double max_retry_seconds = 300;     // no retry starts once a request has taken this long
  unsigned initial_backoff_ms = 250;  // backoff before the first retry; doubles each time,
  unsigned max_backoff_ms = 30000;    //   with full jitter, up to this
  unsigned connect_timeout_seconds = 30;
  unsigned stall_seconds = 60;  // an attempt that moves no byte for this long is abandoned
  std::string proxy;            // "http://host:port"; empty: none (no environment is read)
  std::string ca_file;          // a CA bundle for https; empty: the system's
  // Called (from an upload thread) before each retry with one redacted line: what failed and
  // the wait. Must be quick and must not throw.
  std::function<void(std::string_view)> on_retry;
};

// What an upload did, for reports.
struct UploadStats {
  std::uint64_t requests = 0;        // requests that succeeded (retries not counted)
  std::uint64_t retries = 0;         // attempts repeated after a failure
  std::uint64_t bytes_sent = 0;      // request body bytes accepted by the service
  std::uint64_t bytes_skipped = 0;   // data bytes not sent because the object already held them
                                     // (--resume)
  std::uint64_t ranges_cleared = 0;  // stale page ranges cleared (a reused managed-disk URL)
  bool created = false;              // this run created the object
  // After a failure: what became of the partial object ("... was deleted", "... is left in
  // ...", or why it could not be deleted); empty after success.
  std::string cleanup;
  bool resumed = false;           // this run continued an earlier one
  std::string object;             // the destination, redacted
  std::string object_id;          // the id the service gave it (an EBS snapshot's)
  std::uint64_t block_bytes = 0;  // EBS: the snapshot's block size, as StartSnapshot said
  // EBS: blocks put (PutSnapshotBlock; the CompleteSnapshot count), and how many of them held
  // only zeros (sent from one shared zero buffer with one precomputed checksum).
  std::uint64_t blocks_sent = 0;
  std::uint64_t zero_blocks_sent = 0;
  // Read-back verification (RemoteOutput::verify): the object was read back and matched what
  // was sent, and the bytes that reading received (ranges the service lists as holding no data
  // are not read).
  bool verified = false;
  std::uint64_t verify_bytes_read = 0;
};

// What a destination stores, declared by it (as nbdcopy's operations declare theirs): convert()
// pairs the target with it before the input is read, and refuses a target whose output the
// destination cannot hold with invalid_argument naming the targets that fit.
struct DestinationCaps {
  std::string_view kind = {};         // "azure-page-blob", "s3-object", "ebs-snapshot"
  std::string_view description = {};  // "an Azure page blob", for messages
  // The output layouts (TargetInfo::layout) it stores byte for byte. A target made only for
  // this destination (TargetInfo::destination == kind) is taken whatever its layout.
  bool takes_disk = false;       // OutputLayout::disk
  bool takes_fixed_vhd = false;  // OutputLayout::fixed_vhd
  bool takes_encoded = false;    // OutputLayout::encoded
  // The output's size must be known before its first byte (a raw stream states none).
  bool needs_size = false;
  // The output's size must be a multiple of this (a page blob: 512).
  std::uint32_t size_multiple = 1;
};
// invalid_argument naming `display`, the destination and the targets that fit when it cannot
// store `target`'s output; ok otherwise. convert() calls it.
Status check_destination_takes(const DestinationCaps& caps, const TargetInfo& target,
                               std::string_view display);

struct ChangeSet;  // remote.h

class RemoteOutput {
 public:
  virtual ~RemoteOutput() = default;
  // The destination for messages, secrets redacted.
  virtual const std::string& display_name() const = 0;
  // What it stores.
  virtual const DestinationCaps& caps() const = 0;
  // Called by convert() before validate(): the target's own options (TargetOptions::settings,
  // checked against the target's table already: a target made only for this destination
  // declares there what the destination acts on, as aws-snapshot declares omit-zero-blocks) and
  // where warnings go (OpenOptions::on_diagnostic; may be empty). invalid_argument for settings
  // it cannot honour. The default takes neither.
  virtual Status configure(const OptionValues& /*target_settings*/,
                           DiagnosticFn /*on_diagnostic*/) {
    return {};
  }
  // Checks what can be checked before the input is read (URL, transport). Makes no request.
  virtual Status validate() const = 0;
  // Makes the sink that uploads an output of `output_bytes` bytes (nullopt when the target
  // cannot say before it ends; destinations with DestinationCaps::needs_size refuse that).
  // Destroying the sink unfinished abandons the upload (deleting what this run created, unless
  // resuming).
  virtual Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t> output_bytes,
                                                 std::stop_token stop) = 0;
  // What the last opened sink did; complete once it is finished or destroyed.
  virtual UploadStats stats() const = 0;

  // Read-back verification (ConvertOptions::verify_upload; docs/cloud.md, "Reading an upload
  // back"). keep_digests(), called before open(), makes the next sink keep a short digest of
  // each window of the object as it writes (from the bytes it holds; zero runs are not hashed),
  // 8 bytes a window. verify(), called once that sink finished, reads the object back with the
  // upload's connection count, in bounded memory, and compares: ok when every byte matches
  // (stats() then says verified and the bytes read); io_error naming the first differing offset
  // when one does not; the read's own failure otherwise. The object is left as it is either way.
  // The defaults: unsupported.
  // The content being written, called by convert() before open(): `identity` says what the
  // source is when it can say ("ebs:snap-..."; empty otherwise), and `changes`, for an
  // incremental move, the output's ranges that differ from what the destination holds (its
  // base, changes->base). A destination that keeps identities records `identity` on the object;
  // one that updates in place (AzureBlobOptions::update, EbsSnapshotOptions::parent_snapshot_id)
  // writes only the changed ranges once it checked that it holds changes->base, and refuses
  // (failed_precondition) when it does not. The default stores nothing and takes full copies
  // only: changes not null is unsupported.
  virtual Status set_source(std::string_view identity, const ChangeSet* changes);
  virtual Status keep_digests() { return unsupported(fmt_verify_unsupported()); }
  virtual Status verify(std::stop_token /*stop*/) { return unsupported(fmt_verify_unsupported()); }

 private:
  std::string fmt_verify_unsupported() const {
    return display_name() + ": this destination cannot be read back (verify)";
  }
};

struct AzureBlobOptions {
  // https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB?SAS, or a managed disk's upload URL
  // (az disk grant-access). http:// only for a loopback host (Azurite).
  std::string url;
  // Plain SAS: an existing blob is replaced only with `overwrite` (else already_exists).
  bool overwrite = false;
  // Continue an interrupted upload of the same conversion: pages the blob already holds are
  // not sent again. The blob must exist, have the same length and the same job_fingerprint
  // (which covers SOURCE_DATE_EPOCH: with it the resumed footer is the same bytes; without it
  // the footer, written last, carries this run's timestamp and id).
  bool resume = false;
  // Set the blob's Content-MD5 at the end (Set Blob Properties), from the MD5 of every byte sent
  // or skipped (zero runs are hashed too: this costs reading nothing but hashing the whole
  // blob). Refused for managed disks, which do not allow it.
  bool put_md5 = false;
  // nullopt: a managed disk when the host starts with "md-" (as azcopy decides). Managed disks
  // exist already with the exact upload size: no Put Blob, no Set Blob Properties, no delete;
  // stale pages are cleared first (unless resuming).
  std::optional<bool> managed_disk;
  // Stored on a blob this run creates and compared by `resume`: what identifies the conversion
  // (vdconvert: the input's path, size and mtime, the target and its options).
  std::string job_fingerprint;
  // Bring an existing page blob up to date from an incremental source (set_source() with
  // changes): the blob must exist with the output's length and record (metadata the run that
  // wrote it stored) the content it holds, equal to the changes' base; only the changed ranges
  // are written (Put Page), and the ones that now read as zeros cleared. Refused for a managed
  // disk, whose metadata cannot be set.
  bool update = false;
  HttpOptions http;
};

// An Azure page blob destination. invalid_argument for a URL that is not a blob URL.
Result<std::unique_ptr<RemoteOutput>> azure_page_blob(AzureBlobOptions options);

// AWS access: credentials and region are values (the library reads no environment and no
// credentials file; vdconvert does, the usual way).
struct AwsOptions {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only
  std::string region;         // required, e.g. "eu-west-1"
  // Empty: AWS's endpoint for the service and region (https). Else a base URL such as
  // "http://127.0.0.1:5000" (an emulator, path-style S3 URLs) or an S3-compatible store.
  std::string endpoint_url;
  HttpOptions http;
};

struct S3ObjectOptions {
  std::string url;  // s3://BUCKET/KEY
  // An existing object is replaced only with `overwrite` (else already_exists).
  bool overwrite = false;
  AwsOptions aws;
};

// An S3 object, written by multipart upload: parts of at least 5 MiB (larger when the output's
// size needs it to fit the 10,000-part limit; for an output of unknown size, part sizes double
// every 1,000 parts), uploaded in parallel (within 16 MiB of parts in memory: two in flight at
// 5 MiB) with a SHA-256 signed body each, completed in order, aborted on failure. Zero runs are
// sent as zeros: an object has no holes.
Result<std::unique_ptr<RemoteOutput>> s3_object(S3ObjectOptions options);

struct EbsSnapshotOptions {
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  // StartSnapshot's idempotency token; empty: random.
  std::string client_token;
  unsigned timeout_minutes = 60;  // a pending snapshot not completed by then is deleted by AWS
  // The snapshot this one continues (StartSnapshot's ParentSnapshotId): with an incremental
  // source (set_source() with changes) only the changed blocks are put. Refused without one.
  std::string parent_snapshot_id;
  AwsOptions aws;
};

// A new EBS snapshot written through the EBS direct APIs (convert with target "aws-snapshot", the
// disk's bytes as "raw" writes them; it takes no other target): StartSnapshot with the volume size
// in whole GiB (rounded up), PutSnapshotBlock for every block of the volume (the block size
// StartSnapshot's reply states; SHA-256 checksum per block), CompleteSnapshot with the
// changed-block count and the LINEAR aggregate checksum. Every block is put, zero blocks and the
// padding up to the whole GiB included: a block a snapshot does not hold reads as zeros only on
// an unencrypted volume; an encrypted snapshot, or an encrypted volume made from an unencrypted
// one (accounts with EBS encryption by default), returns random data there. Zero blocks cost no
// read and no hash: one shared zero buffer and one precomputed checksum, sent in parallel as
// data is. The target's omit-zero-blocks setting (configure()) puts only blocks holding data, with
// a warning naming that risk; it is refused (invalid_argument, the snapshot deleted, nothing put)
// when StartSnapshot's reply says the snapshot is encrypted. stats().object_id is the snapshot
// id. On failure the pending snapshot is deleted (EC2 DeleteSnapshot).
Result<std::unique_ptr<RemoteOutput>> ebs_snapshot(EbsSnapshotOptions options);

// True when `text` names an S3 object (s3://BUCKET/KEY).
bool is_s3_url(std::string_view text);

// True when `text` looks like a URL an upload takes (http:// or https://).
bool is_remote_url(std::string_view text);

// `text` with the secrets of any URL in it replaced by "REDACTED" (see above).
std::string redact_secrets(std::string_view text);

}  // namespace vdisk

#endif  // VDISK_CLOUD_H_
