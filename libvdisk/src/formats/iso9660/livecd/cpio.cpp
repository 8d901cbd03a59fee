// Streaming cpio header walker (see cpio.h).
#include "formats/iso9660/livecd/cpio.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

namespace vdisk::livecd::detail {

namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr std::size_t kNewcHeader = 110;
constexpr std::size_t kOdcHeader = 76;
constexpr std::string_view kTrailer = "TRAILER!!!";

std::string printable(std::span<const std::byte> b) {
  std::string out;
  for (std::byte c : b) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f)
      out += static_cast<char>(u);
    else
      out += fmt::format("\\x{:02x}", u);
  }
  return out;
}

// Parses `digits` ASCII digits of base 16 or 8; nullopt-like false on a bad digit.
bool parse_number(std::span<const std::byte> field, unsigned base, std::uint64_t& out) {
  std::uint64_t v = 0;
  for (std::byte b : field) {
    const auto c = static_cast<unsigned char>(b);
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return false;
    if (d >= base) return false;
    v = v * base + d;  // at most 11 octal or 8 hex digits: no overflow
  }
  out = v;
  return true;
}

Status corrupt_entry(std::string_view what, std::uint64_t offset, std::string_view detail) {
  return corrupt(fmt::format("{}: cpio header at offset {}: {}", what, offset, detail));
}

}  // namespace

Result<std::uint64_t> ByteStream::skip(std::uint64_t n) {
  std::array<std::byte, 16384> scratch;
  std::uint64_t done = 0;
  while (done < n) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(n - done, scratch.size()));
    VDISK_ASSIGN_OR_RETURN(const std::size_t got, read(std::span(scratch).first(want)));
    if (got == 0) break;
    done += got;
  }
  return done;
}

std::string_view cpio_format_name(CpioFormat f) noexcept {
  switch (f) {
    case CpioFormat::newc:
      return "newc";
    case CpioFormat::crc:
      return "crc";
    case CpioFormat::odc:
      return "odc";
  }
  return "?";
}

bool is_cpio_magic(std::span<const std::byte> head) {
  if (head.size() < 6) return false;
  const std::string_view m(reinterpret_cast<const char*>(head.data()), 6);
  return m == "070701" || m == "070702" || m == "070707";
}

BufferedStream::BufferedStream(ByteStream& in, std::uint64_t start_position)
    : in_(in), buf_(kBufferSize), position_(start_position) {}

Status BufferedStream::fill() {
  if (pos_ < len_) return Status();
  pos_ = 0;
  VDISK_ASSIGN_OR_RETURN(len_, in_.read(buf_));
  return Status();
}

Result<bool> BufferedStream::more() {
  VDISK_RETURN_IF_ERROR(fill());
  return pos_ < len_;
}

Result<bool> BufferedStream::read_exact(std::span<std::byte> dst) {
  std::size_t done = 0;
  while (done < dst.size()) {
    VDISK_RETURN_IF_ERROR(fill());
    if (pos_ == len_) return false;
    const std::size_t n = std::min(len_ - pos_, dst.size() - done);
    std::memcpy(dst.data() + done, buf_.data() + pos_, n);
    pos_ += n;
    done += n;
    position_ += n;
  }
  return true;
}

Result<bool> BufferedStream::skip(std::uint64_t n) {
  const std::uint64_t buffered = std::min<std::uint64_t>(n, len_ - pos_);
  pos_ += static_cast<std::size_t>(buffered);
  position_ += buffered;
  n -= buffered;
  if (n == 0) return true;
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t skipped, in_.skip(n));
  position_ += skipped;
  return skipped == n;
}

Result<bool> BufferedStream::skip_zeros(std::uint64_t limit) {
  std::uint64_t skipped = 0;
  for (;;) {
    VDISK_RETURN_IF_ERROR(fill());
    if (pos_ == len_) return false;
    while (pos_ < len_ && buf_[pos_] == std::byte{0}) {
      if (skipped == limit)
        return resource_exhausted(
            fmt::format("more than {} zero bytes of padding at offset {}", limit, position_));
      ++pos_;
      ++position_;
      ++skipped;
    }
    if (pos_ < len_) return true;
  }
}

