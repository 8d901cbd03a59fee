// Safe extraction of an ISO 9660 volume's files below a destination directory, and streaming
// one file to a sink. Every object is created relative to a directory descriptor that was
// opened from DEST downwards without following symlinks; see vdisk/iso9660.h for the contract.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "vdisk/iso9660.h"

namespace vdisk::iso9660 {

std::string mode_string(std::uint32_t m) {
  char t = '-';
  switch (m & 0170000) {
    case 0040000:
      t = 'd';
      break;
    case 0120000:
      t = 'l';
      break;
    case 0020000:
      t = 'c';
      break;
    case 0060000:
      t = 'b';
      break;
    case 0010000:
      t = 'p';
      break;
    case 0140000:
      t = 's';
      break;
    default:
      break;
  }
  std::string s(1, t);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (m & (1u << (8 - i))) ? rwx[i] : '-';
  auto special = [&](std::uint32_t bit, std::size_t pos, char on, char off) {
    if (m & bit) s[pos] = s[pos] == 'x' ? on : off;
  };
  special(04000, 3, 's', 'S');
  special(02000, 6, 's', 'S');
  special(01000, 9, 't', 'T');
  return s;
}

namespace {

constexpr std::size_t kChunk = 1u << 20;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status sys_error(int err, const std::string& what, std::string_view op) {
  return errno_status(err, "extract: " + what, op);
}

// A name that can only ever mean one directory entry of the directory it is created in.
Status check_component(const std::string& name, const std::string& rel, const Entry& e) {
  const bool bad = name.empty() || name == "." || name == ".." ||
                   name.find('/') != std::string::npos || name.find('\0') != std::string::npos;
  if (!bad) return {};
  std::string shown;
  for (char c : name) shown += c == '\0' ? std::string("\\0") : std::string(1, c);
  return corrupt_at("iso9660", "directory record", e.record_offset,
                    fmt::format("refusing to extract '{}': entry name '{}' is empty, '.', '..' "
                                "or contains '/' or NUL",
                                rel, shown));
}

// True when a symlink at depth `depth` below DEST (0 = directly in DEST) with this target
// resolves, lexically, outside DEST.
bool escapes(std::string_view target, std::size_t depth) {
  if (target.starts_with('/')) return true;
  long level = static_cast<long>(depth);
  std::size_t p = 0;
  while (p <= target.size()) {
    std::size_t s = target.find('/', p);
    if (s == std::string_view::npos) s = target.size();
    const std::string_view c = target.substr(p, s - p);
    if (c == "..") {
      if (--level < 0) return true;
    } else if (!c.empty() && c != ".") {
      ++level;
    }
    p = s + 1;
  }
  return false;
}

class Extractor {
 public:
  Extractor(const Volume& v, const ExtractOptions& o) : v_(v), o_(o) {}

  struct Frame {
    std::string rel;  // path relative to the extraction root ("" for DEST)
    Fd fd;
    Entry entry;
    bool apply = false;  // set the entry's mode and times when leaving
    std::set<std::string> names;
  };

  Status run_tree(const Entry& dir, Fd dest_fd);
  Status run_single(const Entry& e, Fd dir_fd, const std::string& name);
  const ExtractReport& report() const { return rep_; }

 private:
  Status visit(const std::string& rel, const Entry& e);
  Status leave(Frame& f);
  Status write_file(int dirfd, const std::string& name, const std::string& rel, const Entry& e);
  Status write_symlink(int dirfd, const std::string& name, const std::string& rel, const Entry& e,
                       std::size_t depth);
  Result<Fd> make_dir(int dirfd, const std::string& name, const std::string& rel);
  Status place(int dirfd, const std::string& tmp, const std::string& name, const std::string& rel);
  std::string temp_name() { return fmt::format(".vdisk-extract-{}-{}.tmp", ::getpid(), ++tmp_n_); }
  mode_t perms(const Entry& e) const {
    std::uint32_t m = e.mode & 07777;
    if (!o_.keep_special_bits) m &= ~std::uint32_t{06000};
    return static_cast<mode_t>(m);
  }
  void times(const Entry& e, timespec ts[2]) const {
    ts[0].tv_sec = static_cast<time_t>(e.atime.value_or(e.mtime));
    ts[0].tv_nsec = 0;
    ts[1].tv_sec = static_cast<time_t>(e.mtime);
    ts[1].tv_nsec = 0;
  }
  void progress(const std::string& rel, const Entry& e) {
    if (!o_.on_progress) return;
    ExtractProgress p;
    p.path = rel;
    p.entry = &e;
    p.files = rep_.files;
    p.directories = rep_.directories;
    p.symlinks = rep_.symlinks;
    p.skipped = rep_.skipped;
    p.bytes = rep_.bytes;
    o_.on_progress(p);
  }
  void diag(Diagnostic::Level level, std::string msg) {
    if (o_.on_diagnostic) o_.on_diagnostic(Diagnostic{level, std::move(msg)});
  }

