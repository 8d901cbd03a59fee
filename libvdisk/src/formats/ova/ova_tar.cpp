// The OVA tar walker (see ova_tar.h; header layout in tar/tar.h, formats from POSIX.1-2001
// ustar and pax, GNU 'L' long names).
#include "formats/ova/ova_tar.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "tar/tar.h"
#include "base/checked.h"

namespace vdisk::ova {
namespace {

using gcp::kTarBlock;

class FileInput final : public TarInput {
 public:
  explicit FileInput(const RandomAccessFile& f) : f_(f) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), f_.size() - pos_));
    VDISK_RETURN_IF_ERROR(f_.read_at(pos_, dst.first(n)));
    pos_ += n;
    return n;
  }
  Result<std::uint64_t> skip(std::uint64_t n) override {
    const std::uint64_t k = std::min(n, f_.size() - pos_);
    pos_ += k;
    return k;
  }
  std::uint64_t position() const override { return pos_; }
  std::optional<std::uint64_t> size() const override { return f_.size(); }

 private:
  const RandomAccessFile& f_;
  std::uint64_t pos_ = 0;
};

class StreamInput final : public TarInput {
 public:
  explicit StreamInput(InputStream& in) : in_(in) {}
  Result<std::size_t> read(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_full(in_, dst));
    pos_ += n;
    return n;
  }
  Result<std::uint64_t> skip(std::uint64_t n) override {
    std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(n, 1 << 20)));
    std::uint64_t done = 0;
    while (done < n) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, buf.size()));
      VDISK_ASSIGN_OR_RETURN(const std::size_t got, read(std::span(buf).first(want)));
      done += got;
      if (got < want) break;
    }
    return done;
  }
  std::uint64_t position() const override { return pos_; }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }

 private:
  InputStream& in_;
  std::uint64_t pos_ = 0;
};

std::string strip_dot_slash(std::string name) {
  while (name.starts_with("./")) name.erase(0, 2);
  return name;
}

}  // namespace

std::unique_ptr<TarInput> file_tar_input(const RandomAccessFile& file) {
  return std::make_unique<FileInput>(file);
}
std::unique_ptr<TarInput> stream_tar_input(InputStream& in) {
  return std::make_unique<StreamInput>(in);
}

Status TarWalker::skip_rest() {
  const std::uint64_t n = left_ + padding_;
  if (n == 0) return {};
  const std::uint64_t at = in_.position();
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t moved, in_.skip(n));
  if (moved < left_)
    return corrupt_at(
        "tar", fmt::format("member '{}' of {}", entry_.name, archive_), at,
        fmt::format("expected {} more bytes of data, the archive ends after {}", left_, moved));
  left_ = padding_ = 0;
  return {};
}

Result<std::string> TarWalker::read_meta(std::uint64_t size, std::uint64_t cap,
                                         std::string_view what) {
  const std::uint64_t at = in_.position();
  if (size > cap)
    return corrupt_at("tar", fmt::format("{} header of {}", what, archive_), at,
                      fmt::format("expected at most {} bytes, found {}", cap, size));
  std::string text(static_cast<std::size_t>(size), '\0');
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, in_.read(std::as_writable_bytes(std::span(text))));
  const std::uint64_t pad = *detail::round_up(size, kTarBlock) - size;
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t skipped, in_.skip(pad));
  if (n < size || skipped < pad)
    return corrupt_at("tar", fmt::format("{} header of {}", what, archive_), at,
                      "the archive ends inside it");
  return text;
}

// pax extended header records: "<length> <key>=<value>\n"; path and size are used.
Status TarWalker::apply_pax(std::string_view records, std::uint64_t offset) {
  while (!records.empty()) {
    std::size_t len = 0;
    const auto [p, ec] = std::from_chars(records.data(), records.data() + records.size(), len);
    const std::size_t digits = static_cast<std::size_t>(p - records.data());
    if (ec != std::errc() || len <= digits + 1 || len > records.size() || records[digits] != ' ' ||
        records[len - 1] != '\n')
      return corrupt_at("tar", fmt::format("pax header of {}", archive_), offset,
                        "expected records '<length> <key>=<value>\\n'");
    const std::string_view kv = records.substr(digits + 1, len - digits - 2);
    records.remove_prefix(len);
    const std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = kv.substr(0, eq), value = kv.substr(eq + 1);
    if (key == "path") long_name_ = std::string(value);
    if (key == "size") {
      std::uint64_t v = 0;
      const auto [q, e2] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || e2 != std::errc() || q != value.data() + value.size())
        return corrupt_at("tar", fmt::format("pax header of {}", archive_), offset,
                          fmt::format("expected a decimal size, found '{}'", value));
      pax_size_ = v;
    }
  }
  return {};
}