Result<CpioWalk> walk_cpio(BufferedStream& in, bool single_archive, const CpioLimits& limits,
                           std::uint64_t& budget, const CpioVisitor& visitor,
                           std::string_view what) {
  CpioWalk walk;
  std::array<std::byte, kNewcHeader> header;
  std::vector<std::byte> name_buf;
  std::vector<std::byte> data_buf;
  bool in_archive = false;  // inside an archive: its trailer has not been seen yet
  for (;;) {
    if (!in_archive && !single_archive) {
      VDISK_ASSIGN_OR_RETURN(const bool more, in.skip_zeros(limits.max_zero_padding));
      if (!more) return walk;
      if (in.position() % 4 != 0)
        return corrupt(
            fmt::format("{}: cpio archive at offset {}: not on a 4-byte boundary "
                        "after the zero padding",
                        what, in.position()));
    }
    const std::uint64_t at = in.position();
    VDISK_ASSIGN_OR_RETURN(const bool more, in.more());
    if (!more)
      return corrupt(
          fmt::format("{}: the stream ends at offset {} before the archive's {} entry "
                      "(truncated archive)",
                      what, at, kTrailer));
    VDISK_ASSIGN_OR_RETURN(bool got, in.read_exact(std::span(header).first(6)));
    if (!got)
      return corrupt_entry(what, at, "the stream ends inside the magic (truncated archive)");
    const std::string_view magic(reinterpret_cast<const char*>(header.data()), 6);
    CpioFormat format;
    if (magic == "070701")
      format = CpioFormat::newc;
    else if (magic == "070702")
      format = CpioFormat::crc;
    else if (magic == "070707")
      format = CpioFormat::odc;
    else
      return corrupt_entry(what, at,
                           fmt::format("expected magic 070701, 070702 or 070707, found \"{}\"",
                                       printable(std::span(header).first(6))));
    in_archive = true;
    const std::size_t header_size = format == CpioFormat::odc ? kOdcHeader : kNewcHeader;
    VDISK_ASSIGN_OR_RETURN(got, in.read_exact(std::span(header).subspan(6, header_size - 6)));
    if (!got)
      return corrupt_entry(what, at,
                           fmt::format("the stream ends inside the {}-byte header", header_size));
    std::uint64_t mode = 0, size = 0, namesize = 0;
    bool digits_ok;
    const auto field = [&](std::size_t off, std::size_t len) {
      return std::span<const std::byte>(header).subspan(off, len);
    };
    if (format == CpioFormat::odc) {
      digits_ok = parse_number(field(18, 6), 8, mode) && parse_number(field(59, 6), 8, namesize) &&
                  parse_number(field(65, 11), 8, size);
      // The other fields are checked for digits too: a mangled header is not trusted.
      std::uint64_t ignored;
      digits_ok = digits_ok && parse_number(field(6, 12), 8, ignored) &&
                  parse_number(field(24, 35), 8, ignored);
    } else {
      digits_ok = true;
      for (std::size_t i = 0; i < 13 && digits_ok; ++i) {
        std::uint64_t v = 0;
        digits_ok = parse_number(field(6 + 8 * i, 8), 16, v);
        if (i == 1) mode = v;
        if (i == 6) size = v;
        if (i == 11) namesize = v;
      }
    }
    if (!digits_ok)
      return corrupt_entry(
          what, at,
          fmt::format("expected {} digits in every field, found \"{}\"",
                      format == CpioFormat::odc ? "octal" : "hex", printable(field(6, 40))));
    if (namesize == 0)
      return corrupt_entry(what, at, "name size 0 (expected at least the NUL terminator)");
    if (namesize > limits.max_name_length)
      return resource_exhausted(
          fmt::format("{}: cpio header at offset {}: name size {} is over "
                      "the limit of {} bytes",
                      what, at, namesize, limits.max_name_length));
    name_buf.resize(static_cast<std::size_t>(namesize));
    VDISK_ASSIGN_OR_RETURN(got, in.read_exact(name_buf));
    if (!got)
      return corrupt_entry(what, at,
                           fmt::format("the stream ends inside the {}-byte name", namesize));
    if (name_buf.back() != std::byte{0})
      return corrupt_entry(what, at, "the name does not end with a NUL byte");
    const auto nul = std::find(name_buf.begin(), name_buf.end(), std::byte{0});
    CpioEntry entry;
    entry.format = format;
    entry.name.assign(reinterpret_cast<const char*>(name_buf.data()),
                      static_cast<std::size_t>(nul - name_buf.begin()));
    entry.mode = static_cast<std::uint32_t>(mode);
    entry.size = size;
    entry.header_offset = at;
    if (format != CpioFormat::odc) {
      const std::uint64_t pad = (4 - in.position() % 4) % 4;
      VDISK_ASSIGN_OR_RETURN(got, in.skip(pad));
      if (!got) return corrupt_entry(what, at, "the stream ends inside the name padding");
    }
    if (entry.name == kTrailer) {
      ++walk.archives;
      in_archive = false;
      if (single_archive) {
        // The data padding of the trailer (its size is 0 in practice; honour it anyway).
        VDISK_ASSIGN_OR_RETURN(got, in.skip(size));
        if (!got) return corrupt_entry(what, at, "the stream ends inside the trailer's data");
        return walk;
      }
    } else {
      if (budget == 0)
        return resource_exhausted(fmt::format("{}: more than {} cpio entries (at offset {})", what,
                                              limits.max_entries, at));
      --budget;
      ++walk.entries;
      (format == CpioFormat::odc ? walk.any_odc : walk.any_newc) = true;
      bool want = false;
      if (visitor.on_entry) {
        VDISK_ASSIGN_OR_RETURN(want, visitor.on_entry(entry));
      }
      if (want && visitor.on_data) {
        data_buf.resize(16384);
        std::uint64_t left = size;
        while (left > 0) {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, data_buf.size()));
          VDISK_ASSIGN_OR_RETURN(got, in.read_exact(std::span(data_buf).first(n)));
          if (!got)
            return corrupt_entry(
                what, at,
                fmt::format("the stream ends inside the {}-byte data of \"{}\"", size, entry.name));
          VDISK_RETURN_IF_ERROR(visitor.on_data(std::span(data_buf).first(n)));
          left -= n;
        }
      } else {
        VDISK_ASSIGN_OR_RETURN(got, in.skip(size));
        if (!got)
          return corrupt_entry(what, at,
                               fmt::format("data of \"{}\" ({} bytes) runs past the end of the "
                                           "stream",
                                           entry.name, size));
      }
    }
    if (format != CpioFormat::odc) {
      const std::uint64_t pad = (4 - in.position() % 4) % 4;
      VDISK_ASSIGN_OR_RETURN(got, in.skip(pad));
      if (!got && in_archive)
        return corrupt_entry(what, at, "the stream ends inside the data padding");
    }
  }
}

}  // namespace vdisk::livecd::detail
