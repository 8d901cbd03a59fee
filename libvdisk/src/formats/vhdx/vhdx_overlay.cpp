// The in-memory overlay a replayed log leaves over the file, and the file view that reads
// through it (docs/vhdx.md "The log"). The source file is never written.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {

// Removes [begin, end) from the runs, cutting the runs that straddle its edges.
void Overlay::erase(std::uint64_t begin, std::uint64_t end) {
  auto it = runs_.lower_bound(begin);
  if (it != runs_.begin() && std::prev(it)->second.end > begin) --it;
  while (it != runs_.end() && it->first < end) {
    const std::uint64_t start = it->first;
    Run run = std::move(it->second);
    it = runs_.erase(it);
    if (run.end > end) {
      std::vector<std::byte> rest;
      if (!run.data.empty())
        rest.assign(run.data.begin() + static_cast<std::ptrdiff_t>(end - start), run.data.end());
      runs_.emplace(end, Run{run.end, std::move(rest)});
    }
    if (start < begin) {
      if (!run.data.empty()) run.data.resize(static_cast<std::size_t>(begin - start));
      runs_.emplace(start, Run{begin, std::move(run.data)});
    }
  }
}

void Overlay::write(std::uint64_t offset, std::vector<std::byte> sector) {
  const std::uint64_t end = offset + sector.size();
  erase(offset, end);
  runs_.emplace(offset, Run{end, std::move(sector)});
}

void Overlay::zero(std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  erase(offset, offset + length);
  runs_.emplace(offset, Run{offset + length, {}});
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Overlay::apply(
    std::uint64_t offset, std::span<std::byte> dst) const {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
  const std::uint64_t end = offset + dst.size();
  std::uint64_t pos = offset;
  auto it = runs_.upper_bound(offset);
  if (it != runs_.begin() && std::prev(it)->second.end > offset) --it;
  for (; it != runs_.end() && it->first < end; ++it) {
    const std::uint64_t a = std::max(it->first, offset), b = std::min(it->second.end, end);
    if (a > pos) gaps.emplace_back(pos - offset, a - pos);
    std::byte* out = dst.data() + (a - offset);
    if (it->second.data.empty())
      std::memset(out, 0, static_cast<std::size_t>(b - a));
    else
      std::memcpy(out, it->second.data.data() + (a - it->first), static_cast<std::size_t>(b - a));
    pos = b;
  }
  if (pos < end) gaps.emplace_back(pos - offset, end - pos);
  return gaps;
}

namespace {

class OverlayFile final : public RandomAccessFile {
 public:
  OverlayFile(std::unique_ptr<RandomAccessFile> file, Overlay overlay, std::uint64_t size)
      : file_(std::move(file)), overlay_(std::move(overlay)), size_(size) {}

  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return file_->name(); }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(
          fmt::format("{}: read of {} bytes at {} past the end ({} bytes after "
                      "the log replay)",
                      name(), dst.size(), offset, size_));
    if (overlay_.empty() && offset + dst.size() <= file_->size())
      return file_->read_at(offset, dst);
    for (const auto& [rel, len] : overlay_.apply(offset, dst))
      VDISK_RETURN_IF_ERROR(read_base(
          offset + rel, dst.subspan(static_cast<std::size_t>(rel), static_cast<std::size_t>(len))));
    return {};
  }

 private:
  // The file's bytes; those the replay added past its end read as zeros.
  Status read_base(std::uint64_t offset, std::span<std::byte> dst) const {
    const std::uint64_t real = file_->size();
    const std::size_t in_file =
        offset >= real
            ? 0
            : static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), real - offset));
    if (in_file > 0) VDISK_RETURN_IF_ERROR(file_->read_at(offset, dst.first(in_file)));
    std::memset(dst.data() + in_file, 0, dst.size() - in_file);
    return {};
  }

  std::unique_ptr<RandomAccessFile> file_;
  Overlay overlay_;
  std::uint64_t size_;
};

}  // namespace

std::unique_ptr<RandomAccessFile> overlay_file(std::unique_ptr<RandomAccessFile> file,
                                               Overlay overlay, std::uint64_t size) {
  const std::uint64_t real = file->size();
  return std::make_unique<OverlayFile>(std::move(file), std::move(overlay), std::max(size, real));
}

}  // namespace vdisk::vhdx
