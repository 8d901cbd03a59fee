// Serving read() and map() from a format's pieces (see mapped_source.h).
#include "base/mapped_source.h"

#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/parent_view.h"

namespace vdisk::detail {
namespace {

using Piece = MappedSource::Piece;

// Merges neighbouring pieces that can be served together and hands each merged piece to `serve`
// (then once more at the end, through flush()).
template <class Serve>
class Merger final : public MappedSource::PieceSink {
 public:
  explicit Merger(Serve& serve) : serve_(serve) {}

  Status emit(const Piece& p) override {
    if (pending_ && pending_->kind == p.kind && p.kind != Piece::Kind::special &&
        pending_->guest + pending_->length == p.guest &&
        (p.kind != Piece::Kind::data || pending_->host + pending_->length == p.host)) {
      pending_->length += p.length;
      return {};
    }
    if (pending_) VDISK_RETURN_IF_ERROR(serve_(*pending_));
    pending_ = p;
    return {};
  }

  Status flush() {
    if (!pending_) return {};
    const Piece p = *pending_;
    pending_.reset();
    return serve_(p);
  }

 private:
  Serve& serve_;
  std::optional<Piece> pending_;
};

}  // namespace

Status MappedSource::check_range(const char* what, std::uint64_t offset,
                                 std::uint64_t length) const {
  if (!range_inside(offset, length, size()))
    return out_of_range(fmt::format("{}: {} of {} bytes at {} past the virtual size {}", format(),
                                    what, length, offset, size()));
  return {};
}

Status MappedSource::read(std::uint64_t offset, std::span<std::byte> dst) const {
  VDISK_RETURN_IF_ERROR(check_range("read", offset, dst.size()));
  auto serve = [&](const Piece& p) -> Status {
    auto part =
        dst.subspan(static_cast<std::size_t>(p.guest - offset), static_cast<std::size_t>(p.length));
    switch (p.kind) {
      case Piece::Kind::data:
        return read_data(p.host, part);
      case Piece::Kind::special:
        return read_special(p, part);
      case Piece::Kind::zero:
        std::memset(part.data(), 0, part.size());
        return {};
      case Piece::Kind::below:
        return read_from_parent(below(), p.guest, part);
    }
    return {};
  };
  Merger merger(serve);
  VDISK_RETURN_IF_ERROR(walk(offset, dst.size(), merger));
  return merger.flush();
}

Status MappedSource::map(std::uint64_t offset, std::uint64_t length,
                         std::vector<Extent>& out) const {
  VDISK_RETURN_IF_ERROR(check_range("map", offset, length));
  auto serve = [&](const Piece& p) -> Status {
    switch (p.kind) {
      case Piece::Kind::data:
      case Piece::Kind::special:
        append_extent(out, {p.guest, p.length, ExtentKind::data});
        return {};
      case Piece::Kind::zero:
        append_extent(out, {p.guest, p.length, ExtentKind::zero});
        return {};
      case Piece::Kind::below:
        return map_from_parent(below(), p.guest, p.length, below_kind(), out);
    }
    return {};
  };
  Merger merger(serve);
  VDISK_RETURN_IF_ERROR(walk(offset, length, merger));
  return merger.flush();
}

Status MappedSource::read_special(const Piece& piece, std::span<std::byte>) const {
  return internal_error(fmt::format("{}: no reader for the special piece at {} ({} bytes)",
                                    format(), piece.guest, piece.length));
}

}  // namespace vdisk::detail
