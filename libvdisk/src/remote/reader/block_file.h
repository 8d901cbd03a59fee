// The one read path of every remote source (vdisk/remote.h): a service-specific BlockFetcher
// fetches whole blocks, and block_file() makes a RemoteFile of it with a bounded block cache,
// parallel fetches (one worker and one connection per slot) and read-ahead.
//
//   open_http_source / open_s3_source / open_azure_blob_source / open_ebs_source
//     --> BlockFetcher (HttpFetcher, S3Fetcher, BlobFetcher, EbsFetcher: requests, checks)
//     --> block_file(): cache, workers, read-ahead --> RemoteFile (read_at, allocation)
//
// Guarantees:
// - read_at() fetches the blocks it needs that the cache does not hold, in parallel, and waits
//   for them; blocks other readers are already fetching are waited for, never fetched twice.
// - Memory: the cache holds at most SourceCacheOptions::cache_bytes of blocks (raised to two blocks
//   per slot); a reader waits for room rather than grow it. Read-ahead never evicts a block to
//   make room and never fetches a block the fetcher's map says holds no data, nor one it says
//   is not worth prefetching (BlockFetcher::next_prefetch).
// - A fetch that fails for good fails the read that needs it with its status (the block is not
//   cached: a later read tries again); read-ahead failures are dropped silently.
// - Destruction stops the workers: fetches in flight are cancelled through BlockFetcher::cancel()
//   (the fetchers whose requests take a stop token of their own), then the workers are joined.
#ifndef VDISK_REMOTE_READER_BLOCK_FILE_H_
#define VDISK_REMOTE_READER_BLOCK_FILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/extent.h"
#include "vdisk/properties.h"
#include "vdisk/remote.h"
#include "vdisk/status.h"

namespace vdisk::remote {

// Counters the fetchers and the cache add to (thread-safe).
class SourceCounters {
 public:
  void request(std::uint64_t body_bytes);
  void retry();
  void block_fetched();
  void cache_hit();
  SourceStats snapshot() const;

 private:
  std::atomic<std::uint64_t> requests_{0}, retries_{0}, bytes_{0}, blocks_{0}, hits_{0};
};

class BlockFetcher {
 public:
  virtual ~BlockFetcher() = default;
  virtual std::uint64_t size() const = 0;
  // The fetch unit (> 0); every block is this long but the last, which ends at size().
  virtual std::uint64_t block_bytes() const = 0;
  // How many fetches may run at once; fetch() is called with slot 0..slots()-1, one call per
  // slot at a time (a slot owns its connection).
  virtual std::size_t slots() const = 0;
  // Fills `dst` (the whole block `index`: block_bytes() long, shorter for the last) from slot
  // `slot`'s connection; its requests add to counters(). A failure names the object and the
  // block's offset.
  virtual Status fetch(std::size_t slot, std::uint64_t index, std::span<std::byte> dst) = 0;
  // Whether block `index` may hold data (false: the service's map says it reads as zeros and
  // fetch() is never called for it). Default: every block.
  virtual bool has_data(std::uint64_t index) const;
  // The first block in [index, end) read-ahead may fetch (a block a reader is likely to ask for
  // next), or `end` when none is. Default: the first with has_data(), found block by block. A
  // sparse map answers by search instead (read-ahead runs under the cache's lock); a source
  // opened for an incremental move (EBS with `since`) names changed blocks only, so read-ahead
  // never fetches blocks the move does not read.
  virtual std::uint64_t next_prefetch(std::uint64_t index, std::uint64_t end) const;
  // The map of [offset, offset + length) (inside size()), as RandomAccessFile::allocation.
  // Default: one data extent.
  virtual Status allocation(std::uint64_t offset, std::uint64_t length,
                            std::vector<Extent>& out) const;
  virtual std::string_view kind() const = 0;
  virtual const std::string& name() const = 0;  // the object, redacted
  virtual std::string identity() const { return {}; }
  virtual const ChangeSet* changes() const { return nullptr; }
  // The service's own facts for describe() (kind, object, bytes and block_bytes are added by
  // the file).
  virtual void describe(Properties& /*out*/) const {}
  virtual SourceCounters& counters() = 0;
  // Called once when the file is destroyed, before it joins its workers: fetches in flight
  // should end soon (cancelled), as a fetch has no stop token of its own. Default: nothing (a
  // fetch in flight runs to its end, retries included).
  virtual void cancel() {}
};

// A RemoteFile over `fetcher` (see the guarantees above), with the cache size and read-ahead
// of `options` (its block_bytes is the fetcher's business: choose_block_bytes). The workers
// start here.
std::unique_ptr<RemoteFile> block_file(std::unique_ptr<BlockFetcher> fetcher,
                                       const SourceCacheOptions& options);

// SourceCacheOptions' block size for a source that chooses its own: 0 gives `fallback`;
// otherwise a power of two 4 KiB..16 MiB, else invalid_argument naming `who`.
Result<std::uint64_t> choose_block_bytes(const SourceCacheOptions& options, std::uint64_t fallback,
                                         std::string_view who);

}  // namespace vdisk::remote

#endif  // VDISK_REMOTE_READER_BLOCK_FILE_H_
