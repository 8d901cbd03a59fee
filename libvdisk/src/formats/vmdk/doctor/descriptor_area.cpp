// The descriptor area of a VMDK file: locate, validate, replace in place, copy with a new one (see
// vdisk/vmdk_repair.h). Layout facts: VMware "Virtual Disk Format 5.0" technote, "Hosted Sparse
// Extents"; what may be rewritten: docs/vmdk.md §4.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "vdisk/io.h"
#include "vdisk/vmdk_repair.h"
#include "formats/vmdk/doctor/descriptor_lint.h"
#include "formats/vmdk/vmdk_format.h"

namespace vdisk::vmdk {
namespace {

// Largest embedded descriptor accepted (qemu and VMware use 20 sectors): the parser's limit.
constexpr std::uint64_t kMaxAreaSectors = kMaxDescriptorBytes / kSector;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  Status close(std::string_view what) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errno_status(errno, what, "close");
    return {};
  }

 private:
  int fd_;
};

Status pwrite_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                  std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, what, "write");
    }
    if (n == 0) return io_error(fmt::format("{}: write: wrote nothing", what));
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status pread_all(int fd, std::span<std::byte> data, std::uint64_t offset, std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, what, "read");
    }
    if (n == 0) return out_of_range(fmt::format("{}: read: file ended at byte {}", what, offset));
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

void sync_directory(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: the file itself is durable
    ::close(dfd);
  }
}

// Checks that [a_start, a_end) (sectors) and the area do not intersect.
Status no_overlap(const std::string& name, std::uint64_t area_start, std::uint64_t area_end,
                  std::uint64_t start, std::uint64_t end, std::string_view what) {
  if (start < area_end && area_start < end)
    return corrupt(
        fmt::format("vmdk: {}: descriptor area (sectors {}..{}) overlaps the {} (sectors {}..{})",
                    name, area_start, area_end, what, start, end));
  return {};
}

Result<DescriptorArea> read_embedded(const RandomAccessFile& file,
                                     std::span<const std::byte> head) {
  const std::string& name = file.name();
  VDISK_ASSIGN_OR_RETURN(SparseHeader h, decode_sparse_header(head, 0));
  if (h.descriptor_offset == 0)
    return unsupported(fmt::format(
        "vmdk: {}: sparse extent has no embedded descriptor (descriptorOffset 0); its descriptor "
        "is a separate text file",
        name));
  if (h.descriptor_size == 0 || h.descriptor_size > kMaxAreaSectors)
    return corrupt(
        fmt::format("vmdk: {}: header at offset 36: descriptorSize {} sectors, "
                    "expected 1 to {}",
                    name, h.descriptor_size, kMaxAreaSectors));
  const std::uint64_t file_sectors = file.size() / kSector;
  if (h.descriptor_offset >= file_sectors || h.descriptor_size > file_sectors - h.descriptor_offset)
    return corrupt(
        fmt::format("vmdk: {}: header at offset 28: descriptor sectors {}+{} extend "
                    "past the end of the file ({} sectors)",
                    name, h.descriptor_offset, h.descriptor_size, file_sectors));
  const std::uint64_t start = h.descriptor_offset;
  const std::uint64_t end = start + h.descriptor_size;
  // Metadata that must not share sectors with the descriptor.
  const std::uint64_t gd_sectors = (h.gd_entries() * 4 + kSector - 1) / kSector;
  if (h.gd_offset != kGdAtEnd && h.gd_offset != 0)
    VDISK_RETURN_IF_ERROR(no_overlap(name, start, end, h.gd_offset,
                                     h.gd_offset + std::max<std::uint64_t>(gd_sectors, 1),
                                     "grain directory"));
  if ((h.flags & kFlagRedundantGrainTable) && h.rgd_offset != 0)
    VDISK_RETURN_IF_ERROR(no_overlap(name, start, end, h.rgd_offset,
                                     h.rgd_offset + std::max<std::uint64_t>(gd_sectors, 1),
                                     "redundant grain directory"));
  if (h.overhead != 0 && h.overhead < end)
    return corrupt(
        fmt::format("vmdk: {}: descriptor area (sectors {}..{}) runs into the grains, "
                    "which start at sector {} (overHead)",
                    name, start, end, h.overhead));
  DescriptorArea area;
  area.embedded = true;
  area.offset = start * kSector;
  area.size = h.descriptor_size * kSector;
  area.file_size = file.size();
  area.bytes.resize(area.size);
  VDISK_RETURN_IF_ERROR(file.read_at(area.offset, area.bytes));
  VDISK_RETURN_IF_ERROR(parse_descriptor(area.text()).status().with_context(name));
  return area;
}

}  // namespace

