// Read-back verification of an upload (ConvertOptions::verify_upload, docs/cloud.md "Reading an
// upload back"): while a sink writes, WindowDigests keeps a short digest of each fixed window of
// the object (8 bytes: the first 8 of the window's SHA-256) taken from the bytes the sink already
// holds; zero runs are digested without a buffer, and a window of zeros only costs no hashing (its
// digest is computed once). Once the upload finished, read_back() has each window read back by a
// pool of threads (one client each) and compares: the first window that differs is reported.
//
// Memory: 8 bytes per window while writing (an 8 TiB object in 4 MiB windows: 16 MiB); what the
// read callbacks hold while reading back (their responses).
#ifndef VDISK_REMOTE_READBACK_H_
#define VDISK_REMOTE_READBACK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stop_token>
#include <string_view>
#include <utility>
#include <vector>

#include "checksum/sha256.h"
#include "vdisk/status.h"

namespace vdisk::remote {

// The digest of one window's bytes, fed in order. Zeros are held back as a count, so a window
// that gets zeros only is not hashed when its length is `zero_length` (its digest is `zero`).
class WindowHasher {
 public:
  WindowHasher(std::uint64_t zero_length, std::uint64_t zero_digest)
      : zero_length_(zero_length), zero_digest_(zero_digest) {}
  void data(std::span<const std::byte> bytes);
  void zeros(std::uint64_t n);
  std::uint64_t length() const { return length_; }
  // The digest of everything fed; the hasher starts afresh afterwards.
  std::uint64_t finish();

 private:
  std::uint64_t zero_length_;
  std::uint64_t zero_digest_;
  checksum::Sha256 sha_;
  std::uint64_t length_ = 0;
  std::uint64_t pending_zeros_ = 0;
  bool has_data_ = false;
};

// The first 8 bytes of the SHA-256 of `n` zero bytes, as a big-endian number.
std::uint64_t zero_window_digest(std::uint64_t n);

class WindowDigests {
 public:
  // `window_bytes` > 0: the digest unit (for an EBS snapshot its block size).
  explicit WindowDigests(std::uint64_t window_bytes);

  // The object's bytes, in order, from offset 0.
  void data(std::span<const std::byte> bytes);
  void zeros(std::uint64_t n);
  // Closes the last window (shorter than the others when the object is not a whole number of
  // windows). Nothing may be fed afterwards.
  void finish();

  bool finished() const { return finished_; }
  std::uint64_t window_bytes() const { return window_; }
  std::uint64_t size() const { return size_; }  // bytes fed
  std::size_t count() const { return digests_.size(); }
  // Window i's bytes [first, second).
  std::pair<std::uint64_t, std::uint64_t> bounds(std::size_t i) const;
  std::uint64_t digest(std::size_t i) const { return digests_[i]; }
  // Whether window i held zeros only.
  bool zero(std::size_t i) const;
  // A hasher for reading window i back.
  WindowHasher hasher(std::size_t i) const;

 private:
  void feed_zeros(std::uint64_t n);

  std::uint64_t window_;
  std::uint64_t full_zero_digest_;
  std::vector<std::uint64_t> digests_;
  std::uint64_t size_ = 0;
  WindowHasher current_;
  bool finished_ = false;
};

// The window of the Azure and S3 read-back, and the most one ranged GET asks for (what each
// read-back thread holds).
inline constexpr std::uint64_t kVerifyWindowBytes = 4u << 20;
inline constexpr std::uint64_t kReadPieceBytes = 1u << 20;

// Reads window `window` back from thread `thread` into `hasher` (the window's bytes in order,
// all of them) and adds the bytes it received to `bytes_read`. A failure ends the read-back.
using ReadWindow = std::function<Status(std::size_t thread, std::size_t window,
                                        WindowHasher& hasher, std::uint64_t& bytes_read)>;

// Reads every window of `digests` back with `threads` threads and compares. The bytes read back
// when every window matches; io_error "<what>: the bytes differ from those sent at offset N
// (...)" naming the first window that differs (windows before it are all read), the
// first read failure, or cancelled once `stop` is triggered.
Result<std::uint64_t> read_back(const WindowDigests& digests, std::size_t threads,
                                const ReadWindow& read, std::string_view what,
                                std::stop_token stop);
// The same over windows [first, last) only (a read-back in pages: an EBS snapshot's listing).
Result<std::uint64_t> read_back(const WindowDigests& digests, std::size_t first, std::size_t last,
                                std::size_t threads, const ReadWindow& read, std::string_view what,
                                std::stop_token stop);

}  // namespace vdisk::remote

#endif  // VDISK_REMOTE_READBACK_H_
