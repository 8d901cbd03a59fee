// ByteSink implementations.
//
// FileSink writes a regular-file destination through a temporary file in the destination's
// directory and renames it into place only in finish(), so an interrupted or failed conversion
// never leaves a partial file under the final name, and a crash leaves at most a hidden
// ".<name>.vdtmp.XXXXXX" file next to it. A writer holds an exclusive flock on its temporary for
// as long as it runs, so the next run for the same destination can tell a crashed run's leftover
// (unlocked, and untouched for a minute) from a live one and removes it. Without `overwrite` the
// rename uses RENAME_NOREPLACE, so a file created meanwhile at the destination is never clobbered
// either.
//
// Durable output costs max(compute, disk) rather than their sum: when the sink will fsync, it
// starts the kernel's writeback of what it has written every kWritebackBytes (sync_file_range
// with SYNC_FILE_RANGE_WRITE, which queues the dirty pages without waiting for them), so the
// disk writes while the conversion runs and the final fsync finds little left to do.
//
// A durable output also writes its large aligned pieces (kDirectMinBytes or more, offset,
// length and memory all multiples of kDirectAlign: the pipeline's chunk buffers) with O_DIRECT
// through a second descriptor: they go from the caller's buffer to the disk with no copy into
// the page cache, which on a 2-core machine is CPU the conversion's compute needs
// (docs/performance.md, "Durable output"). Smaller or unaligned pieces (headers, footers, the
// gzip blocks, 64 KiB grains) stay buffered; a direct piece covers whole pages, so the two kinds
// never share a page. Where the file system refuses O_DIRECT (at open or at the first write,
// EINVAL) everything is written buffered.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>

#include <fmt/format.h>

#include "base/zero.h"
#include "vdisk/io.h"

namespace vdisk {
namespace {

// Writes all of `data` at `offset` (pwrite) or at the current position (offset < 0).
Status write_all(int fd, std::span<const std::byte> data, off_t offset, const std::string& name) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = offset >= 0 ? ::pwrite(fd, data.data() + done, data.size() - done,
                                             offset + static_cast<off_t>(done))
                                  : ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, name, "write");
    }
    if (n == 0) return io_error(fmt::format("{}: write returned 0", name));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status write_zero_bytes(int fd, std::uint64_t length, off_t offset, const std::string& name) {
  while (length > 0) {
    auto zeros = detail::zero_buffer(
        static_cast<std::size_t>(std::min<std::uint64_t>(length, detail::kZeroBufferBytes)));
    VDISK_RETURN_IF_ERROR(write_all(fd, zeros, offset, name));
    if (offset >= 0) offset += static_cast<off_t>(zeros.size());
    length -= zeros.size();
  }
  return {};
}

// Written bytes between two writeback kicks: large enough that the kick is rare next to the
// writes, small enough that the final fsync waits for a fraction of a second of disk time.
constexpr std::uint64_t kWritebackBytes = 16u << 20;

// Direct writes: the alignment every Linux file system and device accepts, and the size below
// which a direct write costs more than the copy it saves (ext4 serialises allocating direct
// writes: 1.68 GB took 4.94 s in 64 KiB direct writes and 1.77 s in 4 MiB ones, with 0.2 s of
// system time against the buffered copy's 1.4-1.8 s; bench/RESULTS.md, "The durable default").
constexpr std::uint64_t kDirectAlign = 4096;
constexpr std::uint64_t kDirectMinBytes = 1u << 20;

class FileSink final : public ByteSink {
 public:
  // `temp` is empty when writing a device in place.
  FileSink(int fd, std::filesystem::path final_path, std::filesystem::path temp,
           FileSinkOptions options, bool seekable)
      : fd_(fd),
        final_(std::move(final_path)),
        temp_(std::move(temp)),
        options_(options),
        seekable_(seekable),
        name_(final_.string()) {
    if (options_.sync && !temp_.empty())
      direct_fd_ = ::open(temp_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  }

  ~FileSink() override {
    if (direct_fd_ >= 0) ::close(direct_fd_);
    if (fd_ >= 0) ::close(fd_);
    if (!finished_ && !temp_.empty()) ::unlink(temp_.c_str());
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  Status write(std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(usable());
    Status s = seekable_ ? put(data, pos_) : write_all(fd_, data, -1, name_);
    if (!s.ok()) return fail(std::move(s));
    pos_ += data.size();
    return {};
  }

  Status write_zeroes(std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(usable());
    if (!(options_.sparse && seekable_ && !temp_.empty())) {
      Status s = write_zero_bytes(fd_, length, seekable_ ? static_cast<off_t>(pos_) : -1, name_);
      if (!s.ok()) return fail(std::move(s));
      written(length);
    }
    // A fresh temporary file reads as zero wherever nothing was written: leave a hole.
    pos_ += length;
    return {};
  }

  std::uint64_t position() const override { return pos_; }

  // Only a fresh temporary file reads as zero where nothing was written.
  bool can_write_at() const override { return !temp_.empty(); }

  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(usable());
    if (!can_write_at()) return ByteSink::write_at(offset, data);
    if (offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()) - data.size())
      return invalid_argument(
          fmt::format("{}: write at {} is past the largest file offset", name_, offset));
    Status s = put(data, offset);
    if (!s.ok()) return fail(std::move(s));
    return {};
  }

