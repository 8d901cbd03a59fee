// RandomAccessFile over a POSIX file descriptor: pread for reads (no shared cursor, so reads are
// thread-safe) and SEEK_DATA/SEEK_HOLE for the allocation map.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "base/checked.h"
#include "vdisk/io.h"

namespace vdisk {

Status RandomAccessFile::allocation(std::uint64_t offset, std::uint64_t length,
                                    std::vector<Extent>& out) const {
  append_extent(out, {offset, length, ExtentKind::data});
  return {};
}

namespace {

class PosixFile final : public RandomAccessFile {
 public:
  PosixFile(int fd, std::uint64_t size, bool regular, std::string name)
      : fd_(fd), size_(size), regular_(regular), name_(std::move(name)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  std::uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("{}: read of {} bytes at offset {} is past the end ({})",
                                      name_, dst.size(), offset, size_));
    std::size_t done = 0;
    while (done < dst.size()) {
      const ssize_t n =
          ::pread(fd_, dst.data() + done, dst.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_status(errno, name_, fmt::format("read at offset {}", offset + done));
      }
      if (n == 0)  // the file shrank under us
        return io_error(
            fmt::format("{}: unexpected end of file at offset {}", name_, offset + done));
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  Status allocation(std::uint64_t offset, std::uint64_t length,
                    std::vector<Extent>& out) const override {
    if (!detail::range_inside(offset, length, size_))
      return out_of_range(
          fmt::format("{}: map of [{}, +{}) is past the end", name_, offset, length));
    const std::uint64_t end = offset + length;
    if (!regular_) return RandomAccessFile::allocation(offset, length, out);
    std::uint64_t pos = offset;
    while (pos < end) {
      off_t data = ::lseek(fd_, static_cast<off_t>(pos), SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) {  // no data at or after pos: the rest is a hole
          append_extent(out, {pos, end - pos, ExtentKind::unallocated});
          return {};
        }
        // File systems without SEEK_DATA support: report data.
        if (errno == EINVAL || errno == EOPNOTSUPP) {
          append_extent(out, {pos, end - pos, ExtentKind::data});
          return {};
        }
        return errno_status(errno, name_, "lseek(SEEK_DATA)");
      }
      std::uint64_t data_start = static_cast<std::uint64_t>(data);
      if (data_start >= end) {
        append_extent(out, {pos, end - pos, ExtentKind::unallocated});
        return {};
      }
      append_extent(out, {pos, data_start - pos, ExtentKind::unallocated});
      off_t hole = ::lseek(fd_, static_cast<off_t>(data_start), SEEK_HOLE);
      if (hole < 0) return errno_status(errno, name_, "lseek(SEEK_HOLE)");
      std::uint64_t data_end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), end);
      if (data_end <= data_start) data_end = end;  // defensive: never loop without progress
      append_extent(out, {data_start, data_end - data_start, ExtentKind::data});
      pos = data_end;
    }
    return {};
  }

 private:
  int fd_;
  std::uint64_t size_;
  bool regular_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<RandomAccessFile>> open_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(errno, name, "open");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = errno_status(errno, name, "stat");
    ::close(fd);
    return s;
  }
  std::uint64_t size = 0;
  bool regular = false;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<std::uint64_t>(st.st_size);
    regular = true;
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
      Status s = errno_status(errno, name, "ioctl(BLKGETSIZE64)");
      ::close(fd);
      return s;
    }
  } else {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) return invalid_argument(fmt::format("{}: is a directory", name));
    return invalid_argument(
        fmt::format("{}: not a regular file or block device (use '-' to read a stream)", name));
  }
  return std::unique_ptr<RandomAccessFile>(new PosixFile(fd, size, regular, name));
}

}  // namespace vdisk
