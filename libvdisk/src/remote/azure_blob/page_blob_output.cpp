// The Azure page-blob destination: prepares the blob (create it, or check a managed disk's and
// clear its stale pages, or read what a resumed upload already holds), then streams the
// output's bytes into it with Put Page from a pool of upload threads, sending data only. The
// last request (the VHD footer's) goes once every other one has succeeded, so a blob with a
// footer is a complete upload.
//
// --update (AzureBlobOptions::update, set_source() with changes): the blob must hold the
// changes' base (metadata vdconvertsource) at the output's length; the sink is still given the
// whole output, but only the pages inside the changed ranges (and the last page, the VHD
// footer) are written: data by Put Page, zero runs by Put Page (clear); the rest is skipped
// without a request. vdconvertupdating marks the blob while the update runs.
#include "remote/azure_blob/page_blob_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "base/ids.h"
#include "base/zero.h"
#include "checksum/checksum_sinks.h"
#include "checksum/md5.h"
#include "checksum/sha256.h"
#include "http/aligned_stager.h"
#include "http/upload_ledger.h"
#include "http/upload_pool.h"
#include "remote/azure_blob/blob_client.h"
#include "remote/azure_blob/page_update.h"
#include "remote/readback/readback.h"
#include "vdisk/remote.h"

namespace vdisk {
namespace azure {
namespace {

std::string fingerprint_digest(std::string_view fingerprint) {
  checksum::Sha256 h;
  h.update(std::as_bytes(std::span(fingerprint.data(), fingerprint.size())));
  return h.hex();
}

// Bytes of the request buffers together (connections + 2 of them): the process's peak stays
// within 64 MiB with the conversion's own ~30 MiB (bench/RESULTS.md, "Uploads within
// 64 MiB").
constexpr std::size_t kUploadBudget = 24u << 20;

// Bytes per Put Page: the largest power of two from 512 KiB to the 4 MiB maximum whose
// connections + 2 buffers fit the budget (8 connections: 2 MiB). More, smaller requests cost
// nothing in bytes sent: only data is sent either way.
std::size_t request_bytes(std::size_t connections) {
  std::size_t bytes = kMaxPutPageBytes;
  while (bytes > (512u << 10) && bytes * (connections + 2) > kUploadBudget) bytes /= 2;
  return bytes;
}

class PageBlobSink final : public ByteSink {
 public:
  // `write_only`: an update writes only these pages (sorted, disjoint, page-aligned); null: a
  // full upload. `final_metadata`: set once the last request succeeded.
  PageBlobSink(BlobUrl blob, const AzureBlobOptions& o, std::uint64_t length,
               std::vector<PageRange> have, bool created,
               std::shared_ptr<http::UploadLedger> shared,
               std::vector<std::unique_ptr<BlobClient>> clients,
               std::shared_ptr<remote::WindowDigests> digests, std::stop_token stop,
               std::shared_ptr<const std::vector<PageRange>> write_only,
               std::optional<std::map<std::string, std::string>> final_metadata)
      : blob_(std::move(blob)),
        options_(o),
        length_(length),
        have_(std::move(have)),
        created_(created),
        write_only_(std::move(write_only)),
        final_metadata_(std::move(final_metadata)),
        shared_(std::move(shared)),
        digests_(std::move(digests)),
        stop_(stop),
        clients_(std::move(clients)),
        request_bytes_(request_bytes(clients_.size())),
        // One buffer per upload thread, one being filled, one queued.
        pool_(clients_.size(), clients_.size() + 2, request_bytes_,
              [this](std::size_t t, http::UploadJob& job) { return upload(*clients_[t], job); }) {}