  Status extend_to(std::uint64_t end) override {
    VDISK_RETURN_IF_ERROR(usable());
    if (!can_write_at()) return ByteSink::extend_to(end);
    if (end < pos_)
      return internal_error(
          fmt::format("{}: extend to {} but the output is at {}", name_, end, pos_));
    // Not sparse: allocate the holes (mode 0 keeps written data); a file system that cannot
    // still reads them as zero, which is all the content needs.
    if (!options_.sparse && end > pos_ &&
        ::fallocate(fd_, 0, static_cast<off_t>(pos_), static_cast<off_t>(end - pos_)) != 0 &&
        errno != EOPNOTSUPP)
      return fail(errno_status(errno, name_, "allocate"));
    pos_ = end;
    return {};
  }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(usable());
    if (!temp_.empty()) {
      // Trailing holes: set the length explicitly.
      if (::ftruncate(fd_, static_cast<off_t>(pos_)) != 0)
        return fail(errno_status(errno, name_, "truncate"));
    }
    if (direct_fd_ >= 0) {
      ::close(direct_fd_);  // its writes are complete; the fsync below makes them durable
      direct_fd_ = -1;
    }
    if (options_.sync && ::fsync(fd_) != 0) return fail(errno_status(errno, name_, "fsync"));
    if (::close(fd_) != 0) {
      fd_ = -1;
      return fail(errno_status(errno, name_, "close"));
    }
    fd_ = -1;
    if (!temp_.empty()) VDISK_RETURN_IF_ERROR(commit_rename());
    finished_ = true;
    return {};
  }

 private:
  Status usable() const {
    if (finished_) return internal_error(fmt::format("{}: sink used after finish", name_));
    if (failed_) return internal_error(fmt::format("{}: sink used after an error", name_));
    return {};
  }
  Status fail(Status s) {
    failed_ = true;
    return s;
  }

  // Writes `data` at `offset`: directly when it qualifies (see the top of the file), else
  // through the page cache. May run on several threads at once for disjoint ranges.
  Status put(std::span<const std::byte> data, std::uint64_t offset) {
    if (direct_fd_ >= 0 && direct_on_.load(std::memory_order_relaxed) &&
        data.size() >= kDirectMinBytes && data.size() % kDirectAlign == 0 &&
        offset % kDirectAlign == 0 &&
        reinterpret_cast<std::uintptr_t>(data.data()) % kDirectAlign == 0) {
      const ssize_t n = ::pwrite(direct_fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (n == static_cast<ssize_t>(data.size())) return {};
      if (n < 0 && errno != EINVAL && errno != EINTR) return errno_status(errno, name_, "write");
      // EINVAL: the file system's direct I/O wants more than this alignment; write buffered
      // from now on. A short write (or EINTR): the rest goes buffered.
      if (n < 0 && errno == EINVAL) direct_on_.store(false, std::memory_order_relaxed);
      const std::size_t done = n > 0 ? static_cast<std::size_t>(n) : 0;
      data = data.subspan(done);
      offset += done;
    }
    VDISK_RETURN_IF_ERROR(write_all(fd_, data, static_cast<off_t>(offset), name_));
    written(data.size());
    return {};
  }

  // Counts written bytes (several threads may write at once); every kWritebackBytes, when the
  // output will be fsynced, queues the file's dirty pages for writeback. Best effort: an error
  // here shows again, and is reported, at the fsync.
  void written(std::uint64_t n) {
    if (!options_.sync) return;
    if (unkicked_.fetch_add(n, std::memory_order_relaxed) + n < kWritebackBytes) return;
    unkicked_.store(0, std::memory_order_relaxed);
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }

  Status commit_rename() {
    if (options_.overwrite) {
      if (::rename(temp_.c_str(), final_.c_str()) != 0)
        return fail(errno_status(errno, name_, "rename"));
    } else if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, final_.c_str(), RENAME_NOREPLACE) !=
               0) {
      if (errno == EEXIST)
        return fail(already_exists(
            fmt::format("{}: exists (created while converting); not replaced", name_)));
      if (errno != EINVAL && errno != ENOSYS) return fail(errno_status(errno, name_, "rename"));
      // File system without RENAME_NOREPLACE: link() also refuses an existing name.
      if (::link(temp_.c_str(), final_.c_str()) != 0)
        return fail(errno == EEXIST ? already_exists(fmt::format("{}: exists; not replaced", name_))
                                    : errno_status(errno, name_, "link"));
      ::unlink(temp_.c_str());
    }
    if (options_.sync) {
      std::filesystem::path dir = final_.parent_path();
      if (dir.empty()) dir = ".";
      int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        ::fsync(dfd);  // best effort: the file itself is already durable
        ::close(dfd);
      }
    }
    return {};
  }

  int fd_;
  int direct_fd_ = -1;                 // the temporary opened O_DIRECT (durable output only)
  std::atomic<bool> direct_on_{true};  // cleared when the file system refuses a direct write
  std::filesystem::path final_;
  std::filesystem::path temp_;
  FileSinkOptions options_;
  bool seekable_;
  std::string name_;
  std::uint64_t pos_ = 0;
  bool finished_ = false;
  std::atomic<bool> failed_{false};         // write_at() may fail on several threads
  std::atomic<std::uint64_t> unkicked_{0};  // bytes written since the last writeback kick
};

