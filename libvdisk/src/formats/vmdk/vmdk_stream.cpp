// streamOptimized VMDK from a stream: marker walk, grains placed by LBA, bounded reorder window.
// See vmdk_stream.h for the rules; layouts: VMware technote
// "Stream-Optimized Compressed Sparse Extents"; docs/vmdk.md §1.
#include "formats/vmdk/vmdk_stream.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "base/checked.h"
#include "base/endian.h"
#include "vdisk/vmdk.h"
#include "formats/vmdk/vmdk_extent.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/vmdk/vmdk_stream_end.h"

namespace vdisk::vmdk {
namespace {

constexpr std::uint64_t kNoGrain = ~std::uint64_t{0};

Status discard(InputStream& in, std::uint64_t bytes, std::uint64_t at, std::string_view what) {
  std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 1u << 20)));
  while (bytes > 0) {
    const auto part =
        std::span(buf).first(static_cast<std::size_t>(std::min<std::uint64_t>(bytes, buf.size())));
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(in, part));
    if (n < part.size()) return corrupt_at("vmdk", what, at, "the stream ends inside it");
    bytes -= n;
    at += n;
  }
  return {};
}

// Which grains have arrived (placed mode, to refuse a grain that comes twice): one bit per
// grain, in 4 KiB pages made on first use, so memory follows where grains are rather than the
// capacity (up to 2^40 grains). Real disks touch few pages (64 KiB grains: a page per 2 GiB);
// past kMaxPages (64 MiB) the stream is refused as too scattered.
class GrainSet {
 public:
  static constexpr std::uint64_t kPageBits = 1u << 15;
  static constexpr std::size_t kMaxPages = 16384;

  // True when `g` was not in the set (and is now); false when it already was.
  Result<bool> insert(std::uint64_t g) {
    auto it = pages_.find(g / kPageBits);
    if (it == pages_.end()) {
      if (pages_.size() >= kMaxPages)
        return resource_exhausted(fmt::format(
            "vmdk: stream: grains are scattered over more than {} MiB of the arrival bitmap; save "
            "the image to a file and convert the file",
            kMaxPages * kPageBits / 8 >> 20));
      it = pages_.emplace(g / kPageBits, std::make_unique<std::uint64_t[]>(kPageBits / 64)).first;
    }
    auto& page = it->second;
    std::uint64_t& word = page[(g % kPageBits) / 64];
    const std::uint64_t bit = std::uint64_t{1} << (g % 64);
    if (word & bit) return false;
    word |= bit;
    return true;
  }

  bool contains(std::uint64_t g) const {
    auto it = pages_.find(g / kPageBits);
    return it != pages_.end() && (it->second[(g % kPageBits) / 64] >> (g % 64) & 1) != 0;
  }

 private:
  std::unordered_map<std::uint64_t, std::unique_ptr<std::uint64_t[]>> pages_;
};

class StreamOptimizedSource final : public StreamSource, public PlacedStream {
 public:
  StreamOptimizedSource(std::unique_ptr<InputStream> in, const SparseHeader& h,
                        std::uint64_t in_pos, std::optional<std::vector<std::uint64_t>> allocated,
                        std::uint64_t window, DiagnosticFn on_diagnostic)
      : in_(std::move(in)),
        name_(in_->name()),
        on_diagnostic_(std::move(on_diagnostic)),
        h_(h),
        grain_(h.grain_bytes()),
        size_(h.capacity * kSector),
        grains_(detail::div_ceil(h.capacity, h.grain_size)),
        in_pos_(in_pos),
        mapped_(allocated.has_value()),
        allocated_(allocated.value_or(std::vector<std::uint64_t>{})),
        window_(window),
        end_check_(h, name_) {
    if (mapped_) known_until_ = grains_;
  }