  ~PageBlobSink() override {
    if (finished_) return;
    pool_.fail(cancelled(fmt::format("azure: upload to {} abandoned", blob_.display)));
    (void)pool_.drain();
    std::string cleanup;
    if (created_ && !options_.resume) {
      // A client of its own: the run's stop token may be what ended the upload.
      auto cleaner = BlobClient::create(blob_, options_.http, {});
      Status s = cleaner.ok() ? (*cleaner)->remove() : cleaner.status();
      cleanup = s.ok() ? fmt::format("the partial blob {} was deleted", blob_.display)
                       : fmt::format("the partial blob {} could not be deleted: {}", blob_.display,
                                     s.message());
    } else if (write_only_) {
      cleanup = fmt::format(
          "the blob {} is left partly updated (its metadata {} names the update: run the same "
          "update again to finish it)",
          blob_.display, kMetaUpdating);
    } else {
      cleanup = fmt::format("the partial upload is left in {}{}", blob_.display,
                            options_.resume || blob_.managed ? " (--resume continues it)" : "");
    }
    shared_->update([&](UploadStats& st) { st.cleanup = cleanup; });
  }

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (data.size() > length_ - stager_.position())
      return out_of_range(
          fmt::format("azure: {}: writing {} bytes at {} passes the blob's {} bytes", blob_.display,
                      data.size(), stager_.position(), length_));
    if (options_.put_md5) md5_.update(data);
    if (digests_) digests_->data(data);
    if (!data.empty()) data_end_ = stager_.position() + data.size();
    return stager_.write(data);
  }

  Status write_zeroes(std::uint64_t n) override {
    VDISK_RETURN_IF_ERROR(failure());
    if (n > length_ - stager_.position())
      return out_of_range(fmt::format("azure: {}: {} zero bytes at {} pass the blob's {} bytes",
                                      blob_.display, n, stager_.position(), length_));
    if (options_.put_md5) md5_.update_zeros(n);
    if (digests_) digests_->zeros(n);
    if (write_only_) VDISK_RETURN_IF_ERROR(clear_changed(n));
    return stager_.write_zeroes(n);
  }

  std::uint64_t position() const override { return stager_.position(); }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(failure());
    if (stager_.position() != length_)
      return internal_error(fmt::format("azure: {}: the output ended at {} of {} bytes",
                                        blob_.display, stager_.position(), length_));
    // Everything but the last request, then the last (it holds the footer) alone.
    VDISK_RETURN_IF_ERROR(submit_clear());
    http::UploadJob last = stager_.take_last();
    VDISK_RETURN_IF_ERROR(pool_.drain());
    if (last.size) VDISK_RETURN_IF_ERROR(upload(*clients_.front(), last));
    if (options_.put_md5) {
      auto digest = md5_.finish();
      VDISK_RETURN_IF_ERROR(clients_.front()->set_content_md5(checksum::to_base64(digest),
                                                              "application/octet-stream"));
    }
    if (final_metadata_) VDISK_RETURN_IF_ERROR(clients_.front()->set_metadata(*final_metadata_));
    if (digests_) digests_->finish();
    finished_ = true;
    return {};
  }

 private:
  Status failure() {
    return http::upload_failure(stop_, pool_, fmt::format("azure: upload to {}", blob_.display));
  }

  // An update: the whole pages of the zero run of `n` bytes starting here (the stager skips
  // them) that lie in changed ranges are cleared, by a zero job each (UploadJob::zeros). A page
  // partly in the run and partly in data already staged, or in data to come, goes out with
  // that data.
  Status clear_changed(std::uint64_t n) {
    const std::uint64_t pos = stager_.position();
    const std::uint64_t unit = pos - pos % kPageBytes;
    const bool staged = pos % kPageBytes && data_end_ > unit;
    const std::uint64_t from = staged ? unit + kPageBytes : unit;
    const std::uint64_t to = (pos + n) - (pos + n) % kPageBytes;
    if (from >= to) return {};
    for (const PageRange& r : covered_pieces(*write_only_, from, to)) {
      if (pending_clear_.end == r.start && pending_clear_.end > pending_clear_.start) {
        pending_clear_.end = r.end;  // one clear for zero runs written in pieces
        continue;
      }
      VDISK_RETURN_IF_ERROR(submit_clear());
      pending_clear_ = r;
    }
    return {};
  }

