// Decompressing byte streams for the initrd reader (see initrd_streams.h).
#include "formats/iso9660/livecd/initrd_streams.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace vdisk::livecd::detail {

namespace {

constexpr std::size_t kInputChunk = 64 * 1024;

bool starts_with(std::span<const std::byte> head, std::initializer_list<unsigned> magic) {
  if (head.size() < magic.size()) return false;
  std::size_t i = 0;
  for (unsigned m : magic)
    if (static_cast<unsigned>(head[i++]) != m) return false;
  return true;
}

// Feeds file bytes [position, end) in chunks.
class FileInput {
 public:
  FileInput(const RandomAccessFile& file, std::uint64_t start)
      : file_(file), next_(start), buf_(kInputChunk) {}
  // Refills when the decoder took everything; returns the unread bytes (empty at the end).
  Result<std::span<const std::byte>> pending() {
    if (pos_ == len_) {
      const std::uint64_t left = file_.size() - next_;
      len_ = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_.size()));
      pos_ = 0;
      if (len_ > 0) {
        VDISK_RETURN_IF_ERROR(file_.read_at(next_, std::span(buf_).first(len_)));
        next_ += len_;
      }
    }
    return std::span<const std::byte>(buf_).subspan(pos_, len_ - pos_);
  }
  void take(std::size_t n) { pos_ += n; }
  // File offset of the first byte the decoder has not taken.
  std::uint64_t offset() const { return next_ - (len_ - pos_); }

 private:
  const RandomAccessFile& file_;
  std::uint64_t next_;
  std::vector<std::byte> buf_;
  std::size_t pos_ = 0, len_ = 0;
};

// Stored bytes: reads and skips go straight to the file.
class PlainStream final : public SegmentStream {
 public:
  PlainStream(const RandomAccessFile& file, std::uint64_t start)
      : file_(file), start_(start), pos_(start) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), file_.size() - pos_));
    if (n == 0) return std::size_t{0};
    VDISK_RETURN_IF_ERROR(file_.read_at(pos_, dst.first(n)));
    pos_ += n;
    return n;
  }
  Result<std::uint64_t> skip(std::uint64_t n) override {
    const std::uint64_t k = std::min<std::uint64_t>(n, file_.size() - pos_);
    pos_ += k;
    return k;
  }
  std::uint64_t consumed() const override { return pos_ - start_; }
  bool finished() const override { return true; }

 private:
  const RandomAccessFile& file_;
  std::uint64_t start_, pos_;
};

// Shared output accounting of the decoders.
class DecoderBase : public SegmentStream {
 public:
  DecoderBase(const RandomAccessFile& file, std::uint64_t start, std::uint64_t max_output,
              std::string what, std::stop_token stop)
      : in_(file, start),
        start_(start),
        max_output_(max_output),
        what_(std::move(what)),
        stop_(std::move(stop)) {}
  std::uint64_t consumed() const override { return in_.offset() - start_; }
  bool finished() const override { return done_; }
  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (done_ || dst.empty()) return std::size_t{0};
    if (stop_.stop_requested()) return cancelled(what_ + ": cancelled");
    if (produced_ >= max_output_)
      return resource_exhausted(fmt::format(
          "{}: decompresses to more than {} bytes (the initrd limit)", what_, max_output_));
    const auto room =
        static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), max_output_ - produced_));
    std::size_t n = 0;
    // A decoder may take input without producing output (headers): loop until some output,
    // the end of the stream, or the end of the input.
    while (n == 0 && !done_) {
      VDISK_ASSIGN_OR_RETURN(n, step(dst.first(room)));
    }
    produced_ += n;
    return n;
  }

 protected:
  // Decodes into dst; returns bytes written; sets done_ at the stream's end.
  virtual Result<std::size_t> step(std::span<std::byte> dst) = 0;
  Status truncated() const {
    return corrupt(
        fmt::format("{}: the compressed stream ends at offset {} before its end "
                    "marker (truncated)",
                    what_, in_.offset()));
  }
  FileInput in_;
  std::uint64_t start_;
  std::uint64_t max_output_;
  std::uint64_t produced_ = 0;
  std::string what_;
  std::stop_token stop_;
  bool done_ = false;
};