  std::optional<std::uint64_t> size() const override { return size_; }
  std::string_view format() const override { return "vmdk"; }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    if (placing_) return internal_error("vmdk: stream: read() after placed reading");
    std::size_t pos = 0;
    while (pos < dst.size()) {
      const auto rest = dst.subspan(pos);
      VDISK_ASSIGN_OR_RETURN(const StreamRun r, next_run(rest, rest.size()));
      if (r.kind == StreamRun::Kind::end) break;
      if (r.kind == StreamRun::Kind::zero)
        std::memset(rest.data(), 0, static_cast<std::size_t>(r.length));
      pos += static_cast<std::size_t>(r.length);
    }
    return pos;
  }

  Result<StreamRun> next(std::span<std::byte> dst) override {
    if (placing_) return internal_error("vmdk: stream: next() after placed reading");
    return next_run(dst, ~std::uint64_t{0});
  }

  // Placed mode: grains as they come, no window (PlacedStream in vdisk/block.h).
  PlacedStream* placed() override { return this; }

  Result<PlacedPiece> next_piece() override {
    if (!placing_) {
      if (out_pos_ != 0 || !pending_.empty())
        return internal_error("vmdk: stream: placed reading after ordered reading");
      placing_ = true;
    }
    while (!eos_) {
      VDISK_RETURN_IF_ERROR(pump());
      if (piece_) {
        PlacedPiece p = std::move(*piece_);
        piece_.reset();
        return p;
      }
    }
    VDISK_RETURN_IF_ERROR(drain_trailing());
    if (mapped_ && arrived_ != allocated_.size()) {
      for (const std::uint64_t g : allocated_)
        if (!seen_.contains(g))
          return corrupt_at("vmdk", "stream", in_pos_,
                            fmt::format("grain {} (LBA {}) is in the grain table but never arrived",
                                        g, g * h_.grain_size));
    }
    return PlacedPiece{};
  }

  Status decode(const PlacedPiece& piece, std::span<std::byte> out) const override {
    if (out.size() != piece.length)
      return internal_error(fmt::format("vmdk: stream: decode of a {}-byte grain into {} bytes",
                                        piece.length, out.size()));
    return inflate(piece.offset / grain_, piece.stored, out, piece.stream_offset);
  }

 private:
  // The next run from out_pos_: as many consecutive grain bytes as fit in dst (stopping before
  // the first grain known to be absent), or, when the disk at out_pos_ holds no grain, a zero
  // run of at most `zero_cap` bytes up to the next grain that exists or may still arrive.
  Result<StreamRun> next_run(std::span<std::byte> dst, std::uint64_t zero_cap) {
    if (out_pos_ >= size_) {
      // Drain the rest (footer, EOS) so a late grain or a bad footer is still reported.
      while (!eos_) VDISK_RETURN_IF_ERROR(pump());
      VDISK_RETURN_IF_ERROR(drain_trailing());
      return StreamRun{};
    }
    if (dst.empty()) return internal_error("vmdk: stream: next() with an empty buffer");
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), size_ - out_pos_));
    std::size_t pos = 0;
    while (pos < n) {
      const std::uint64_t g = out_pos_ / grain_;
      const std::uint64_t off = out_pos_ % grain_;
      const std::uint64_t glen = std::min(grain_, size_ - g * grain_);
      if (cur_grain_ != g) {
        if (auto it = pending_.find(g); it != pending_.end()) {
          cur_.resize(static_cast<std::size_t>(glen));
          VDISK_RETURN_IF_ERROR(inflate(g, it->second.data, cur_, it->second.at));
          pending_bytes_ -= it->second.data.size();
          pending_.erase(it);
          cur_grain_ = g;
        } else {
          VDISK_ASSIGN_OR_RETURN(const std::uint64_t zero_end, absent_until(g));
          if (zero_end == kNoGrain) continue;  // pumped a marker; look again
          if (pos > 0) break;                  // return the data first
          const std::uint64_t end = std::min(size_, zero_end * grain_);
          const std::uint64_t k = std::min(end - out_pos_, zero_cap);
          out_pos_ += k;
          return StreamRun{StreamRun::Kind::zero, k};
        }
      }
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(glen - off, n - pos));
      std::memcpy(dst.data() + pos, cur_.data() + off, k);
      pos += k;
      out_pos_ += k;
    }
    return StreamRun{StreamRun::Kind::data, pos};
  }

  // Inflates grain `g` (its marker at stream offset `at`) into `out`, the grain's bytes inside
  // the disk: the last grain may be stored whole (inflate_last_grain), as the file reader takes it.
  Status inflate(std::uint64_t g, std::span<const std::byte> stored, std::span<std::byte> out,
                 std::uint64_t at) const {
    if (out.size() == grain_) return inflate_grain(stored, out, at);
    VDISK_ASSIGN_OR_RETURN(const bool dropped, inflate_last_grain(stored, out, grain_, at));
    if (dropped && on_diagnostic_ && !tail_warned_.exchange(true))
      on_diagnostic_(
          Diagnostic{Diagnostic::Level::warning, last_grain_warning(name_, g, at, h_.capacity)});
    return {};
  }

  struct Held {
    std::vector<std::byte> data;  // compressed bytes
    std::uint64_t at = 0;         // stream offset of the marker, for messages
  };

  // Grain `g` is not held. Returns the grain index up to which the disk is known to hold no
  // grain (exclusive, > g), or kNoGrain after reading one more marker.
  Result<std::uint64_t> absent_until(std::uint64_t g) {
    const std::uint64_t next_held = pending_.empty() ? grains_ : pending_.begin()->first;
    if (mapped_) {
      auto it = std::lower_bound(allocated_.begin(), allocated_.end(), g);
      if (it == allocated_.end() || *it != g) return it == allocated_.end() ? grains_ : *it;
      if (eos_)
        return corrupt_at("vmdk", "stream", in_pos_,
                          fmt::format("grain {} (LBA {}) is in the grain table but never arrived",
                                      g, g * h_.grain_size));
      if (pending_bytes_ > window_) return out_of_window(g);
      VDISK_RETURN_IF_ERROR(pump());
      return kNoGrain;
    }
    if (eos_) return next_held;
    if (g < known_until_) return std::min(next_held, known_until_);
    if (pending_bytes_ > window_) {
      // Decide: no grain before the first held one. A later one there fails in pump().
      known_until_ = next_held;
      guessed_ = true;
      return next_held;
    }
    VDISK_RETURN_IF_ERROR(pump());
    return kNoGrain;
  }

  Status out_of_window(std::uint64_t g) const {
    return resource_exhausted(fmt::format(
        "vmdk: stream: grain {} (LBA {}) is needed next but more than the {} MiB reorder window "
        "of later grains comes before it in the stream (offset {}); save the image to a file and "
        "convert the file",
        g, g * h_.grain_size, window_ >> 20, in_pos_));
  }

  // Reads what follows the end of the stream (qemu-img pads its files with zeros to a 64 KiB
  // multiple) so that the writer of a pipe is not killed by SIGPIPE when we finish first. The
  // bytes are ignored, as qemu-img ignores them; at most kStreamMaxTrailingBytes are read, so an
  // endless input cannot keep the conversion from ending.
  Status drain_trailing() {
    if (drained_) return {};
    drained_ = true;
    std::vector<std::byte> buf(64 * 1024);
    std::uint64_t total = 0;
    bool at_eof = false;
    while (total < kStreamMaxTrailingBytes) {
      VDISK_ASSIGN_OR_RETURN(const std::size_t r, in_->read(buf));
      if ((at_eof = r == 0)) break;
      total += r;
      if (h_.gd_at_end() && total >= kSector) break;
    }
    if (h_.gd_at_end()) {
      // The file reader finds the footer in the last three whole sectors.
      if (total >= kSector)
        return corrupt_at("vmdk", "stream", in_pos_,
                          fmt::format("expected the end after the end-of-stream marker (the last "
                                      "three sectors are footer marker, footer, EOS), found at "
                                      "least {} more bytes",
                                      total));
      return {};
    }
    // As the file reader, a grain directory the header places past the end is corrupt.
    const std::uint64_t length = in_pos_ + total;
    const auto gd_at = detail::checked_mul(h_.gd_offset, kSector);
    if (at_eof && (!gd_at || !detail::range_inside(*gd_at, h_.gd_entries() * 4, length)))
      return corrupt_at("vmdk", "grain directory", gd_at.value_or(0),
                        fmt::format("{} entries at sector {} lie past the end of {} ({} bytes)",
                                    h_.gd_entries(), h_.gd_offset, name_, length));
    return {};
  }

  // Reads one marker and what follows it.
  Status pump() {
    std::array<std::byte, kMarkerSize> m{};
    const std::uint64_t at = in_pos_;
    VDISK_ASSIGN_OR_RETURN(const std::size_t r, read_full(*in_, m));
    in_pos_ += r;
    if (r == 0 || (r < kGrainMarkerHeader && std::all_of(m.begin(), m.begin() + r, [](std::byte b) {
                     return b == std::byte{0};
                   }))) {
      if (h_.gd_at_end())
        return corrupt_at("vmdk", "stream", at, "the stream ends without an end-of-stream marker");
      eos_ = true;  // qemu-img's and open-vmdk's files end after their last grain
      return {};
    }
    if (r < 16) return corrupt_at("vmdk", "marker", at, fmt::format("truncated: {} bytes", r));
    const Marker mk = decode_marker(m);
    if (mk.is_grain()) return take_grain(mk, m, r, at);
    const auto bytes = detail::checked_mul(mk.value, kSector);
    if (r < kMarkerSize || !bytes)
      return corrupt_at("vmdk", "marker", at, "truncated metadata marker");
    switch (static_cast<MarkerType>(mk.type)) {
      case MarkerType::eos:
        eos_ = true;
        return h_.gd_at_end() ? end_check_.at_eos(mk, at) : Status{};
      case MarkerType::grain_table:
        // The file reader reads a GT's entries wherever a GD entry points, whatever the marker
        // before it announces; the entries must be there.
        if (*bytes >= std::uint64_t{h_.num_gtes_per_gt} * 4) return take_table(*bytes, at);
        break;
      case MarkerType::grain_directory:
        if (h_.gd_at_end()) return take_directory(*bytes, at);
        break;
      case MarkerType::footer:
        // Only GD_AT_END images use their footer (the file reader ignores it otherwise).
        if (h_.gd_at_end() && *bytes >= kSector) return take_footer(*bytes, at);
        break;
      default:
        break;
    }
    VDISK_RETURN_IF_ERROR(discard(*in_, *bytes, in_pos_, "metadata after a marker"));
    in_pos_ += *bytes;
    return {};
  }

  Status take_grain(const Marker& mk, std::span<const std::byte> first, std::size_t r,
                    std::uint64_t at) {
    const std::uint64_t limit = 2 * grain_ + kCompressedSlackBytes;
    if (mk.size > limit)
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("compressed size {} is outside 1..{}", mk.size, limit));
    if (mk.value % h_.grain_size != 0 || mk.value >= h_.capacity)
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("LBA {} is not the start of a grain inside the {} sector disk",
                                    mk.value, h_.capacity));
    const std::uint64_t g = mk.value / h_.grain_size;
    if (h_.gd_at_end()) end_check_.grain(g, at);
    const std::uint64_t total = kGrainMarkerHeader + mk.size;
    Held held;
    held.at = at;
    held.data.resize(mk.size);
    const std::size_t have = std::min<std::size_t>(r - kGrainMarkerHeader, mk.size);
    std::memcpy(held.data.data(), first.data() + kGrainMarkerHeader, have);
    if (have < mk.size) {
      if (r < kMarkerSize)
        return corrupt_at("vmdk", "compressed grain", at, "the stream ends inside it");
      VDISK_ASSIGN_OR_RETURN(const std::size_t got,
                             read_full(*in_, std::span(held.data).subspan(have)));
      in_pos_ += got;
      if (got < mk.size - have)
        return corrupt_at("vmdk", "compressed grain", at, "the stream ends inside it");
      // Padding to the next sector (may be cut short at the very end of the stream).
      const std::uint64_t pad = detail::div_ceil(total, kSector) * kSector - total;
      std::array<std::byte, kSector> scratch{};
      VDISK_ASSIGN_OR_RETURN(const std::size_t p, read_full(*in_, std::span(scratch).first(pad)));
      in_pos_ += p;
    }
    if (placing_) return place_grain(g, std::move(held));
    if (g * grain_ < out_pos_ || g == cur_grain_) {
      if (guessed_)
        return resource_exhausted(fmt::format(
            "vmdk: stream: grain {} (LBA {}) at offset {} arrives after the output passed it: the "
            "grains are out of order by more than the {} MiB reorder window; save the image to a "
            "file and convert the file",
            g, mk.value, at, window_ >> 20));
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("grain {} (LBA {}) appears twice", g, mk.value));
    }
    if (pending_.count(g))
      return corrupt_at("vmdk", "grain marker", at,
                        fmt::format("grain {} (LBA {}) appears twice", g, mk.value));
    if (mapped_ && !std::binary_search(allocated_.begin(), allocated_.end(), g))
      return corrupt_at(
          "vmdk", "grain marker", at,
          fmt::format("grain {} (LBA {}) is not in the grain tables at the front", g, mk.value));
    pending_bytes_ += held.data.size();
    if (!mapped_) since_table_.push_back({at / kSector, g});  // (window mode only)
    pending_.emplace(g, std::move(held));
    return {};
  }

  // Placed mode: hands grain `g` out as the next piece once it is known to be new.
  Status place_grain(std::uint64_t g, Held held) {
    if (mapped_ && !std::binary_search(allocated_.begin(), allocated_.end(), g))
      return corrupt_at("vmdk", "grain marker", held.at,
                        fmt::format("grain {} (LBA {}) is not in the grain tables at the front", g,
                                    g * h_.grain_size));
    VDISK_ASSIGN_OR_RETURN(const bool fresh, seen_.insert(g));
    if (!fresh)
      return corrupt_at("vmdk", "grain marker", held.at,
                        fmt::format("grain {} (LBA {}) appears twice", g, g * h_.grain_size));
    ++arrived_;
    PlacedPiece p;
    p.offset = g * grain_;
    p.length = std::min(grain_, size_ - p.offset);
    p.stored = std::move(held.data);
    p.stream_offset = held.at;
    piece_ = std::move(p);
    return {};
  }

  // A GT marker (VMware layout): learn which table it is from the grains it points to.
  Status take_table(std::uint64_t bytes, std::uint64_t at) {
    std::vector<std::byte> raw(static_cast<std::size_t>(std::uint64_t{h_.num_gtes_per_gt} * 4));
    const std::uint64_t start = in_pos_;
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in_, raw));
    in_pos_ += n;
    if (n < raw.size()) return corrupt_at("vmdk", "grain table", at, "the stream ends inside it");
    VDISK_RETURN_IF_ERROR(discard(*in_, bytes - raw.size(), in_pos_, "metadata after a marker"));
    in_pos_ += bytes - raw.size();
    if (h_.gd_at_end()) end_check_.table(start / kSector, raw);
    if (mapped_ || placing_) return {};
    std::optional<std::uint64_t> table;
    bool usable = true;
    for (std::uint64_t i = 0; i < h_.num_gtes_per_gt && usable; ++i) {
      const std::uint32_t e = detail::load_le32(std::span<const std::byte>(raw).subspan(i * 4));
      if (e == 0 || (e == 1 && h_.zeroed_grains())) continue;
      auto it = std::lower_bound(since_table_.begin(), since_table_.end(), std::uint64_t{e},
                                 [](const auto& p, std::uint64_t s) { return p.first < s; });
      if (it == since_table_.end() || it->first != e || it->second % h_.num_gtes_per_gt != i) {
        usable = false;
        break;
      }
      const std::uint64_t t = it->second / h_.num_gtes_per_gt;
      if (table && *table != t) usable = false;
      table = t;
    }
    since_table_.clear();
    if (usable && table) known_until_ = std::max(known_until_, (*table + 1) * h_.num_gtes_per_gt);
    return {};
  }

  // VMware layout: the footer after a footer marker (`bytes` of metadata, the footer first).
  // Checked as the file reader checks the footer it finds at the end of the file.
  Status take_footer(std::uint64_t bytes, std::uint64_t at) {
    std::array<std::byte, kSector> raw{};
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in_, raw));
    in_pos_ += n;
    if (n < raw.size()) return corrupt_at("vmdk", "footer", at, "the stream ends inside it");
    VDISK_ASSIGN_OR_RETURN(SparseHeader f, decode_sparse_header(raw, at + kSector));
    if (f.gd_at_end())
      return corrupt_at("vmdk", "footer", at + kSector, "the footer's gdOffset is GD_AT_END too");
    VDISK_RETURN_IF_ERROR(check_footer_agrees(h_, f, at + kSector));
    VDISK_RETURN_IF_ERROR(discard(*in_, bytes - kSector, in_pos_, "metadata after a marker"));
    in_pos_ += bytes - kSector;
    end_check_.footer(f, at, in_pos_);
    return {};
  }

  // VMware layout: the grain directory after a GD marker (`bytes` of metadata).
  Status take_directory(std::uint64_t bytes, std::uint64_t at) {
    const std::uint64_t gd_bytes = h_.gd_entries() * 4;
    if (gd_bytes > kMaxGdBytes)
      return resource_exhausted(
          fmt::format("vmdk: {}: grain directory of {} bytes exceeds the {} byte limit", name_,
                      gd_bytes, kMaxGdBytes));
    if (bytes < gd_bytes)
      return corrupt_at(
          "vmdk", "grain directory marker", at,
          fmt::format("expected at least {} sectors for {} entries, found {}",
                      detail::div_ceil(gd_bytes, kSector), h_.gd_entries(), bytes / kSector));
    std::vector<std::byte> raw(static_cast<std::size_t>(gd_bytes));
    const std::uint64_t start = in_pos_;
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in_, raw));
    in_pos_ += n;
    if (n < raw.size())
      return corrupt_at("vmdk", "grain directory", start, "the stream ends inside it");
    VDISK_RETURN_IF_ERROR(discard(*in_, bytes - gd_bytes, in_pos_, "metadata after a marker"));
    in_pos_ += bytes - gd_bytes;
    end_check_.directory(start / kSector, raw);
    return {};
  }

  std::unique_ptr<InputStream> in_;
  std::string name_;
  DiagnosticFn on_diagnostic_;
  mutable std::atomic<bool> tail_warned_{false};  // last_grain_warning() given
  SparseHeader h_;
  std::uint64_t grain_;
  std::uint64_t size_;
  std::uint64_t grains_;
  std::uint64_t in_pos_;
  bool mapped_;
  std::vector<std::uint64_t> allocated_;  // mapped mode: sorted grain numbers
  std::uint64_t window_;
  std::uint64_t out_pos_ = 0;
  std::uint64_t known_until_ = 0;  // grains below this that are not held do not exist
  bool guessed_ = false;           // known_until_ was raised by a full window
  bool eos_ = false;
  bool drained_ = false;  // drain_trailing() has run
  std::map<std::uint64_t, Held> pending_;
  std::uint64_t pending_bytes_ = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> since_table_;  // (marker sector, grain)
  std::vector<std::byte> cur_;
  std::uint64_t cur_grain_ = kNoGrain;
  StreamEndCheck end_check_;  // VMware layout (GD_AT_END): what the end must agree with
  // Placed mode.
  bool placing_ = false;
  std::optional<PlacedPiece> piece_;  // the grain pump() just read
  GrainSet seen_;
  std::uint64_t arrived_ = 0;
};