std::string_view DescriptorArea::text() const {
  const std::string_view all(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return lint::text_before_nul(all);
}

Result<DescriptorArea> read_descriptor_area(const std::filesystem::path& path) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  const std::string& name = file->name();
  std::array<std::byte, kHeaderSize> head{};
  if (file->size() >= kHeaderSize) {
    VDISK_RETURN_IF_ERROR(file->read_at(0, head));
    const bool kdmv = head[0] == std::byte{'K'} && head[1] == std::byte{'D'} &&
                      head[2] == std::byte{'M'} && head[3] == std::byte{'V'};
    if (kdmv) return read_embedded(*file, head);
    if (head[0] == std::byte{'C'} && head[1] == std::byte{'O'} && head[2] == std::byte{'W'} &&
        head[3] == std::byte{'D'})
      return unsupported(fmt::format(
          "vmdk: {}: a COWD (vmfsSparse) extent has no descriptor of its own; repair its text "
          "descriptor",
          name));
  }
  if (file->size() > kMaxTextDescriptorBytes)
    return invalid_argument(fmt::format(
        "vmdk: {}: neither a sparse extent (no KDMV magic) nor a text descriptor ({} bytes, a "
        "descriptor has at most {})",
        name, file->size(), kMaxTextDescriptorBytes));
  DescriptorArea area;
  area.embedded = false;
  area.offset = 0;
  area.size = file->size();
  area.file_size = file->size();
  area.bytes.resize(area.size);
  VDISK_RETURN_IF_ERROR(file->read_at(0, area.bytes));
  // qemu-img pads text descriptors with NULs to 512 bytes; anything after a NUL must be NUL.
  if (std::any_of(area.bytes.begin() + static_cast<std::ptrdiff_t>(area.text().size()),
                  area.bytes.end(), [](std::byte b) { return b != std::byte{0}; }))
    return invalid_argument(
        fmt::format("vmdk: {}: not a text descriptor (text after a NUL byte at offset {})", name,
                    area.text().size()));
  VDISK_ASSIGN_OR_RETURN(Descriptor d, [&]() -> Result<Descriptor> {
    auto r = parse_descriptor(area.text());
    if (!r.ok())
      return invalid_argument(
          fmt::format("vmdk: {}: not a VMDK descriptor: {}", name, r.status().message()));
    return r;
  }());
  const bool has_entry = std::any_of(d.lines.begin(), d.lines.end(), [](const DescriptorLine& l) {
    return l.kind == DescriptorLine::Kind::entry || l.kind == DescriptorLine::Kind::extent;
  });
  if (!has_entry || (!d.find("createType") && d.extents().empty()))
    return invalid_argument(
        fmt::format("vmdk: {}: not a VMDK descriptor (no createType and no extent line)", name));
  return area;
}

