// gzip'd OVA members inflated (docs/ova.md, "Compressed files"): a forward stream, and a
// random-access file built on restart points recorded during one checking pass.
#include "formats/ova/gunzip.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <span>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "base/checked.h"

namespace vdisk::ova {
namespace {

constexpr std::size_t kWindow = 32768;      // deflate's history
constexpr std::size_t kInBuf = 256 * 1024;  // compressed bytes read at a time
constexpr int kGzipBits = 16 + MAX_WBITS;   // a gzip member: header, deflate, CRC-32 and ISIZE
constexpr int kRawBits = -MAX_WBITS;        // bare deflate (restarting inside a member)
constexpr std::uint64_t kTrailer = 8;       // CRC-32 and ISIZE after a member's deflate data

const char* zmsg(const z_stream& z) { return z.msg ? z.msg : "inflate error"; }

// A z_stream set up for inflating, ended on destruction.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&z_, kGzipBits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&z_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool ok_ = false;
};

class GunzipStream final : public InputStream {
 public:
  explicit GunzipStream(std::unique_ptr<InputStream> in) : in_(std::move(in)), buf_(kInBuf) {
    name_ = in_->name() + " (gunzip)";
  }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (!inf_.ok()) return internal_error("ova: inflateInit2 failed");
    if (dst.empty() || done_) return std::size_t{0};
    z_stream& z = inf_.z();
    z.next_out = reinterpret_cast<Bytef*>(dst.data());
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(dst.size(), 1u << 30));
    const uInt want = z.avail_out;
    while (z.avail_out == want) {
      if (z.avail_in == 0) {
        VDISK_ASSIGN_OR_RETURN(const std::size_t n, in_->read(buf_));
        if (n == 0) {
          if (!member_ended_)
            return corrupt(fmt::format("ova: {}: gzip data ends inside a member", in_->name()));
          done_ = true;
          break;
        }
        z.next_in = reinterpret_cast<Bytef*>(buf_.data());
        z.avail_in = static_cast<uInt>(n);
      }
      if (member_ended_) {
        inflateReset(&z);
        member_ended_ = false;
      }
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_ended_ = true;
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in == 0)) {
        return corrupt(fmt::format("ova: {}: gzip data is corrupt ({})", in_->name(), zmsg(z)));
      }
    }
    return static_cast<std::size_t>(want - z.avail_out);
  }
  const std::string& name() const override { return name_; }

 private:
  std::unique_ptr<InputStream> in_;
  std::vector<std::byte> buf_;
  Inflater inf_;
  bool member_ended_ = false;
  bool done_ = false;
  std::string name_;
};

// The last kWindow bytes inflated, kept in a buffer of twice that so appending is amortised
// O(1) per byte whatever the size of the pieces.
class History {
 public:
  History() : buf_(2 * kWindow) {}
  void append(std::span<const std::byte> d) {
    if (d.size() >= kWindow) {
      std::memcpy(buf_.data(), d.data() + d.size() - kWindow, kWindow);
      len_ = kWindow;
      return;
    }
    if (len_ + d.size() > buf_.size()) {
      const std::size_t keep = std::min(len_, kWindow);
      std::memmove(buf_.data(), buf_.data() + len_ - keep, keep);
      len_ = keep;
    }
    std::memcpy(buf_.data() + len_, d.data(), d.size());
    len_ += d.size();
  }
  std::vector<std::byte> last() const {
    const std::size_t n = std::min(len_, kWindow);
    return {buf_.begin() + static_cast<std::ptrdiff_t>(len_ - n),
            buf_.begin() + static_cast<std::ptrdiff_t>(len_)};
  }

 private:
  std::vector<std::byte> buf_;
  std::size_t len_ = 0;
};

// Where inflation can start again without the bytes before it.
struct RestartPoint {
  std::uint64_t in = 0;   // compressed offset of the first whole byte to feed
  std::uint64_t out = 0;  // inflated offset of the first byte produced
  int bits = 0;           // bits (0-7) of the byte before `in` that belong to the next block
  bool member = false;    // a member's header starts at `in` (no history needed)
  std::vector<std::byte> history;  // the inflated bytes just before `out`, at most kWindow
};

class GunzipFile final : public RandomAccessFile {
 public:
  GunzipFile(std::shared_ptr<const RandomAccessFile> file, std::string name)
      : file_(std::move(file)), name_(std::move(name)), in_(kInBuf), scratch_(kInBuf) {}