  const Volume& v_;
  const ExtractOptions& o_;
  ExtractReport rep_;
  std::vector<Frame> stack_;
  std::uint64_t tmp_n_ = 0;
};

Status Extractor::place(int dirfd, const std::string& tmp, const std::string& name,
                        const std::string& rel) {
  int rc = 0;
  if (o_.overwrite) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return already_exists(fmt::format(
          "extract: '{}' exists as a directory; it is not replaced by a file or symlink", rel));
    }
    // Only files and symlinks are replaced: renaming over a device node (DEST /dev/null, a
    // disk) or a FIFO would remove it, as root even /dev/null itself.
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISLNK(st.st_mode)) {
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return already_exists(
          fmt::format("extract: '{}' exists as a device, FIFO or socket; it is not replaced", rel));
    }
    rc = ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str());
  } else {
    rc = ::renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // File systems without RENAME_NOREPLACE: a hard link never replaces either.
      rc = ::linkat(dirfd, tmp.c_str(), dirfd, name.c_str(), 0);
      if (rc == 0) ::unlinkat(dirfd, tmp.c_str(), 0);
    }
  }
  if (rc == 0) return {};
  const int err = errno;
  ::unlinkat(dirfd, tmp.c_str(), 0);
  if (err == EEXIST && !o_.overwrite)
    return already_exists(
        fmt::format("extract: '{}' already exists (use --force / overwrite to replace it)", rel));
  return sys_error(err, rel, "rename into place");
}

Status Extractor::write_file(int dirfd, const std::string& name, const std::string& rel,
                             const Entry& e) {
  VDISK_ASSIGN_OR_RETURN(auto src, v_.open_file(e));
  const std::string tmp = temp_name();
  Fd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return sys_error(errno, rel, "create a temporary file for");
  auto fail = [&](Status s) {
    fd.reset();
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return s;
  };
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, src->size())));
  for (std::uint64_t off = 0; off < src->size();) {
    if (o_.stop.stop_requested()) return fail(cancelled("extract: cancelled"));
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), src->size() - off));
    const std::span<std::byte> chunk(buf.data(), n);
    if (Status s = src->read_at(off, chunk); !s.ok()) return fail(s);
    for (std::size_t done = 0; done < n;) {
      const ssize_t w = ::write(fd.get(), chunk.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return fail(sys_error(w < 0 ? errno : EIO, rel, "write"));
      done += static_cast<std::size_t>(w);
    }
    off += n;
    rep_.bytes += n;
  }
  if (o_.restore_modes && ::fchmod(fd.get(), perms(e)) != 0)
    return fail(sys_error(errno, rel, "set the mode of"));
  if (o_.restore_times) {
    timespec ts[2];
    times(e, ts);
    if (::futimens(fd.get(), ts) != 0) return fail(sys_error(errno, rel, "set the times of"));
  }
  if (o_.sync && ::fsync(fd.get()) != 0) return fail(sys_error(errno, rel, "fsync"));
  if (::close(fd.release()) != 0) {
    const int err = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return sys_error(err, rel, "close");
  }
  return place(dirfd, tmp, name, rel);
}