class GzipStream final : public DecoderBase {
 public:
  using DecoderBase::DecoderBase;
  ~GzipStream() override {
    if (init_) inflateEnd(&z_);
  }
  Status init() {
    std::memset(&z_, 0, sizeof z_);
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK)
      return internal_error(what_ + ": zlib inflateInit2 failed");
    init_ = true;
    return Status();
  }

 protected:
  Result<std::size_t> step(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const auto src, in_.pending());
    if (src.empty()) return truncated();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(src.data()));
    z_.avail_in = static_cast<uInt>(src.size());
    z_.next_out = reinterpret_cast<Bytef*>(dst.data());
    z_.avail_out = static_cast<uInt>(dst.size());
    const int rc = inflate(&z_, Z_NO_FLUSH);
    in_.take(src.size() - z_.avail_in);
    const std::size_t out = dst.size() - z_.avail_out;
    if (rc == Z_STREAM_END) {
      done_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return corrupt(fmt::format("{}: gzip data at about offset {}: {}", what_, in_.offset(),
                                 z_.msg != nullptr ? z_.msg : "inflate failed"));
    }
    return out;
  }

 private:
  z_stream z_{};
  bool init_ = false;
};

class XzStream final : public DecoderBase {
 public:
  using DecoderBase::DecoderBase;
  ~XzStream() override { lzma_end(&s_); }
  Status init(std::uint64_t memlimit) {
    // One .xz stream (no LZMA_CONCATENATED): the reader resumes after it, as the kernel does.
    const lzma_ret rc = lzma_stream_decoder(&s_, memlimit, 0);
    if (rc != LZMA_OK) return internal_error(what_ + ": lzma_stream_decoder failed");
    return Status();
  }

 protected:
  Result<std::size_t> step(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const auto src, in_.pending());
    if (src.empty()) return truncated();
    s_.next_in = reinterpret_cast<const std::uint8_t*>(src.data());
    s_.avail_in = src.size();
    s_.next_out = reinterpret_cast<std::uint8_t*>(dst.data());
    s_.avail_out = dst.size();
    const lzma_ret rc = lzma_code(&s_, LZMA_RUN);
    in_.take(src.size() - s_.avail_in);
    const std::size_t out = dst.size() - s_.avail_out;
    switch (rc) {
      case LZMA_OK:
      case LZMA_BUF_ERROR:
        break;
      case LZMA_STREAM_END:
        done_ = true;
        break;
      case LZMA_MEMLIMIT_ERROR:
        return resource_exhausted(
            fmt::format("{}: the xz stream needs {} bytes of decoder memory, over the limit of {}",
                        what_, lzma_memusage(&s_), lzma_memlimit_get(&s_)));
      case LZMA_FORMAT_ERROR:
        return corrupt(fmt::format("{}: not an xz stream (bad header)", what_));
      case LZMA_OPTIONS_ERROR:
        return unsupported(fmt::format("{}: xz options this liblzma does not support", what_));
      case LZMA_DATA_ERROR:
        return corrupt(
            fmt::format("{}: xz data at about offset {} is corrupt", what_, in_.offset()));
      default:
        return corrupt(fmt::format("{}: xz decoder error {} at about offset {}", what_,
                                   static_cast<int>(rc), in_.offset()));
    }
    return out;
  }

 private:
  lzma_stream s_ = LZMA_STREAM_INIT;
};