class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    struct stat st;
    const int flags = ::fcntl(fd_, F_GETFL);
    if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && flags >= 0 && !(flags & O_APPEND)) {
      const off_t at = ::lseek(fd_, 0, SEEK_CUR);
      if (at >= 0) {
        seekable_ = true;
        base_ = at;
      }
    }
  }
  Status write(std::span<const std::byte> data) override {
    if (failed_) return internal_error(fmt::format("{}: sink used after an error", name_));
    Status s = write_all(fd_, data, seekable_ ? base_ + static_cast<off_t>(pos_) : -1, name_);
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    pos_ += data.size();
    return {};
  }
  Status write_zeroes(std::uint64_t length) override {
    if (failed_) return internal_error(fmt::format("{}: sink used after an error", name_));
    if (!seekable_) {
      Status s = write_zero_bytes(fd_, length, -1, name_);
      if (!s.ok()) {
        failed_ = true;
        return s;
      }
    } else {
      // Punch the range so that earlier content of a reused file does not show through.
      if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      base_ + static_cast<off_t>(pos_), static_cast<off_t>(length)) != 0) {
        Status s = write_zero_bytes(fd_, length, base_ + static_cast<off_t>(pos_), name_);
        if (!s.ok()) {
          failed_ = true;
          return s;
        }
      }
    }
    pos_ += length;
    return {};
  }
  std::uint64_t position() const override { return pos_; }
  Status finish() override {
    if (failed_) return internal_error(fmt::format("{}: sink used after an error", name_));
    if (seekable_) {
      struct stat st;
      const off_t end = base_ + static_cast<off_t>(pos_);
      if (::fstat(fd_, &st) == 0 && st.st_size < end && ::ftruncate(fd_, end) != 0)
        return errno_status(errno, name_, "truncate");
      // Leave the descriptor's offset after what we wrote, as a plain write would have.
      ::lseek(fd_, end, SEEK_SET);
    }
    return {};
  }

 private:
  int fd_;
  std::string name_;
  bool seekable_ = false;
  off_t base_ = 0;
  std::uint64_t pos_ = 0;
  bool failed_ = false;
};

class MemorySink final : public ByteSink {
 public:
  explicit MemorySink(std::vector<std::byte>* out) : out_(out) {}
  Status write(std::span<const std::byte> data) override {
    out_->insert(out_->end(), data.begin(), data.end());
    return {};
  }
  Status write_zeroes(std::uint64_t length) override {
    out_->resize(out_->size() + static_cast<std::size_t>(length));
    return {};
  }
  std::uint64_t position() const override { return out_->size(); }
  Status finish() override { return {}; }