  Status index(std::uint64_t limit, std::uint64_t spacing);

  std::uint64_t size() const override { return size_; }
  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override;
  const std::string& name() const override { return name_; }

 private:
  Status corrupt_at(std::uint64_t at, std::string_view what) const {
    return corrupt(fmt::format("ova: {}: gzip data at offset {}: {}", file_->name(), at, what));
  }
  void add_point(RestartPoint p, std::uint64_t& spacing);
  Status fill() const;
  Status restart(const RestartPoint& p) const;
  Result<std::size_t> produce(std::span<std::byte> out) const;

  std::shared_ptr<const RandomAccessFile> file_;
  std::string name_;
  std::uint64_t size_ = 0;
  std::vector<RestartPoint> points_;  // by `out`; points_[0] is the first member's header

  // The reading cursor, under mu_.
  mutable std::mutex mu_;
  mutable Inflater inf_;
  mutable std::vector<std::byte> in_;
  mutable std::vector<std::byte> scratch_;  // inflated bytes skipped over
  mutable std::uint64_t in_next_ = 0;       // compressed offset after what in_ holds
  mutable std::uint64_t out_ = 0;           // inflated offset of the next byte produced
  mutable std::uint64_t trailer_left_ = 0;  // trailer bytes still to pass over (raw mode)
  mutable bool raw_ = false;
  mutable bool member_ended_ = false;
  mutable bool valid_ = false;
};

void GunzipFile::add_point(RestartPoint p, std::uint64_t& spacing) {
  if (points_.size() == kMaxRestartPoints) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < points_.size(); i += 2) points_[kept++] = std::move(points_[i]);
    points_.resize(kept);
    spacing *= 2;
  }
  points_.push_back(std::move(p));
}

Status GunzipFile::index(std::uint64_t limit, std::uint64_t spacing) {
  const std::uint64_t stored = file_->size();
  if (stored == 0) return corrupt(fmt::format("ova: {}: the gzip'd file is empty", file_->name()));
  Inflater inf;
  if (!inf.ok()) return internal_error("ova: inflateInit2 failed");
  z_stream& z = inf.z();
  std::vector<std::byte> out(kInBuf);
  History history;
  std::uint64_t pos = 0;    // compressed bytes read
  std::uint64_t total = 0;  // inflated bytes
  std::uint64_t last = 0;   // `out` of the newest point
  bool ended = false;
  points_.push_back({0, 0, 0, true, {}});
  for (;;) {
    if (z.avail_in == 0) {
      if (pos == stored) break;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(in_.size(), stored - pos));
      VDISK_RETURN_IF_ERROR(file_->read_at(pos, std::span(in_).first(n)));
      z.next_in = reinterpret_cast<Bytef*>(in_.data());
      z.avail_in = static_cast<uInt>(n);
      pos += n;
    }
    const std::uint64_t at = pos - z.avail_in;
    if (ended) {
      inflateReset(&z);
      ended = false;
      if (total - last >= spacing) {
        add_point({at, total, 0, true, {}}, spacing);
        last = total;
      }
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_BLOCK);
    const std::size_t n = out.size() - z.avail_out;
    total += n;
    if (total > limit)
      return resource_exhausted(
          fmt::format("ova: {}: the gzip'd file inflates to more than {} bytes, more than the "
                      "disk it holds can need",
                      file_->name(), limit));
    history.append(std::span(out).first(n));
    if (rc == Z_STREAM_END) {
      ended = true;
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) continue;
    if (rc != Z_OK) return corrupt_at(at, zmsg(z));
    if ((z.data_type & 128) && !(z.data_type & 64) && total - last >= spacing) {
      add_point({pos - z.avail_in, total, z.data_type & 7, false, history.last()}, spacing);
      last = total;
    }
  }
  if (!ended) return corrupt_at(stored, "the data ends inside a member");
  size_ = total;
  return {};
}

Status GunzipFile::fill() const {
  const std::uint64_t stored = file_->size();
  if (in_next_ >= stored)
    return corrupt_at(in_next_, "the data ends early (did the file change while open?)");
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(in_.size(), stored - in_next_));
  VDISK_RETURN_IF_ERROR(file_->read_at(in_next_, std::span(in_).first(n)));
  z_stream& z = inf_.z();
  z.next_in = reinterpret_cast<Bytef*>(in_.data());
  z.avail_in = static_cast<uInt>(n);
  in_next_ += n;
  return {};
}