class ZstdStream final : public DecoderBase {
 public:
  using DecoderBase::DecoderBase;
  ~ZstdStream() override { ZSTD_freeDStream(d_); }
  Status init(std::uint64_t memlimit) {
    d_ = ZSTD_createDStream();
    if (d_ == nullptr) return internal_error(what_ + ": ZSTD_createDStream failed");
    int log = 10;
    while (log < 31 && (std::uint64_t{1} << (log + 1)) <= memlimit) ++log;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, log)))
      return internal_error(what_ + ": ZSTD_d_windowLogMax refused");
    return Status();
  }

 protected:
  Result<std::size_t> step(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const auto src, in_.pending());
    if (src.empty()) return truncated();
    ZSTD_inBuffer ib{src.data(), src.size(), 0};
    ZSTD_outBuffer ob{dst.data(), dst.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
    in_.take(ib.pos);
    if (ZSTD_isError(rc))
      return corrupt(fmt::format("{}: zstd data at about offset {}: {}", what_, in_.offset(),
                                 ZSTD_getErrorName(rc)));
    // 0: a frame is complete and flushed. One frame per stream, as for gzip members and .xz
    // streams: the reader resumes after it (a following frame is the next segment).
    if (rc == 0) done_ = true;
    return ob.pos;
  }

 private:
  ZSTD_DStream* d_ = nullptr;
};

}  // namespace

std::string_view compression_name(Compression c) noexcept {
  switch (c) {
    case Compression::none:
      return "none";
    case Compression::gzip:
      return "gzip";
    case Compression::xz:
      return "xz";
    case Compression::zstd:
      return "zstd";
    case Compression::lz4:
      return "lz4";
    case Compression::bzip2:
      return "bzip2";
    case Compression::lzma:
      return "lzma";
    case Compression::lzo:
      return "lzo";
    case Compression::unknown:
      return "unknown";
  }
  return "unknown";
}

Compression sniff_compression(std::span<const std::byte> head) {
  if (is_cpio_magic(head)) return Compression::none;
  // gzip (RFC 1952; 1f 9e is the old "packed" variant the kernel also accepts as gzip).
  if (starts_with(head, {0x1f, 0x8b}) || starts_with(head, {0x1f, 0x9e})) return Compression::gzip;
  if (starts_with(head, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00})) return Compression::xz;
  if (starts_with(head, {0x28, 0xb5, 0x2f, 0xfd})) return Compression::zstd;
  // lz4: the kernel's legacy format (02 21 4c 18) and the frame format (04 22 4d 18).
  if (starts_with(head, {0x02, 0x21, 0x4c, 0x18}) || starts_with(head, {0x04, 0x22, 0x4d, 0x18}))
    return Compression::lz4;
  if (starts_with(head, {0x42, 0x5a, 0x68})) return Compression::bzip2;
  if (starts_with(head, {0x5d, 0x00, 0x00})) return Compression::lzma;
  if (starts_with(head, {0x89, 0x4c, 0x5a, 0x4f})) return Compression::lzo;
  return Compression::unknown;
}

Result<std::unique_ptr<SegmentStream>> open_segment_stream(const RandomAccessFile& file,
                                                           std::uint64_t start, Compression c,
                                                           std::uint64_t max_output,
                                                           std::uint64_t decoder_memory,
                                                           std::string what, std::stop_token stop) {
  if (start > file.size())
    return internal_error(fmt::format("{}: segment start {} past the end", what, start));
  switch (c) {
    case Compression::none:
      return std::unique_ptr<SegmentStream>(std::make_unique<PlainStream>(file, start));
    case Compression::gzip: {
      auto s = std::make_unique<GzipStream>(file, start, max_output, std::move(what), stop);
      VDISK_RETURN_IF_ERROR(s->init());
      return std::unique_ptr<SegmentStream>(std::move(s));
    }
    case Compression::xz: {
      auto s = std::make_unique<XzStream>(file, start, max_output, std::move(what), stop);
      VDISK_RETURN_IF_ERROR(s->init(decoder_memory));
      return std::unique_ptr<SegmentStream>(std::move(s));
    }
    case Compression::zstd: {
      auto s = std::make_unique<ZstdStream>(file, start, max_output, std::move(what), stop);
      VDISK_RETURN_IF_ERROR(s->init(decoder_memory));
      return std::unique_ptr<SegmentStream>(std::move(s));
    }
    default:
      return unsupported(fmt::format("{}: {} compression is not read", what, compression_name(c)));
  }
}

}  // namespace vdisk::livecd::detail
