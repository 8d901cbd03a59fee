// GCP's boot rules for the disk.raw of an image tarball (boot/boot_check.h, docs/boot.md): the
// boot facts read bounded ranges of the disk, and a gzip stream has no random access, so the
// stream is walked again, each pass capturing the 64 KiB blocks the previous reading asked for,
// until the facts are complete. A pass stops once it has passed the last block it wants, so on a
// usual disk (MBR/GPT and the ESP in the first MiBs) the passes cost a few MiB of inflate each.
//
// Bounds: at most kMaxPasses passes and kMaxCaptured bytes of captured blocks; beyond them the
// rule gcp.boot_read is a warning instead of the boot rules.
#include <map>
#include <mutex>
#include <set>

#include <fmt/format.h>

#include "boot/boot_check.h"
#include "contract/machines.h"
#include "formats/gcp/gcp.h"
#include "formats/gcp/gcp_tar_walk.h"

namespace vdisk::gcp {
namespace {

constexpr std::uint64_t kBlock = 64 * 1024;
constexpr std::uint64_t kAhead = 4;                  // blocks wanted after a missing one
constexpr std::uint64_t kMaxCaptured = 64ull << 20;  // bytes of captured blocks
constexpr int kMaxPasses = 16;

// disk.raw as far as the passes captured it: a read of a block not captured yet records it as
// missing and fails.
class CapturedDisk final : public BlockSource {
 public:
  explicit CapturedDisk(std::uint64_t size) : size_(size) {}
  std::uint64_t size() const override { return size_; }
  std::string_view format() const override { return "raw"; }

  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("gcp: read of {} bytes at {} past disk.raw's {} bytes",
                                      dst.size(), offset, size_));
    std::lock_guard lock(mu_);
    bool complete = true;
    for (std::uint64_t at = offset; at < offset + dst.size();) {
      const std::uint64_t b = at / kBlock, in = at % kBlock;
      const std::uint64_t n = std::min(kBlock - in, offset + dst.size() - at);
      const auto it = blocks_.find(b);
      if (it == blocks_.end()) {
        missing_.insert(b);
        complete = false;
      } else {
        std::copy_n(it->second.begin() + static_cast<std::ptrdiff_t>(in), n,
                    dst.begin() + static_cast<std::ptrdiff_t>(at - offset));
      }
      at += n;
    }
    return complete ? Status() : io_error("gcp: disk.raw block not captured yet");
  }

  // Wants the blocks of [offset, offset + length) in the next pass.
  void want(std::uint64_t offset, std::uint64_t length) {
    for (std::uint64_t b = offset / kBlock; b * kBlock < offset + length && b * kBlock < size_; ++b)
      if (blocks_.try_emplace(b, std::vector<std::byte>(kBlock)).second) captured_ += kBlock;
  }
  // Wants what the last reading missed, and the blocks after each; false when that would exceed
  // kMaxCaptured or nothing was missing.
  bool want_missing() {
    if (missing_.empty()) return false;
    for (std::uint64_t b : missing_) {
      want(b * kBlock, kAhead * kBlock);
      if (captured_ > kMaxCaptured) return false;
    }
    missing_.clear();
    return true;
  }
  bool missed() const { return !missing_.empty(); }
  std::uint64_t wanted_end() const {
    return blocks_.empty() ? 0 : (blocks_.rbegin()->first + 1) * kBlock;
  }
  // Copies the bytes at `offset` of disk.raw into the wanted blocks they fall in.
  void capture(std::uint64_t offset, std::span<const std::byte> data) {
    for (std::uint64_t at = offset; at < offset + data.size();) {
      const std::uint64_t b = at / kBlock, in = at % kBlock;
      const std::uint64_t n = std::min(kBlock - in, offset + data.size() - at);
      if (const auto it = blocks_.find(b); it != blocks_.end())
        std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(at - offset), n,
                    it->second.begin() + static_cast<std::ptrdiff_t>(in));
      at += n;
    }
  }

 private:
  std::uint64_t size_;
  std::uint64_t captured_ = 0;
  std::map<std::uint64_t, std::vector<std::byte>> blocks_;  // zeros until captured (holes)
  mutable std::set<std::uint64_t> missing_;
  mutable std::mutex mu_;
};

Result<boot::DiskBootFacts> read_facts(const RandomAccessFile& file, std::uint64_t header_bytes,
                                       std::uint64_t disk_size) {
  CapturedDisk disk(disk_size);
  disk.want(0, (1u << 20) + 2 * kBlock);  // sector 0, GPT headers, usual entry arrays
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    walk::TarWalker tar;
    tar.compute_sha = false;
    tar.on_disk_data = [&disk](std::uint64_t offset, std::span<const std::byte> data) {
      disk.capture(offset, data);
    };
    const std::uint64_t end = disk.wanted_end();
    VDISK_ASSIGN_OR_RETURN(const walk::InflateResult r,
                           walk::inflate_into(file, header_bytes, tar, [&tar, end] {
                             return !tar.hashed() && !(tar.hashing && tar.disk_bytes >= end);
                           }));
    if (!r.complete && !r.stopped)
      return corrupt_at("gcp", "disk.raw", 0,
                        "the archive ends before the blocks the boot facts read");
    auto facts = boot::read_disk_boot(disk);
    if (facts.ok() || !disk.missed()) return facts;
    if (!disk.want_missing())
      return resource_exhausted(
          fmt::format("gcp: the boot facts read more than {} MiB of disk.raw", kMaxCaptured >> 20));
  }
  return resource_exhausted(
      fmt::format("gcp: the boot facts were not complete after {} passes", kMaxPasses));
}

}  // namespace

Status add_gcp_boot_rules(CheckReport& report, const RandomAccessFile& file,
                          std::uint64_t header_bytes, std::uint64_t disk_size) {
  const detail::MachineFacts* m = detail::find_machine("gcp");
  if (!m) return internal_error("gcp: no machine row");
  auto facts = read_facts(file, header_bytes, disk_size);
  if (facts.ok()) {
    boot::add_boot_rules(report, *m, *facts);
    return {};
  }
  if (facts.status().code() == Errc::io_error && !facts.status().message().starts_with("gcp:"))
    return facts.status();
  report.items.push_back({"boot structures of disk.raw are read", false, facts.status().message(),
                          CheckSeverity::warning});
  report.items.back().id = "gcp.boot_read";
  return {};
}

}  // namespace vdisk::gcp