Status Extractor::write_symlink(int dirfd, const std::string& name, const std::string& rel,
                                const Entry& e, std::size_t depth) {
  const std::string& target = e.symlink_target;
  if (target.empty() || target.find('\0') != std::string::npos)
    return corrupt_at("iso9660", "rock ridge SL entry", e.record_offset,
                      fmt::format("refusing to create symlink '{}': its target is empty or "
                                  "contains NUL",
                                  rel));
  if (escapes(target, depth))
    diag(Diagnostic::Level::note,
         fmt::format("extract: symlink '{}' -> '{}' points outside the destination (created, "
                     "never followed)",
                     rel, target));
  const std::string tmp = temp_name();
  if (::symlinkat(target.c_str(), dirfd, tmp.c_str()) != 0)
    return sys_error(errno, rel, "create the symlink");
  if (o_.restore_times) {
    timespec ts[2];
    times(e, ts);
    if (::utimensat(dirfd, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) {
      const int err = errno;
      ::unlinkat(dirfd, tmp.c_str(), 0);
      return sys_error(err, rel, "set the times of");
    }
  }
  return place(dirfd, tmp, name, rel);
}

Result<Fd> Extractor::make_dir(int dirfd, const std::string& name, const std::string& rel) {
  if (::mkdirat(dirfd, name.c_str(), 0700) != 0) {
    if (errno != EEXIST) return sys_error(errno, rel, "create the directory");
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return sys_error(errno, rel, "stat");
    if (!S_ISDIR(st.st_mode)) {
      if (S_ISLNK(st.st_mode) && !o_.overwrite)
        return already_exists(fmt::format(
            "extract: '{}' exists as a symlink; refusing to follow it (use --force / overwrite "
            "to replace the symlink itself)",
            rel));
      if (!o_.overwrite)
        return already_exists(fmt::format(
            "extract: '{}' exists and is not a directory (use --force / overwrite to replace it)",
            rel));
      if (::unlinkat(dirfd, name.c_str(), 0) != 0) return sys_error(errno, rel, "remove");
      if (::mkdirat(dirfd, name.c_str(), 0700) != 0)
        return sys_error(errno, rel, "create the directory");
    }
  }
  Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP || errno == ENOTDIR)
      return corrupt(fmt::format(
          "extract: '{}' changed into a symlink or non-directory; refusing to follow it", rel));
    return sys_error(errno, rel, "open the directory");
  }
  return fd;
}

Status Extractor::leave(Frame& f) {
  if (f.apply) {
    if (o_.restore_modes && ::fchmod(f.fd.get(), perms(f.entry)) != 0)
      return sys_error(errno, f.rel, "set the mode of");
    if (o_.restore_times) {
      timespec ts[2];
      times(f.entry, ts);
      if (::futimens(f.fd.get(), ts) != 0) return sys_error(errno, f.rel, "set the times of");
    }
  }
  return {};
}

Status Extractor::visit(const std::string& rel, const Entry& e) {
  if (o_.stop.stop_requested()) return cancelled("extract: cancelled");
  VDISK_RETURN_IF_ERROR(check_component(e.name, rel, e));
  const std::size_t slash = rel.rfind('/');
  const std::string parent = slash == std::string::npos ? std::string() : rel.substr(0, slash);
  // Leave the directories this entry is not inside of (the walk is depth-first).
  while (stack_.size() > 1 && stack_.back().rel != parent) {
    VDISK_RETURN_IF_ERROR(leave(stack_.back()));
    stack_.pop_back();
  }
  Frame& top = stack_.back();
  if (top.rel != parent)
    return internal_error(fmt::format("extract: '{}' arrived outside its directory", rel));
  if (!top.names.insert(e.name).second)
    return corrupt_at("iso9660", "directory record", e.record_offset,
                      fmt::format("refusing to extract '{}': a second entry with this name in "
                                  "one directory",
                                  rel));
  const int dirfd = top.fd.get();
  const std::size_t depth = stack_.size() - 1;
  switch (e.type) {
    case EntryType::directory: {
      VDISK_ASSIGN_OR_RETURN(Fd fd, make_dir(dirfd, e.name, rel));
      ++rep_.directories;
      progress(rel, e);
      Frame f;
      f.rel = rel;
      f.fd = std::move(fd);
      f.entry = e;
      f.apply = true;
      stack_.push_back(std::move(f));
      return {};
    }
    case EntryType::file:
      VDISK_RETURN_IF_ERROR(write_file(dirfd, e.name, rel, e));
      ++rep_.files;
      break;
    case EntryType::symlink:
      VDISK_RETURN_IF_ERROR(write_symlink(dirfd, e.name, rel, e, depth));
      ++rep_.symlinks;
      break;
    default:
      diag(Diagnostic::Level::warning, fmt::format("extract: skipped '{}': a {} is not extracted",
                                                   rel, entry_type_name(e.type)));
      ++rep_.skipped;
      break;
  }
  progress(rel, e);
  return {};
}