  // Queues the pending clear as a zero job (UploadJob::zeros).
  Status submit_clear() {
    if (pending_clear_.end == pending_clear_.start) return {};
    http::UploadJob z;
    VDISK_ASSIGN_OR_RETURN(z.data, pool_.acquire_slot());
    z.tag = pending_clear_.start;
    z.size = static_cast<std::size_t>(pending_clear_.end - pending_clear_.start);
    z.zeros = true;
    pending_clear_ = {};
    return pool_.submit(std::move(z));
  }

  Status clear(BlobClient& client, std::uint64_t offset, std::uint64_t length) {
    VDISK_RETURN_IF_ERROR(client.clear_pages(offset, length));
    shared_->sent(0);
    shared_->update([&](UploadStats& st) { st.ranges_cleared++; });
    return {};
  }

  // An update's job: of its pages inside the changed ranges, the data goes by Put Page (zero
  // runs shorter than kZeroGapBytes between data included) and the zero runs by clears; the
  // pages outside are skipped (counted in bytes_skipped).
  Status update(BlobClient& client, http::UploadJob& job) {
    const std::uint64_t end = job.tag + job.size;
    if (job.zeros) {
      for (const PageRange& r : covered_pieces(*write_only_, job.tag, end))
        VDISK_RETURN_IF_ERROR(clear(client, r.start, r.end - r.start));
      return {};
    }
    std::uint64_t inside = 0;
    for (const PageRange& piece : covered_pieces(*write_only_, job.tag, end)) {
      inside += piece.end - piece.start;
      std::uint64_t at = piece.start;
      for (const PageRange& d : data_runs(job.data, job.tag, piece, kZeroGapBytes)) {
        if (d.start > at) VDISK_RETURN_IF_ERROR(clear(client, at, d.start - at));
        std::span<const std::byte> body(job.data.data() + (d.start - job.tag),
                                        static_cast<std::size_t>(d.end - d.start));
        VDISK_RETURN_IF_ERROR(client.put_pages(d.start, body));
        shared_->sent(body.size());
        at = d.end;
      }
      if (piece.end > at) VDISK_RETURN_IF_ERROR(clear(client, at, piece.end - at));
    }
    shared_->update([&](UploadStats& st) { st.bytes_skipped += job.size - inside; });
    return {};
  }

  // Sends the pages of `job` (tag: its offset) the blob does not hold yet and that are not all
  // zeros, at most 4 MiB a request (an update: update()).
  Status upload(BlobClient& client, http::UploadJob& job) {
    if (write_only_) return update(client, job);
    const std::size_t size = job.size;  // whole pages (the stager pads the last)
    std::uint64_t todo = 0;
    for (const PageRange& r : subtract_ranges(have_, job.tag, job.tag + size)) {
      todo += r.end - r.start;
      const auto from = static_cast<std::size_t>(r.start - job.tag);
      std::span<const std::byte> body(job.data.data() + from,
                                      static_cast<std::size_t>(r.end - r.start));
      if (detail::is_zero(body)) continue;
      VDISK_RETURN_IF_ERROR(client.put_pages(r.start, body));
      shared_->sent(body.size());
    }
    shared_->update([&](UploadStats& st) { st.bytes_skipped += size - todo; });  // --resume
    return {};
  }

  BlobUrl blob_;
  AzureBlobOptions options_;
  std::uint64_t length_;
  std::vector<PageRange> have_;
  bool created_;
  std::shared_ptr<const std::vector<PageRange>> write_only_;
  std::optional<std::map<std::string, std::string>> final_metadata_;
  std::shared_ptr<http::UploadLedger> shared_;
  std::shared_ptr<remote::WindowDigests> digests_;  // read-back verification, when kept
  std::stop_token stop_;
  std::vector<std::unique_ptr<BlobClient>> clients_;
  std::size_t request_bytes_;
  http::UploadPool pool_;  // after clients_: its threads use them