// The grains listed by GD + GTs inside `front` (bytes 0..overhead), or nullopt when they are not
// all there (VMware layout, or tables after the grains).
std::optional<std::vector<std::uint64_t>> front_tables(const SparseHeader& h,
                                                       std::span<const std::byte> front) {
  if (h.gd_at_end() || h.gd_offset == 0) return std::nullopt;
  const std::uint64_t entries = h.gd_entries();
  const auto gd_at = detail::checked_mul(h.gd_offset, kSector);
  if (!gd_at || !detail::range_inside(*gd_at, entries * 4, front.size())) return std::nullopt;
  const std::uint64_t gt_bytes = std::uint64_t{h.num_gtes_per_gt} * 4;
  const std::uint64_t grains = detail::div_ceil(h.capacity, h.grain_size);
  std::vector<std::uint64_t> out;
  for (std::uint64_t t = 0; t < entries; ++t) {
    const std::uint32_t gde = detail::load_le32(front.subspan(*gd_at + t * 4));
    if (gde == 0) continue;
    const std::uint64_t at = std::uint64_t{gde} * kSector;
    if (!detail::range_inside(at, gt_bytes, front.size())) return std::nullopt;
    for (std::uint64_t i = 0; i < h.num_gtes_per_gt; ++i) {
      const std::uint32_t e = detail::load_le32(front.subspan(at + i * 4));
      if (e == 0 || (e == 1 && h.zeroed_grains())) continue;
      const std::uint64_t g = t * h.num_gtes_per_gt + i;
      if (g >= grains || e < h.overhead) return std::nullopt;  // not a usable table
      out.push_back(g);
    }
  }
  return out;  // ascending: tables and entries in order
}

}  // namespace

