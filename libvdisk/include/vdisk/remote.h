// Reading disks where they live (docs/cloud.md, "Reading from the cloud"): an EBS snapshot, an
// Azure page blob or managed-disk export, an S3 object or any HTTP(S) URL opened as a
// RandomAccessFile, so open_image() reads every format from it and convert() moves it into a
// file or another cloud with no local copy.
//
// Bytes are fetched on demand by parallel ranged requests (one connection each) into a bounded
// block cache, with read-ahead once reads run sequentially. Sources whose service keeps a map
// (EBS: the blocks a snapshot lists; Azure: the page ranges) report it through allocation(), so
// a conversion reads the data only. Every request retries as an upload's do (HttpOptions); a
// read that fails for good is io_error naming the object and the offset. The library reads no
// environment: credentials and headers are values, and never appear in a message.
#ifndef VDISK_REMOTE_H_
#define VDISK_REMOTE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/cloud.h"
#include "vdisk/extent.h"
#include "vdisk/io.h"
#include "vdisk/properties.h"
#include "vdisk/status.h"

namespace vdisk {

// SourceStats (what reading did) is in image.h, as ConvertReport carries it.

struct SourceCacheOptions {
  // The most bytes of blocks held at once: fetched, prefetched or being fetched. At least two
  // blocks per connection (raised to that).
  std::uint64_t cache_bytes = 32u << 20;
  // The fetch unit; 0: the source's own (1 MiB over HTTP, S3 and Azure; an EBS snapshot's
  // block size). A power of two, 4 KiB..16 MiB, for the sources that choose it.
  std::uint64_t block_bytes = 0;
  // Blocks fetched ahead of a sequential reader; 0: two per connection.
  unsigned read_ahead_blocks = 0;
};

// The ranges of a disk that differ from an earlier version of it (an EBS snapshot read with
// `since`: ListChangedBlocks).
struct ChangeSet {
  std::string base;      // the earlier version: "ebs:snap-0123..."
  std::string identity;  // this version
  std::uint64_t disk_bytes = 0;
  // Sorted, disjoint: the ranges that changed, as data (holding data now) or unallocated (the
  // earlier version held data there, this one holds none: zeros now).
  std::vector<Extent> ranges;
};

// An object opened for reading. read_at() and allocation() are thread-safe.
class RemoteFile : public RandomAccessFile {
 public:
  // "http", "s3-object", "azure-page-blob", "ebs-snapshot".
  virtual std::string_view kind() const = 0;
  // What identifies this content for a later incremental move ("ebs:snap-..."), or empty.
  virtual std::string identity() const { return {}; }
  // Opened with `since`: what changed since then; null otherwise.
  virtual const ChangeSet* changes() const { return nullptr; }
  virtual SourceStats stats() const = 0;
  // kind, object (redacted), bytes, block_bytes and the service's own facts (page ranges,
  // blocks listed).
  virtual void describe(Properties& out) const = 0;
};

struct HttpSourceOptions {
  // https://..., or http://... to a loopback host only.
  std::string url;
  // Request headers sent with every request ("Cookie: ...", "Authorization: Basic ..."): their
  // values are secrets, never shown.
  std::vector<std::pair<std::string, std::string>> headers;
  HttpOptions http;
  SourceCacheOptions cache;
};
// Checks one of HttpSourceOptions::headers (open_http_source checks them all the same way): a
// token name (RFC 9110 §5.6.2), a value without CR, LF or NUL, at most 8 KiB, and not a header
// the source sets itself (Host, Content-Length, Range, If-Range, If-Match and the other If-*
// preconditions). invalid_argument names the header, never its value.
Status check_source_header(std::string_view name, std::string_view value);
// One header given as a line "NAME: VALUE" (as curl -H takes it): split at the first colon, the
// value's leading blanks dropped, then checked by check_source_header. invalid_argument never
// shows the value.
Result<std::pair<std::string, std::string>> parse_source_header(std::string_view line);
// What an HTTP(S) URL opened as: `file` when the server answers ranged GETs (206 with a
// Content-Range), else `stream`, the body of one plain GET read front to back (open_image_stream
// reads the formats that allow it; the others refuse it in one line).
struct HttpSource {
  std::unique_ptr<RemoteFile> file;
  std::unique_ptr<InputStream> stream;
};
Result<HttpSource> open_http_source(const HttpSourceOptions& options, std::stop_token stop = {});

struct S3SourceOptions {
  std::string url;  // s3://BUCKET/KEY
  AwsOptions aws;
  SourceCacheOptions cache;
};
Result<std::unique_ptr<RemoteFile>> open_s3_source(const S3SourceOptions& options,
                                                   std::stop_token stop = {});

struct AzureBlobSourceOptions {
  // A blob's SAS URL, or a managed disk's export URL (az disk grant-access --access-level Read).
  // http:// only for a loopback host (Azurite).
  std::string url;
  HttpOptions http;
  SourceCacheOptions cache;
};
// A page blob (its page ranges are the map) or any other blob (all data). A blob that ends in a
// fixed VHD footer probes as a VHD, as a file would.
Result<std::unique_ptr<RemoteFile>> open_azure_blob_source(const AzureBlobSourceOptions& options,
                                                           std::stop_token stop = {});

struct EbsSourceOptions {
  std::string snapshot_id;  // snap-...
  // An earlier snapshot of the same volume: changes() lists what differs (ListChangedBlocks).
  std::string since;
  AwsOptions aws;
  SourceCacheOptions cache;
};
// A completed EBS snapshot through the EBS direct APIs: ListSnapshotBlocks is the map (blocks
// not listed read as zeros), GetSnapshotBlock fetches each block, checked against its SHA-256
// checksum; the size is the volume's (VolumeSize GiB).
Result<std::unique_ptr<RemoteFile>> open_ebs_source(const EbsSourceOptions& options,
                                                    std::stop_token stop = {});

// True when `text` names an EBS snapshot as a source: "ebs:snap-..." (or "ebs://snap-...").
bool is_ebs_source(std::string_view text);
// The snapshot id of such a source, else empty.
std::string ebs_snapshot_id(std::string_view text);
// A snapshot given as an option's value (since, a parent snapshot): "snap-..." or
// "ebs:snap-...", its id; else empty.
std::string snapshot_id_of(std::string_view text);

// ---- One entry point: any remote SRC by its text ---------------------------------------------

// What kind of remote object a SRC names: an EBS snapshot (is_ebs_source), an S3 object
// (s3://BUCKET/KEY), an Azure blob (an http(s) URL whose host is a blob endpoint,
// *.blob.core.windows.net or *.blob.storage.azure.net, or whose query carries a SAS: both sv=
// and sig=, as Azurite's loopback URLs do), any other http(s) URL; none for anything else (a
// path, "-").
enum class RemoteSourceKind { none, ebs, s3, azure_blob, http };
RemoteSourceKind remote_source_kind(std::string_view src);
// The host of an http(s) URL as remote_source_kind() reads it: lowercase, without user info or
// port ("[::1]" for an IPv6 literal); "" when the text has no "://".
std::string remote_url_host(std::string_view url);

struct RemoteSourceOptions {
  std::string source;  // the SRC text remote_source_kind() classifies
  // ebs only: an earlier snapshot ("snap-..." or "ebs:snap-..."): RemoteFile::changes().
  std::string since;
  AwsOptions aws;    // s3 and ebs: credentials, region, endpoint and their HttpOptions
  HttpOptions http;  // azure_blob and http
  // http only: request headers ("Cookie", "Authorization"), checked by check_source_header.
  std::vector<std::pair<std::string, std::string>> headers;
  SourceCacheOptions cache;
};
// What a remote SRC opened as: `file` (random access), or for an http(s) server that does not
// answer ranged requests `stream` (read front to back: open_image_stream, or convert() with
// ImageInput::stream). Exactly one is set.
struct RemoteSource {
  std::unique_ptr<RemoteFile> file;
  std::unique_ptr<InputStream> stream;
};
// Opens options.source by its kind with the open_*_source of that kind: AwsOptions for s3 and
// ebs, `http` for an Azure blob or an http(s) URL, `headers` for an http(s) URL only, `since`
// for an EBS snapshot only. invalid_argument (one line, secrets redacted) for a source that is
// not remote, headers given with another kind, `since` with another kind or not a snapshot id.
// Reads no environment: credentials, proxy and headers are the caller's values.
Result<RemoteSource> open_remote_source(const RemoteSourceOptions& options,
                                        std::stop_token stop = {});

// The "remote_source" object of an info report (vdconvert info --json, vdisk_image_info_json):
// the object's facts (RemoteFile::describe), its identity, the changes since `since` when
// opened so, and what reading it did (requests, retries, bytes_received, blocks_fetched,
// cache_hits).
void add_remote_source_properties(Properties& out, const RemoteFile& file);

// ---- One entry point: any remote DST by its text ---------------------------------------------

// What kind of cloud destination a DST names: a new EBS snapshot ("ebs:" or "ebs://", nothing
// after: the snapshot gets its id when it is made), an S3 object (s3://BUCKET/KEY), an Azure
// page blob or managed disk (any http(s) URL: a blob URL with a SAS, or a managed disk's upload
// URL); none for anything else (a path, "-", "ebs:snap-...", which names a source).
enum class RemoteDestinationKind { none, azure_page_blob, s3, ebs };
RemoteDestinationKind remote_destination_kind(std::string_view dst);

struct RemoteOutputOptions {
  std::string destination;  // the DST text remote_destination_kind() classifies
  AwsOptions aws;           // s3 and ebs: credentials, region, endpoint and their HttpOptions
  HttpOptions http;         // azure_page_blob
  // azure_page_blob and s3: replace an existing object (AzureBlobOptions::overwrite,
  // S3ObjectOptions::overwrite).
  bool overwrite = false;
  // azure_page_blob only: AzureBlobOptions's resume, put_md5, update, managed_disk and
  // job_fingerprint.
  bool resume = false;
  bool put_md5 = false;
  bool update = false;
  std::optional<bool> managed_disk;
  std::string job_fingerprint;  // upload_fingerprint()
  // ebs only: EbsSnapshotOptions's description, tags and parent_snapshot_id ("snap-..." or
  // "ebs:snap-...").
  std::string description;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string parent_snapshot_id;
};
// Makes the destination options.destination names with the constructor of its kind
// (azure_page_blob, s3_object, ebs_snapshot): `http` for an Azure page blob, AwsOptions for s3
// and ebs. invalid_argument (one line, secrets redacted) for a DST that is no cloud destination,
// or a setting its kind does not take (resume, put_md5, update or managed_disk other than an
// Azure page blob; overwrite for ebs; description, tags or parent_snapshot_id other than ebs; a
// parent that is not a snapshot id). Makes no request: convert() opens it (ImageOutput::remote)
// and pairs the target with it (DestinationCaps) before reading the input.
Result<std::unique_ptr<RemoteOutput>> open_remote_output(const RemoteOutputOptions& options);
// The object's name as ImageOutput::path for `out` (the last segment of its display name, no
// query): the file name a format records (a VMDK descriptor's extent, a tar member's name).
std::string remote_output_name(const RemoteOutput& out);

// What identifies a conversion for resuming its upload (RemoteOutputOptions::job_fingerprint):
// "<scheme>|<input>|<target>|<format>|<k=v;...>|<extra>". The input is a remote SRC redacted
// ("remote|..."), "stdin" for "-", else the path made canonical with its size and mtime (what
// stat() says: a path that cannot be read is itself). `settings` are the target's, `extra`
// the caller's other settings that change the output's bytes.
std::string upload_fingerprint(std::string_view scheme, std::string_view src,
                               std::string_view target, std::string_view format,
                               const std::vector<std::pair<std::string, std::string>>& settings,
                               std::string_view extra);

// The "upload" object of a convert report (vdconvert convert --json, vdisk_convert's report):
// the object (redacted), created, resumed, requests, retries, bytes_sent, bytes_skipped,
// ranges_cleared; for an EBS snapshot its id, block size and blocks sent; verified and the bytes
// read back after a read-back verification.
void add_upload_properties(Properties& out, const UploadStats& stats);

}  // namespace vdisk

#endif  // VDISK_REMOTE_H_
