// Hashing sinks (see checksum_sinks.h).
#include "checksum/checksum_sinks.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/zero.h"

namespace vdisk::checksum {
namespace {

class HashingSink final : public ByteSink {
 public:
  HashingSink(std::unique_ptr<ByteSink> out, std::size_t trailer,
              std::shared_ptr<ArtifactDigests> digests)
      : out_(std::move(out)), trailer_(trailer), digests_(std::move(digests)) {}

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(out_->write(data));
    md5_.update(data);
    crc_.update(data);
    feed(data);
    bytes_ += data.size();
    return {};
  }

  Status write_zeroes(std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(out_->write_zeroes(length));
    md5_.update_zeros(length);
    crc_.update_zeros(length);
    bytes_ += length;
    if (trailer_ == 0) {
      sha_.update_zeros(length);
      return {};
    }
    // All but the last trailer_ zeros go straight in; those are held like data.
    if (length > trailer_) {
      sha_.update(held_);
      held_.clear();
      sha_.update_zeros(length - trailer_);
      length = trailer_;
    }
    feed(detail::zero_buffer(static_cast<std::size_t>(length))
             .first(static_cast<std::size_t>(length)));
    return {};
  }

  std::uint64_t position() const override { return out_->position(); }

  Status finish() override {
    ArtifactDigests& d = *digests_;
    d.bytes = bytes_;
    d.prefix_bytes = bytes_ - held_.size();
    if (trailer_ > 0) {
      Sha256 prefix = sha_;
      d.prefix_sha256 = prefix.hex();
      sha_.update(held_);
    }
    d.sha256 = sha_.hex();
    if (trailer_ == 0) d.prefix_sha256 = d.sha256;
    const auto md5 = md5_.finish();
    d.md5 = to_hex(md5);
    d.md5_base64 = to_base64(md5);
    d.crc32c = crc_.value();
    const std::uint8_t be[4] = {
        static_cast<std::uint8_t>(d.crc32c >> 24), static_cast<std::uint8_t>(d.crc32c >> 16),
        static_cast<std::uint8_t>(d.crc32c >> 8), static_cast<std::uint8_t>(d.crc32c)};
    d.crc32c_base64 = to_base64(be);
    VDISK_RETURN_IF_ERROR(out_->finish());
    d.done = true;
    return {};
  }

 private:
  // SHA-256 of the stream with the last trailer_ bytes held back in held_.
  void feed(std::span<const std::byte> data) {
    if (trailer_ == 0) {
      sha_.update(data);
      return;
    }
    if (data.size() >= trailer_) {
      sha_.update(held_);
      sha_.update(data.first(data.size() - trailer_));
      held_.assign(data.end() - static_cast<std::ptrdiff_t>(trailer_), data.end());
      return;
    }
    held_.insert(held_.end(), data.begin(), data.end());
    if (held_.size() > trailer_) {
      const std::size_t extra = held_.size() - trailer_;
      sha_.update(std::span<const std::byte>(held_).first(extra));
      held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(extra));
    }
  }

  std::unique_ptr<ByteSink> out_;
  std::size_t trailer_;
  std::shared_ptr<ArtifactDigests> digests_;
  Sha256 sha_;
  Md5 md5_;
  Crc32c crc_;
  std::vector<std::byte> held_;
  std::uint64_t bytes_ = 0;
};

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = std::uint32_t{bytes[i]} << 16;
    if (n > 1) v |= std::uint32_t{bytes[i + 1]} << 8;
    if (n > 2) v |= bytes[i + 2];
    s += kAlphabet[(v >> 18) & 63];
    s += kAlphabet[(v >> 12) & 63];
    s += n > 1 ? kAlphabet[(v >> 6) & 63] : '=';
    s += n > 2 ? kAlphabet[v & 63] : '=';
  }
  return s;
}

std::unique_ptr<ByteSink> hashing_sink(std::unique_ptr<ByteSink> out, std::size_t trailer_bytes,
                                       std::shared_ptr<ArtifactDigests> digests) {
  return std::make_unique<HashingSink>(std::move(out), trailer_bytes, std::move(digests));
}

Status DiskHasher::admit(std::uint64_t offset, std::uint64_t length) {
  if (offset != next_)
    return internal_error(
        fmt::format("checksums: disk run at {} but the hash is at {}", offset, next_));
  next_ += length;
  return {};
}

Status DiskHasher::write(std::uint64_t offset, std::span<const std::byte> data) {
  VDISK_RETURN_IF_ERROR(admit(offset, data.size()));
  sha_.update(data);
  return {};
}

Status DiskHasher::write_zeroes(std::uint64_t offset, std::uint64_t length) {
  VDISK_RETURN_IF_ERROR(admit(offset, length));
  sha_.update_zeros(length);
  return {};
}

std::string DiskHasher::hex(std::uint64_t total) {
  if (total > next_) sha_.update_zeros(total - next_);
  next_ = std::max(next_, total);
  return sha_.hex();
}

}  // namespace vdisk::checksum