Result<std::vector<std::byte>> area_bytes_for(const DescriptorArea& area, std::string_view text) {
  if (area.embedded && text.find('\0') != std::string_view::npos)
    return invalid_argument(fmt::format(
        "vmdk: descriptor text contains a NUL byte at offset {}; an embedded descriptor ends at "
        "its first NUL",
        text.find('\0')));
  if (area.embedded && text.size() > area.size)
    return invalid_argument(fmt::format(
        "vmdk: descriptor text is {} bytes but the descriptor area holds {} ({} sectors at byte "
        "{}); writing more would overwrite the grain directory",
        text.size(), area.size, area.size / kSector, area.offset));
  if (!area.embedded && text.size() > kMaxTextDescriptorBytes)
    return invalid_argument(fmt::format("vmdk: descriptor text is {} bytes, more than {}",
                                        text.size(), kMaxTextDescriptorBytes));
  if (auto r = parse_descriptor(text); !r.ok())
    return invalid_argument(
        fmt::format("vmdk: new descriptor text does not parse: {}", r.status().message()));
  // Embedded: NUL-padded to the full area. Text file: NUL-padded to its old size when it was
  // padded (qemu-img's 512-byte descriptors) and the text still fits, else the text alone.
  const bool padded_text = !area.embedded && area.text().size() < area.size;
  const std::size_t n = area.embedded || (padded_text && text.size() <= area.size)
                            ? static_cast<std::size_t>(area.size)
                            : text.size();
  std::vector<std::byte> out(n, std::byte{0});
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

Result<std::filesystem::path> write_descriptor_in_place(const std::filesystem::path& path,
                                                        const DescriptorArea& area,
                                                        std::string_view text,
                                                        const WriteDescriptorOptions& options) {
  const std::string name = path.string();
  VDISK_ASSIGN_OR_RETURN(std::vector<std::byte> fresh, area_bytes_for(area, text));

  Fd fd(::open(path.c_str(), (area.embedded ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) return errno_status(errno, name, "open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_status(errno, name, "stat");
  if (!S_ISREG(st.st_mode))
    return invalid_argument(fmt::format("vmdk: {}: not a regular file", name));
  if (static_cast<std::uint64_t>(st.st_size) != area.file_size)
    return io_error(
        fmt::format("vmdk: {}: file size changed from {} to {} bytes since it was "
                    "read; nothing written",
                    name, area.file_size, st.st_size));
  std::vector<std::byte> now(area.bytes.size());
  VDISK_RETURN_IF_ERROR(pread_all(fd.get(), now, area.offset, name));
  if (now != area.bytes)
    return io_error(
        fmt::format("vmdk: {}: the descriptor changed since it was read; nothing written", name));

  std::filesystem::path backup;
  if (options.backup) {
    int bfd = -1;
    for (int i = 0; i < 1000 && bfd < 0; ++i) {
      backup = path;
      backup +=
          i == 0 ? std::string(".descriptor-backup") : fmt::format(".descriptor-backup.{}", i);
      bfd = ::open(backup.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (bfd < 0 && errno != EEXIST) return errno_status(errno, backup.string(), "create");
    }
    if (bfd < 0) return already_exists(fmt::format("vmdk: {}: no free backup file name", name));
    Fd b(bfd);
    Status s = pwrite_all(b.get(), area.bytes, 0, backup.string());
    if (s.ok() && options.sync && ::fsync(b.get()) != 0)
      s = errno_status(errno, backup.string(), "fsync");
    if (s.ok()) s = b.close(backup.string());
    if (!s.ok()) {
      std::error_code ec;
      std::filesystem::remove(backup, ec);
      return s;
    }
    if (options.sync) sync_directory(backup);
  }

  if (area.embedded) {
    // One write of the whole area, then fsync: after a crash the area holds the old bytes, the
    // new bytes, or (a torn sector write) a mix that the backup restores.
    VDISK_RETURN_IF_ERROR(pwrite_all(fd.get(), fresh, area.offset, name));
    if (options.sync && ::fsync(fd.get()) != 0) return errno_status(errno, name, "fsync");
    VDISK_RETURN_IF_ERROR(fd.close(name));
    return backup;
  }
  // Text descriptor: a new file renamed over the old one (atomic), mode kept.
  VDISK_RETURN_IF_ERROR(fd.close(name));
  FileSinkOptions so;
  so.overwrite = true;
  so.sparse = false;
  so.sync = options.sync;
  VDISK_ASSIGN_OR_RETURN(auto sink, create_file_sink(path, so));
  VDISK_RETURN_IF_ERROR(sink->write(fresh));
  VDISK_RETURN_IF_ERROR(sink->finish());
  ::chmod(path.c_str(), st.st_mode & 07777);
  return backup;
}

Status write_descriptor_copy(const std::filesystem::path& src, const DescriptorArea& area,
                             std::string_view text, const std::filesystem::path& dst,
                             bool overwrite, bool sync) {
  VDISK_ASSIGN_OR_RETURN(std::vector<std::byte> fresh, area_bytes_for(area, text));
  if (std::filesystem::exists(dst) && same_file(src, dst))
    return invalid_argument(
        fmt::format("vmdk: {} and {} are the same file; omit DST to repair in place", src.string(),
                    dst.string()));
  VDISK_ASSIGN_OR_RETURN(auto in, open_file(src));
  if (in->size() != area.file_size)
    return io_error(fmt::format("vmdk: {}: file size changed since it was read", src.string()));
  std::vector<std::byte> now(area.bytes.size());
  VDISK_RETURN_IF_ERROR(in->read_at(area.offset, now));
  if (now != area.bytes)
    return io_error(
        fmt::format("vmdk: {}: the descriptor changed since it was read", src.string()));
  FileSinkOptions so;
  so.overwrite = overwrite;
  so.sync = sync;
  VDISK_ASSIGN_OR_RETURN(auto sink, create_file_sink(dst, so));
  if (!area.embedded) {
    VDISK_RETURN_IF_ERROR(sink->write(fresh));
    return sink->finish();
  }
  const std::uint64_t size = in->size();
  const std::uint64_t area_end = area.offset + area.size;
  constexpr std::uint64_t kWindow = 64ull << 20;
  constexpr std::size_t kChunk = 1u << 20;
  std::vector<std::byte> buf(kChunk);
  std::vector<Extent> map;
  for (std::uint64_t w = 0; w < size; w += kWindow) {
    map.clear();
    VDISK_RETURN_IF_ERROR(in->allocation(w, std::min(kWindow, size - w), map));
    for (const Extent& e : map) {
      std::uint64_t pos = e.offset;
      const std::uint64_t end = e.end();
      while (pos < end) {
        if (pos >= area.offset && pos < area_end) {  // the new descriptor
          const std::uint64_t n = std::min(end, area_end) - pos;
          VDISK_RETURN_IF_ERROR(sink->write(std::span<const std::byte>(fresh).subspan(
              static_cast<std::size_t>(pos - area.offset), static_cast<std::size_t>(n))));
          pos += n;
          continue;
        }
        std::uint64_t n = std::min<std::uint64_t>(end - pos, kChunk);
        if (pos < area.offset) n = std::min(n, area.offset - pos);
        if (e.kind != ExtentKind::data) {
          VDISK_RETURN_IF_ERROR(sink->write_zeroes(n));
        } else {
          const std::span<std::byte> chunk(buf.data(), static_cast<std::size_t>(n));
          VDISK_RETURN_IF_ERROR(in->read_at(pos, chunk));
          VDISK_RETURN_IF_ERROR(sink->write(chunk));
        }
        pos += n;
      }
    }
  }
  if (sink->position() != size)
    return internal_error(
        fmt::format("vmdk: copy of {} wrote {} of {} bytes", src.string(), sink->position(), size));
  return sink->finish();
}

}  // namespace vdisk::vmdk