  // The writer's side (one thread).
  http::AlignedStager stager_{pool_, kPageBytes, request_bytes_};
  checksum::Md5 md5_;
  std::uint64_t data_end_ = 0;  // where the last data written ended
  PageRange pending_clear_;     // an update's zero pages not queued yet
  bool finished_ = false;
};

class PageBlobOutput final : public RemoteOutput {
 public:
  PageBlobOutput(BlobUrl blob, AzureBlobOptions o, ClientMaker make)
      : blob_(std::move(blob)),
        options_(std::move(o)),
        make_(std::move(make)),
        shared_(std::make_shared<http::UploadLedger>()) {
    shared_->update([&](UploadStats& st) { st.object = blob_.display; });
  }

  const std::string& display_name() const override { return blob_.display; }

  const DestinationCaps& caps() const override {
    static const DestinationCaps c{.kind = "azure-page-blob",
                                   .description = "an Azure page blob",
                                   .takes_fixed_vhd = true,
                                   .needs_size = true,
                                   .size_multiple = 512};
    return c;
  }

  Status validate() const override {
    if (blob_.managed && options_.put_md5)
      return invalid_argument(fmt::format(
          "azure: {}: a managed disk's upload URL does not allow a Content-MD5 (--put-md5)",
          blob_.display));
    if (options_.update && blob_.managed)
      return invalid_argument(fmt::format(
          "azure: {}: --update: a managed disk's upload URL takes no metadata, so what it holds "
          "cannot be checked; write a full copy",
          blob_.display));
    if (options_.update && (options_.resume || options_.overwrite))
      return invalid_argument(fmt::format(
          "azure: {}: --update writes the changes into the blob; {} goes with a full copy",
          blob_.display, options_.resume ? "--resume" : "--force"));
    return http::check_connections("azure", options_.http.connections);
  }

  Status set_source(std::string_view identity, const ChangeSet* changes) override {
    if (changes && !options_.update)
      return unsupported(
          fmt::format("azure: {}: a page blob takes full copies; --update writes only the changes "
                      "(since {}) into a blob that holds {}",
                      blob_.display, changes->base, changes->base));
    if (!changes && options_.update)
      return invalid_argument(
          fmt::format("azure: {}: --update needs an incremental source (--since)", blob_.display));
    identity_ = std::string(identity);
    changes_.reset();
    if (changes) {
      changes_ = *changes;
      if (changes_->identity.empty()) changes_->identity = identity_;
      if (changes_->identity.empty() || changes_->base.empty())
        return invalid_argument(
            fmt::format("azure: {}: --update: the changes name no {}", blob_.display,
                        changes_->base.empty() ? "base" : "identity for what they lead to"));
    }
    return {};
  }