  // Positional writes grow the vector under a lock (they may come from several threads).
  bool can_write_at() const override { return true; }
  Status write_at(std::uint64_t offset, std::span<const std::byte> data) override {
    std::lock_guard lock(m_);
    const std::uint64_t end = offset + data.size();
    if (end > out_->size()) out_->resize(static_cast<std::size_t>(end));
    std::memcpy(out_->data() + offset, data.data(), data.size());
    return {};
  }
  Status extend_to(std::uint64_t end) override {
    std::lock_guard lock(m_);
    if (end < out_->size())
      return internal_error(
          fmt::format("<memory>: extend to {} but {} bytes are written", end, out_->size()));
    out_->resize(static_cast<std::size_t>(end));
    return {};
  }

 private:
  std::vector<std::byte>* out_;
  std::mutex m_;
};

}  // namespace

Status ByteSink::write_at(std::uint64_t, std::span<const std::byte>) {
  return unsupported("this output is written front to back (no positional writes)");
}
Status ByteSink::extend_to(std::uint64_t) {
  return unsupported("this output is written front to back (no positional writes)");
}

Status check_output_path(const std::filesystem::path& path, const FileSinkOptions& options) {
  const std::string name = path.string();
  if (name.empty()) return invalid_argument("output path is empty");
  struct stat st;
  if (::stat(name.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return invalid_argument(fmt::format("{}: is a directory", name));
    if (S_ISBLK(st.st_mode) && !options.overwrite)
      return already_exists(
          fmt::format("{}: is a block device; writing to it needs --force", name));
    if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) return {};  // written in place
    if (!options.overwrite)
      return already_exists(fmt::format("{}: exists (use --force to replace it)", name));
  } else if (errno != ENOENT) {
    return errno_status(errno, name, "stat");
  }
  // The temporary file is made next to DST: its directory must exist and be writable.
  const std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return not_found(fmt::format("{}: directory {} does not exist", name, dir.string()));
    return errno_status(errno, dir.string(), "stat");
  }
  if (!S_ISDIR(st.st_mode))
    return invalid_argument(fmt::format("{}: {} is not a directory", name, dir.string()));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return errno_status(errno, fmt::format("{}: directory {}", name, dir.string()), "write");
  return {};
}

namespace {

// Removes the temporaries crashed runs left for one destination: entries of `dir` named
// `prefix` + 6 characters (mkostemp's) that are regular files, untouched for a minute and
// locked by no process (a live writer holds LOCK_EX on its temporary from right after creating
// it). Best effort: a file that cannot be opened, locked or removed is left alone.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& prefix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const int dfd = ::dirfd(d);
  const time_t now = ::time(nullptr);
  while (const dirent* e = ::readdir(d)) {
    const std::string_view n(e->d_name);
    if (n.size() != prefix.size() + 6 || n.substr(0, prefix.size()) != prefix) continue;
    const int fd = ::openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= 60 &&
        ::flock(fd, LOCK_EX | LOCK_NB) == 0)
      ::unlinkat(dfd, e->d_name, 0);
    ::close(fd);
  }
  ::closedir(d);
}

}  // namespace

Result<std::unique_ptr<ByteSink>> create_file_sink(const std::filesystem::path& path,
                                                   const FileSinkOptions& options) {
  VDISK_RETURN_IF_ERROR(check_output_path(path, options));
  const std::string name = path.string();
  struct stat st;
  if (::stat(name.c_str(), &st) == 0) {
    if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
      int fd = ::open(name.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return errno_status(errno, name, "open");
      return std::unique_ptr<ByteSink>(
          new FileSink(fd, path, {}, options, /*seekable=*/S_ISBLK(st.st_mode)));
    }
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "." + string.
  std::string prefix = ".";
  prefix += path.filename().string();
  prefix += ".vdtmp.";
  remove_stale_temporaries(dir, prefix);
  std::string tmpl = dir / (prefix + "XXXXXX");
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return errno_status(errno, name, "create temporary file");
  ::flock(fd, LOCK_EX);  // marks the temporary as in use (remove_stale_temporaries)
  // mkostemp creates mode 0600; an image is an ordinary data file.
  ::fchmod(fd, 0644);
  return std::unique_ptr<ByteSink>(new FileSink(fd, path, tmpl, options, /*seekable=*/true));
}

std::unique_ptr<ByteSink> fd_sink(int fd, std::string name) {
  return std::make_unique<FdSink>(fd, std::move(name));
}

std::unique_ptr<ByteSink> memory_sink(std::vector<std::byte>* out) {
  return std::make_unique<MemorySink>(out);
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat sa, sb;
  if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace vdisk