Status Extractor::run_tree(const Entry& dir, Fd dest_fd) {
  Frame root;
  root.fd = std::move(dest_fd);
  root.entry = dir;
  stack_.push_back(std::move(root));
  Status s = v_.walk(dir, [this](const std::string& rel, const Entry& e) { return visit(rel, e); });
  // Finish the open directories (innermost first) even after an error, so modes are applied.
  while (stack_.size() > 1) {
    Status l = leave(stack_.back());
    if (s.ok()) s = l;
    stack_.pop_back();
  }
  stack_.clear();
  return s;
}

Status Extractor::run_single(const Entry& e, Fd dir_fd, const std::string& name) {
  switch (e.type) {
    case EntryType::file:
      VDISK_RETURN_IF_ERROR(write_file(dir_fd.get(), name, name, e));
      ++rep_.files;
      break;
    case EntryType::symlink:
      VDISK_RETURN_IF_ERROR(write_symlink(dir_fd.get(), name, name, e, 0));
      ++rep_.symlinks;
      break;
    default:
      return unsupported(
          fmt::format("extract: '{}' is a {}; only files, symlinks and "
                      "directories are extracted",
                      e.name, entry_type_name(e.type)));
  }
  progress(name, e);
  return {};
}

Result<Fd> open_dir(const std::filesystem::path& p) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno_status(errno, "extract: " + p.string(), "open the directory");
  return fd;
}

}  // namespace

Result<ExtractReport> extract(const Volume& volume, std::string_view path,
                              const std::filesystem::path& dest, const ExtractOptions& options) {
  if (dest.empty()) return invalid_argument("extract: the destination is empty");
  VDISK_ASSIGN_OR_RETURN(Entry e, volume.lookup(path));
  Extractor x(volume, options);
  if (e.type == EntryType::directory) {
    if (::mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_status(errno, "extract: " + dest.string(), "create the directory");
    VDISK_ASSIGN_OR_RETURN(Fd fd, open_dir(dest));
    VDISK_RETURN_IF_ERROR(x.run_tree(e, std::move(fd)));
    return x.report();
  }
  // One file or symlink: into DEST when it is a directory, else as DEST.
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    VDISK_RETURN_IF_ERROR(check_component(e.name, e.name, e));
    VDISK_ASSIGN_OR_RETURN(Fd fd, open_dir(dest));
    VDISK_RETURN_IF_ERROR(x.run_single(e, std::move(fd), e.name));
    return x.report();
  }
  const std::string name = dest.filename().string();
  if (name.empty() || name == "." || name == "..")
    return invalid_argument(
        fmt::format("extract: destination '{}' does not name a file (or an existing directory)",
                    dest.string()));
  std::filesystem::path parent = dest.parent_path();
  if (parent.empty()) parent = ".";
  VDISK_ASSIGN_OR_RETURN(Fd fd, open_dir(parent));
  VDISK_RETURN_IF_ERROR(x.run_single(e, std::move(fd), name));
  return x.report();
}

Status stream_file(const Volume& volume, const Entry& file, ByteSink& sink,
                   const std::function<void(std::uint64_t)>& on_bytes, std::stop_token stop) {
  VDISK_ASSIGN_OR_RETURN(auto src, volume.open_file(file));
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, src->size())));
  for (std::uint64_t off = 0; off < src->size();) {
    if (stop.stop_requested()) return cancelled("iso9660: cancelled");
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), src->size() - off));
    const std::span<std::byte> chunk(buf.data(), n);
    VDISK_RETURN_IF_ERROR(src->read_at(off, chunk));
    VDISK_RETURN_IF_ERROR(sink.write(chunk));
    off += n;
    if (on_bytes) on_bytes(off);
  }
  return sink.finish();
}

}  // namespace vdisk::iso9660