  Result<std::unique_ptr<ByteSink>> open(std::optional<std::uint64_t> output_bytes,
                                         std::stop_token stop) override {
    VDISK_RETURN_IF_ERROR(validate());
    if (!output_bytes)
      return invalid_argument(fmt::format(
          "azure: {}: a page blob's size must be declared before the upload, and this output's "
          "size is not known until it ends (a raw stream: convert from a file)",
          blob_.display));
    const std::uint64_t length = *output_bytes;
    if (length % kPageBytes)
      return invalid_argument(
          fmt::format("azure: {}: a page blob holds a multiple of 512 bytes; this output has {}",
                      blob_.display, length));
    if (length > kMaxPageBlobBytes)
      return invalid_argument(fmt::format("azure: {}: {} bytes is more than a page blob's 8 TiB",
                                          blob_.display, length));
    if (options_.update && !changes_)
      return invalid_argument(
          fmt::format("azure: {}: --update needs an incremental source (--since)", blob_.display));
    const HttpOptions counted = shared_->counting(options_.http);
    VDISK_ASSIGN_OR_RETURN(
        auto clients, http::open_clients<BlobClient>(options_.http.connections,
                                                     [&] { return make_(blob_, counted, stop); }));
    BlobClient& c = *clients.front();
    VDISK_ASSIGN_OR_RETURN(BlobProperties p, c.properties());
    std::vector<PageRange> have;
    bool created = false;
    const std::string digest = fingerprint_digest(options_.job_fingerprint);
    std::map<std::string, std::string> metadata{{kMetaJob, digest},
                                                {kMetaSize, std::to_string(length)}};
    if (!identity_.empty()) metadata[kMetaSource] = identity_;
    std::optional<std::map<std::string, std::string>> final_metadata;
    std::shared_ptr<const std::vector<PageRange>> write_only;
    if (options_.update) {
      VDISK_ASSIGN_OR_RETURN(auto pages, plan_update(p, *changes_, length, blob_.display));
      write_only = std::make_shared<const std::vector<PageRange>>(std::move(pages));
      // Marked while it runs: a blob left half-updated is refused to any other update.
      std::map<std::string, std::string> marked = p.metadata;
      marked[kMetaUpdating] = changes_->identity;
      VDISK_RETURN_IF_ERROR(c.set_metadata(marked));
      final_metadata = p.metadata;
      final_metadata->erase(kMetaUpdating);
      (*final_metadata)[kMetaSource] = changes_->identity;
      (*final_metadata)[kMetaSize] = std::to_string(length);
    } else if (blob_.managed) {
      if (!p.exists)
        return not_found(
            fmt::format("azure: {}: the managed disk's blob does not exist (is the disk "
                        "in the ReadyToUpload state, and the SAS current?)",
                        blob_.display));
      if (p.length != length)
        return invalid_argument(
            fmt::format("azure: {}: the managed disk takes exactly {} bytes and this upload is {} "
                        "bytes; create "
                        "the disk with --upload-size-bytes {}",
                        blob_.display, p.length, length, length));
      VDISK_ASSIGN_OR_RETURN(have, c.page_ranges(length));
      if (!options_.resume) {
        for (const PageRange& r : have) {
          VDISK_RETURN_IF_ERROR(c.clear_pages(r.start, r.end - r.start));
          shared_->sent(0);
        }
        shared_->update([&](UploadStats& st) { st.ranges_cleared = have.size(); });
        have.clear();
      }
    } else if (options_.resume && p.exists) {
      VDISK_RETURN_IF_ERROR(check_resumable(p, length, digest));
      VDISK_ASSIGN_OR_RETURN(have, c.page_ranges(length));
      // The blob was created for the same conversion; record this source if it says none.
      if (!identity_.empty() && p.metadata[kMetaSource] != identity_) final_metadata = metadata;
    } else {
      if (p.exists && !options_.overwrite)
        return already_exists(fmt::format(
            "azure: {}: the blob exists ({} bytes); --force replaces it, --resume continues an "
            "interrupted upload of the same conversion",
            blob_.display, p.length));
      VDISK_RETURN_IF_ERROR(c.create_page_blob(length, metadata));
      created = true;
    }
    shared_->update([&](UploadStats& st) {
      st.created = created;
      st.resumed = options_.resume && !created;
    });
    digests_.reset();
    if (keep_digests_)
      digests_ = std::make_shared<remote::WindowDigests>(remote::kVerifyWindowBytes);
    return std::unique_ptr<ByteSink>(new PageBlobSink(
        blob_, options_, length, std::move(have), created, shared_, std::move(clients), digests_,
        stop, std::move(write_only), std::move(final_metadata)));
  }

  UploadStats stats() const override { return shared_->snapshot(); }

  // A managed disk's upload URL offers Put Page, Get Page Ranges and Get Blob Properties only:
  // no Get Blob to read the data back with.
  Status keep_digests() override {
    if (blob_.managed)
      return invalid_argument(fmt::format(
          "azure: {}: a managed disk's upload URL does not allow reading the blob back (verify); "
          "read it once uploaded through a read SAS (az disk grant-access --access-level Read)",
          blob_.display));
    // The digests are of what the sink is given, and an update is given zeros where the blob
    // keeps its unchanged bytes.
    if (options_.update)
      return invalid_argument(fmt::format(
          "azure: {}: --verify compares the blob with what was sent, and --update sends only the "
          "changes; read the blob back with vdconvert convert --to raw URL, or verify a full copy",
          blob_.display));
    keep_digests_ = true;
    return {};
  }

