// The arithmetic of --update (page_update.h).
#include "remote/azure_blob/page_update.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/zero.h"
#include "remote/azure_blob/page_blob_output.h"

namespace vdisk::azure {
namespace {

// Refusals of --update when the blob is not the one the changes apply to. (Errc has no
// failed_precondition: invalid_argument, as for any destination that does not fit.)
Status precondition_failed(std::string message) { return invalid_argument(std::move(message)); }

}  // namespace

Result<std::vector<PageRange>> plan_update(const BlobProperties& p, const ChangeSet& changes,
                                           std::uint64_t length, std::string_view display) {
  const std::string& base = changes.base;
  const std::string pre = fmt::format("azure: {}: --update from {}", display, base);
  if (!p.exists)
    return precondition_failed(
        fmt::format("{}: the blob does not exist; expected a page blob of {} bytes holding {}", pre,
                    length, base));
  if (p.blob_type != "PageBlob")
    return precondition_failed(
        fmt::format("{}: the blob is a {}, expected a page blob", pre, p.blob_type));
  if (p.length != length)
    return precondition_failed(fmt::format("{}: the blob has {} bytes, expected {} (this output's)",
                                           pre, p.length, length));
  auto src = p.metadata.find(kMetaSource);
  if (src == p.metadata.end())
    return precondition_failed(fmt::format(
        "{}: expected the blob to hold {}, found no recorded source (no {} metadata: it was "
        "not written by vdconvert from an identified source)",
        pre, base, kMetaSource));
  if (src->second != base)
    return precondition_failed(
        fmt::format("{}: expected the blob to hold {}, found {}", pre, base, src->second));
  auto busy = p.metadata.find(kMetaUpdating);
  if (busy != p.metadata.end() && busy->second != changes.identity)
    return precondition_failed(fmt::format(
        "{}: an update of the blob to {} was interrupted and it holds part of it; run that "
        "update again, or write a full copy",
        pre, busy->second));
  if (changes.disk_bytes > length)
    return invalid_argument(fmt::format("{}: the changes cover a {}-byte disk, the output has {}",
                                        pre, changes.disk_bytes, length));
  std::vector<PageRange> pages;
  std::uint64_t prev_end = 0;
  for (const Extent& e : changes.ranges) {
    if (e.length == 0 || e.offset < prev_end || e.offset + e.length > length ||
        e.offset + e.length < e.offset)
      return invalid_argument(
          fmt::format("{}: changed range {}+{} is out of order or past the output's {} bytes", pre,
                      e.offset, e.length, length));
    prev_end = e.offset + e.length;
    const std::uint64_t s = e.offset - e.offset % kPageBytes;
    const std::uint64_t t = (prev_end + kPageBytes - 1) / kPageBytes * kPageBytes;
    if (!pages.empty() && s <= pages.back().end)
      pages.back().end = std::max(pages.back().end, t);
    else
      pages.push_back({s, t});
  }
  if (length >= kPageBytes) {
    const std::uint64_t f = length - kPageBytes;
    if (!pages.empty() && f <= pages.back().end)
      pages.back().end = length;
    else
      pages.push_back({f, length});
  }
  return pages;
}

std::vector<PageRange> data_runs(std::span<const std::byte> bytes, std::uint64_t origin,
                                 const PageRange& piece, std::uint64_t gap) {
  std::vector<PageRange> data;
  for (std::uint64_t o = piece.start; o < piece.end; o += kPageBytes) {
    const auto page =
        bytes.subspan(static_cast<std::size_t>(o - origin), static_cast<std::size_t>(kPageBytes));
    if (detail::is_zero(page)) continue;
    if (!data.empty() && o - data.back().end < gap)
      data.back().end = o + kPageBytes;
    else
      data.push_back({o, o + kPageBytes});
  }
  return data;
}

}  // namespace vdisk::azure