Result<std::optional<TarEntry>> TarWalker::next() {
  if (ended_) return std::optional<TarEntry>();
  VDISK_RETURN_IF_ERROR(skip_rest());
  for (;;) {
    const std::uint64_t at = in_.position();
    std::array<std::byte, kTarBlock> block{};
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, in_.read(block));
    if (n == 0 || (n == kTarBlock && gcp::is_zero_block(block))) {
      if (long_name_ || pax_size_)
        return corrupt_at("tar", fmt::format("header of {}", archive_), at,
                          "a long-name or pax header is followed by no member");
      ended_ = true;
      return std::optional<TarEntry>();
    }
    if (n < kTarBlock)
      return corrupt_at("tar", fmt::format("header of {}", archive_), at,
                        fmt::format("expected 512 bytes, the archive ends after {}", n));
    VDISK_ASSIGN_OR_RETURN(const gcp::DecodedHeader h, gcp::decode_header(block, at));
    if (!h.checksum_ok)
      return corrupt_at(
          "tar", fmt::format("header of {}", archive_), at,
          fmt::format("checksum expected {}, found {}", h.unsigned_checksum, h.stored_checksum));
    const std::uint64_t size = h.typeflag == 'x' || h.typeflag == 'L' || h.typeflag == 'g'
                                   ? h.size
                                   : pax_size_.value_or(h.size);
    const auto padded = detail::round_up(size, kTarBlock);
    const auto end = padded ? detail::checked_add(at + kTarBlock, size) : std::nullopt;
    const auto file_size = in_.size();
    if (!end || (file_size && *end > *file_size))
      return corrupt_at("tar", fmt::format("member '{}' of {}", h.name, archive_), at,
                        fmt::format("stated size {} runs past the end of the archive ({} "
                                    "bytes)",
                                    size, file_size.value_or(0)));
    if (h.typeflag == 'L' || h.typeflag == 'x') {
      VDISK_ASSIGN_OR_RETURN(const std::string meta,
                             read_meta(size, h.typeflag == 'L' ? kMaxLongNameBytes : kMaxPaxBytes,
                                       h.typeflag == 'L' ? "GNU long-name" : "pax"));
      if (h.typeflag == 'L') long_name_ = meta.substr(0, meta.find('\0'));
      if (h.typeflag == 'x') VDISK_RETURN_IF_ERROR(apply_pax(meta, at));
      continue;
    }
    TarEntry e;
    e.name = strip_dot_slash(long_name_.value_or(h.name));
    e.type = h.typeflag == '\0' || h.typeflag == '7' ? '0' : h.typeflag;
    e.header_offset = at;
    e.data_offset = at + kTarBlock;
    e.size = size;
    long_name_.reset();
    pax_size_.reset();
    entry_ = e;
    left_ = size;
    padding_ = *padded - size;
    if (h.typeflag == 'g' || h.typeflag == 'K') {
      VDISK_RETURN_IF_ERROR(skip_rest());
      continue;
    }
    return std::optional<TarEntry>(std::move(e));
  }
}

Result<std::size_t> TarWalker::read_data(std::span<std::byte> dst) {
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), left_));
  if (want == 0) return std::size_t{0};
  const std::uint64_t at = in_.position();
  VDISK_ASSIGN_OR_RETURN(const std::size_t n, in_.read(dst.first(want)));
  left_ -= n;
  if (n < want)
    return corrupt_at("tar", fmt::format("member '{}' of {}", entry_.name, archive_), at,
                      fmt::format("expected {} more bytes of data (stated size {}), the archive "
                                  "ends after {}",
                                  left_ + n, entry_.size, n));
  return n;
}

Result<std::string> TarWalker::read_all(std::uint64_t cap, std::string_view what) {
  if (left_ > cap)
    return resource_exhausted(
        fmt::format("ova: {} '{}' in {} is {} bytes, more than the {} "
                    "read",
                    what, entry_.name, archive_, left_, cap));
  std::string text(static_cast<std::size_t>(left_), '\0');
  std::span<std::byte> dst = std::as_writable_bytes(std::span(text));
  while (!dst.empty()) {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_data(dst));
    dst = dst.subspan(n);
  }
  return text;
}

Status TarWalker::drain_trailer() {
  VDISK_ASSIGN_OR_RETURN(const std::uint64_t n, in_.skip(kMaxTrailingBytes));
  (void)n;
  return {};
}

}  // namespace vdisk::ova