  // Get Page Ranges, then each window's data ranges by ranged GETs (the gaps between them must
  // be zeros: they are digested as such, unread).
  Status verify(std::stop_token stop) override {
    if (!digests_ || !digests_->finished())
      return internal_error(fmt::format(
          "azure: verify {}: no finished upload kept digests (keep_digests before open)",
          blob_.display));
    const std::string what = fmt::format("azure: {} read back", blob_.display);
    const std::uint64_t length = digests_->size();
    const HttpOptions counted = shared_->counting(options_.http);
    VDISK_ASSIGN_OR_RETURN(
        auto clients, http::open_clients<BlobClient>(options_.http.connections,
                                                     [&] { return make_(blob_, counted, stop); }));
    VDISK_ASSIGN_OR_RETURN(BlobProperties p, clients.front()->properties());
    if (!p.exists || p.length != length)
      return io_error(fmt::format(
          "{}: the blob {}, expected {} bytes", what,
          p.exists ? fmt::format("has {} bytes", p.length) : std::string("no longer exists"),
          length));
    VDISK_ASSIGN_OR_RETURN(const std::vector<PageRange> ranges,
                           clients.front()->page_ranges(length));
    const remote::WindowDigests& d = *digests_;
    auto read = [&](std::size_t t, std::size_t w, remote::WindowHasher& h,
                    std::uint64_t& bytes_read) -> Status {
      const auto [start, end] = d.bounds(w);
      auto it = std::upper_bound(ranges.begin(), ranges.end(), start,
                                 [](std::uint64_t v, const PageRange& r) { return v < r.end; });
      std::uint64_t at = start;
      for (; it != ranges.end() && it->start < end; ++it) {
        const std::uint64_t from = std::max(at, it->start);
        const std::uint64_t to = std::min(end, it->end);
        h.zeros(from - at);
        for (std::uint64_t o = from; o < to;) {
          const std::uint64_t n = std::min(to - o, remote::kReadPieceBytes);
          VDISK_ASSIGN_OR_RETURN(const std::string body, clients[t]->get_range(o, n));
          h.data(std::as_bytes(std::span(body.data(), body.size())));
          bytes_read += n;
          o += n;
        }
        at = to;
      }
      h.zeros(end - at);
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
  Status check_resumable(const BlobProperties& p, std::uint64_t length,
                         const std::string& digest) const {
    if (p.blob_type != "PageBlob")
      return invalid_argument(fmt::format("azure: {}: --resume: the blob is a {}, not a page blob",
                                          blob_.display, p.blob_type));
    if (p.length != length)
      return invalid_argument(
          fmt::format("azure: {}: --resume: the blob has {} bytes and this upload {}",
                      blob_.display, p.length, length));
    auto it = p.metadata.find(kMetaJob);
    if (it == p.metadata.end())
      return invalid_argument(
          fmt::format("azure: {}: --resume: the blob was not started by vdconvert (no {} metadata)",
                      blob_.display, kMetaJob));
    if (it->second != digest)
      return invalid_argument(
          fmt::format("azure: {}: --resume: the blob was started by another conversion (input, "
                      "target or options differ)",
                      blob_.display));
    return {};
  }

  BlobUrl blob_;
  AzureBlobOptions options_;
  ClientMaker make_;
  std::string identity_;              // set_source()
  std::optional<ChangeSet> changes_;  // set_source(), an update's
  std::shared_ptr<http::UploadLedger> shared_;
  bool keep_digests_ = false;
  std::shared_ptr<remote::WindowDigests> digests_;  // the last sink's
};

}  // namespace

Result<std::unique_ptr<RemoteOutput>> page_blob_output(AzureBlobOptions options, ClientMaker make) {
  VDISK_ASSIGN_OR_RETURN(BlobUrl blob, parse_blob_url(options.url, options.managed_disk));
  auto out = std::make_unique<PageBlobOutput>(std::move(blob), std::move(options), std::move(make));
  VDISK_RETURN_IF_ERROR(out->validate());
  return std::unique_ptr<RemoteOutput>(std::move(out));
}

}  // namespace azure

Result<std::unique_ptr<RemoteOutput>> azure_page_blob(AzureBlobOptions options) {
  return azure::page_blob_output(std::move(options), azure::default_client_maker());
}

}  // namespace vdisk