Result<std::unique_ptr<StreamSource>> open_stream_optimized(std::unique_ptr<InputStream> in,
                                                            const OpenOptions& options,
                                                            std::uint64_t window_bytes) {
  std::array<std::byte, kHeaderSize> head{};
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(*in, head));
  if (n >= 4 && n < kHeaderSize && detail::load_le32(head) == kSparseMagic)
    return corrupt_at("vmdk", "sparse header", 0,
                      fmt::format("the stream ends after {} bytes of the 512-byte header", n));
  if (n < kHeaderSize || detail::load_le32(head) != kSparseMagic)
    return unsupported(fmt::format(
        "vmdk: {}: only streamOptimized VMDKs (one file starting with a KDMV header) can be read "
        "from a stream; save the image and its extent files to disk and convert the descriptor",
        in->name()));
  VDISK_ASSIGN_OR_RETURN(SparseHeader h, decode_sparse_header(head, 0));
  if (!h.compressed() || !h.markers())
    return unsupported(fmt::format(
        "vmdk: {}: this sparse VMDK is not streamOptimized (flags 0x{:08x}); its grains are "
        "addressed by offset, so save it to a file first",
        in->name(), h.flags));
  const auto front_bytes = detail::checked_mul(h.overhead, kSector);
  if (!front_bytes || *front_bytes < kHeaderSize)
    return corrupt_at(
        "vmdk", "sparse header", 0,
        fmt::format("overhead of {} sectors leaves no room for the header", h.overhead));
  std::optional<std::vector<std::uint64_t>> allocated;
  if (*front_bytes <= kStreamMaxFrontBytes) {
    std::vector<std::byte> front(static_cast<std::size_t>(*front_bytes));
    std::memcpy(front.data(), head.data(), kHeaderSize);
    VDISK_ASSIGN_OR_RETURN(const std::size_t m,
                           read_full(*in, std::span(front).subspan(kHeaderSize)));
    if (m < front.size() - kHeaderSize)
      return corrupt_at(
          "vmdk", "stream", kHeaderSize + m,
          fmt::format("the stream ends before the first grain at sector {}", h.overhead));
    if (h.descriptor_offset != 0 && h.descriptor_size != 0 &&
        detail::range_inside(h.descriptor_offset, h.descriptor_size, h.overhead)) {
      const auto text = std::string_view(reinterpret_cast<const char*>(front.data()), front.size())
                            .substr(h.descriptor_offset * kSector, h.descriptor_size * kSector);
      auto d = parse_descriptor(text.substr(0, text.find('\0')));
      if (!d.ok()) {
        detail::diagnose(
            options, Diagnostic::Level::warning,
            fmt::format("vmdk: {}: embedded descriptor: {}", in->name(), d.status().message()));
      } else if (auto hint = d->get("parentFileNameHint"); hint && !hint->empty()) {
        return unsupported(fmt::format(
            "vmdk: {}: the image has a parent ('{}'), which a stream cannot reach; save it next to "
            "its parent and convert the file",
            in->name(), *hint));
      }
    }
    allocated = front_tables(h, front);
  } else {
    VDISK_RETURN_IF_ERROR(discard(*in, *front_bytes - kHeaderSize, kHeaderSize, "front metadata"));
  }
  if (!allocated && !h.gd_at_end())
    detail::diagnose(options, Diagnostic::Level::note,
                     fmt::format("vmdk: {}: grain tables are not at the front; placing grains by "
                                 "their markers",
                                 in->name()));
  return std::unique_ptr<StreamSource>(std::make_unique<StreamOptimizedSource>(
      std::move(in), h, *front_bytes, std::move(allocated), window_bytes, options.on_diagnostic));
}

}  // namespace vdisk::vmdk