Status GunzipFile::restart(const RestartPoint& p) const {
  valid_ = false;
  z_stream& z = inf_.z();
  if (inflateReset2(&z, p.member ? kGzipBits : kRawBits) != Z_OK)
    return internal_error("ova: inflateReset2 failed");
  z.avail_in = 0;
  in_next_ = p.in;
  if (p.bits) {
    std::byte b{};
    VDISK_RETURN_IF_ERROR(file_->read_at(p.in - 1, std::span(&b, 1)));
    if (inflatePrime(&z, p.bits, static_cast<int>(b) >> (8 - p.bits)) != Z_OK)
      return internal_error("ova: inflatePrime failed");
  }
  if (!p.history.empty() &&
      inflateSetDictionary(&z, reinterpret_cast<const Bytef*>(p.history.data()),
                           static_cast<uInt>(p.history.size())) != Z_OK)
    return internal_error("ova: inflateSetDictionary failed");
  raw_ = !p.member;
  member_ended_ = false;
  trailer_left_ = 0;
  out_ = p.out;
  valid_ = true;
  return {};
}

Result<std::size_t> GunzipFile::produce(std::span<std::byte> out) const {
  z_stream& z = inf_.z();
  for (;;) {
    if (z.avail_in == 0) VDISK_RETURN_IF_ERROR(fill());
    if (trailer_left_ > 0) {
      const auto k = static_cast<uInt>(std::min<std::uint64_t>(trailer_left_, z.avail_in));
      z.next_in += k;
      z.avail_in -= k;
      trailer_left_ -= k;
      continue;
    }
    if (member_ended_) {
      inflateReset2(&z, kGzipBits);
      raw_ = false;
      member_ended_ = false;
    }
    const std::uint64_t at = in_next_ - z.avail_in;
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size(), 1u << 30));
    const uInt want = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t n = want - z.avail_out;
    out_ += n;
    if (rc == Z_STREAM_END) {
      member_ended_ = true;
      if (raw_) trailer_left_ = kTrailer;
    } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in == 0)) {
      return corrupt_at(at, zmsg(z));
    }
    if (n > 0) return n;
  }
}

Status GunzipFile::read_at(std::uint64_t offset, std::span<std::byte> dst) const {
  if (!detail::range_inside(offset, dst.size(), size_))
    return out_of_range(fmt::format("{}: read of {} bytes at {} past the end ({} bytes)", name_,
                                    dst.size(), offset, size_));
  if (dst.empty()) return {};
  std::lock_guard lock(mu_);
  if (!inf_.ok()) return internal_error("ova: inflateInit2 failed");
  const auto after =
      std::upper_bound(points_.begin(), points_.end(), offset,
                       [](std::uint64_t o, const RestartPoint& p) { return o < p.out; });
  const RestartPoint& p = *std::prev(after);
  if (!valid_ || out_ > offset || p.out > out_) VDISK_RETURN_IF_ERROR(restart(p));
  Status st;
  while (st.ok() && out_ < offset) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(scratch_.size(), offset - out_));
    auto k = produce(std::span(scratch_).first(n));
    if (!k.ok()) st = k.status();
  }
  for (std::size_t done = 0; st.ok() && done < dst.size();) {
    auto k = produce(dst.subspan(done));
    if (k.ok())
      done += *k;
    else
      st = k.status();
  }
  if (!st.ok()) valid_ = false;
  return st;
}

}  // namespace

std::unique_ptr<InputStream> gunzip_stream(std::unique_ptr<InputStream> in) {
  return std::make_unique<GunzipStream>(std::move(in));
}

Result<std::unique_ptr<RandomAccessFile>> gunzip_file(std::shared_ptr<const RandomAccessFile> file,
                                                      std::uint64_t limit, std::string name,
                                                      std::uint64_t spacing) {
  auto f = std::make_unique<GunzipFile>(std::move(file), std::move(name));
  VDISK_RETURN_IF_ERROR(f->index(limit, std::max<std::uint64_t>(spacing, 1)));
  return std::unique_ptr<RandomAccessFile>(std::move(f));
}

}  // namespace vdisk::ova
