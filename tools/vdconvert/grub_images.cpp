// Building the GRUB images with grub-mkimage (see grub_images.h).
#include "grub_images.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "vdisk/io.h"

extern char** environ;

namespace vdconvert {
namespace {

constexpr std::uint64_t kMaxImage = 64u << 20;

constexpr std::string_view kEarlyConfig =
    "serial --unit=0 --speed=115200\n"
    "terminal_input serial console\n"
    "terminal_output serial console\n";

// A fresh private directory, removed with its contents on destruction.
class TempDir {
 public:
  static vdisk::Result<TempDir> make(const std::filesystem::path& parent) {
    std::error_code ec;
    std::filesystem::path base = parent.empty() ? std::filesystem::temp_directory_path(ec) : parent;
    if (ec) return vdisk::io_error("grub: no temporary directory: " + ec.message());
    std::string pattern = (base / "vdconvert-grub-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return vdisk::errno_status(errno, pattern, "mkdtemp");
    }
    TempDir d;
    d.path_ = pattern;
    return d;
  }
  TempDir() = default;
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

bool executable(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

// The path of `tool`: itself when it names a path, else the first executable in PATH.
std::string find_tool(const std::string& tool) {
  if (tool.find('/') != std::string::npos) return executable(tool) ? tool : std::string();
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::filesystem::path candidate = std::filesystem::path(dir.empty() ? "." : dir) / tool;
    if (executable(candidate)) return candidate.string();
    if (colon == std::string_view::npos) return std::string();
    dirs = dirs.substr(colon + 1);
  }
}

vdisk::Result<std::vector<std::byte>> read_whole(const std::filesystem::path& path) {
  VDISK_ASSIGN_OR_RETURN(auto file, vdisk::open_file(path));
  if (file->size() > kMaxImage) {
    return vdisk::io_error(
        fmt::format("grub: {} is {} bytes, more than {}", path.string(), file->size(), kMaxImage));
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(file->size()));
  VDISK_RETURN_IF_ERROR(file->read_at(0, bytes));
  return bytes;
}

// The last non-empty line of a file (grub-mkimage's error output), at most 300 bytes.
std::string last_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.size() > 300) last.resize(300);
  return last;
}

// Runs `argv` with stdout to /dev/null and stderr to `log`; waits for it.
vdisk::Status run(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  if (::posix_spawn_file_actions_init(&actions) != 0) {
    return vdisk::io_error("grub: posix_spawn_file_actions_init failed");
  }
  if (::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
      ::posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0) != 0 ||
      ::posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600) != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    return vdisk::io_error("grub: posix_spawn_file_actions_addopen failed");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return vdisk::errno_status(rc, argv[0], "posix_spawn");
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return vdisk::errno_status(errno, argv[0], "waitpid");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return vdisk::ok_status();
  const std::string how =
      WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                        : fmt::format("signal {}", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  const std::string err = last_line(log);
  return vdisk::io_error(fmt::format("grub: {} -O {} failed ({}){}{}", argv[0], argv[2], how,
                                     err.empty() ? "" : ": ", err));
}

vdisk::Result<std::vector<std::byte>> mkimage(const std::string& tool,
                                              const std::filesystem::path& platform_dir,
                                              const char* format, const std::string& prefix,
                                              const std::vector<std::string>& modules,
                                              const TempDir& dir, const char* out_name) {
  const auto out = dir.path() / out_name;
  std::vector<std::string> argv = {tool,
                                   "-O",
                                   format,
                                   "-d",
                                   platform_dir.string(),
                                   "-o",
                                   out.string(),
                                   "-c",
                                   (dir.path() / "early.cfg").string(),
                                   "-p",
                                   prefix};
  argv.insert(argv.end(), modules.begin(), modules.end());
  VDISK_RETURN_IF_ERROR(run(argv, dir.path() / "mkimage.log"));
  std::error_code ec;
  if (!std::filesystem::exists(out, ec)) {
    return vdisk::io_error(
        fmt::format("grub: {} -O {} succeeded but wrote no {}", tool, format, out.string()));
  }
  VDISK_ASSIGN_OR_RETURN(auto bytes, read_whole(out));
  if (bytes.empty()) {
    return vdisk::io_error(
        fmt::format("grub: {} -O {} wrote an empty {}", tool, format, out.string()));
  }
  return bytes;
}

}  // namespace

const std::vector<std::string>& grub_bios_modules() {
  static const std::vector<std::string> m = {
      "biosdisk",     "part_gpt",       "part_msdos", "fat",     "iso9660",    "search",
      "search_label", "search_fs_uuid", "regexp",     "normal",  "configfile", "linux",
      "echo",         "test",           "serial",     "terminal"};
  return m;
}

const std::vector<std::string>& grub_efi_modules() {
  static const std::vector<std::string> m = {
      "part_gpt",       "part_msdos", "fat",      "iso9660",    "search", "search_label",
      "search_fs_uuid", "regexp",     "normal",   "configfile", "linux",  "echo",
      "test",           "serial",     "terminal", "efi_gop",    "efi_uga"};
  return m;
}

vdisk::Result<GrubImages> build_grub_images(const GrubImageOptions& options) {
  const auto bios_dir = options.lib_dir / "i386-pc";
  const auto efi_dir = options.lib_dir / "x86_64-efi";

  // Everything missing, in one line.
  std::vector<std::string> missing;
  const std::string tool = find_tool(options.mkimage);
  if (tool.empty()) missing.push_back(options.mkimage + " (package grub-common)");
  auto need = [&](const std::filesystem::path& p, const char* package) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) {
      missing.push_back(fmt::format("{} (package {})", p.string(), package));
    }
  };
  for (const char* f : {"boot.img", "kernel.img", "moddep.lst"}) need(bios_dir / f, "grub-pc-bin");
  for (const auto& m : grub_bios_modules()) need(bios_dir / (m + ".mod"), "grub-pc-bin");
  for (const char* f : {"kernel.img", "moddep.lst"}) need(efi_dir / f, "grub-efi-amd64-bin");
  for (const auto& m : grub_efi_modules()) need(efi_dir / (m + ".mod"), "grub-efi-amd64-bin");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return vdisk::not_found("grub: missing " + list);
  }

  GrubImages images;
  VDISK_ASSIGN_OR_RETURN(images.boot_image, read_whole(bios_dir / "boot.img"));
  VDISK_ASSIGN_OR_RETURN(auto dir, TempDir::make(options.temp_parent));
  {
    std::ofstream cfg(dir.path() / "early.cfg", std::ios::binary);
    cfg.write(kEarlyConfig.data(), static_cast<std::streamsize>(kEarlyConfig.size()));
    if (!cfg.flush()) {
      return vdisk::io_error("grub: cannot write " + (dir.path() / "early.cfg").string());
    }
  }
  VDISK_ASSIGN_OR_RETURN(images.core_image, mkimage(tool, bios_dir, "i386-pc", options.bios_prefix,
                                                    grub_bios_modules(), dir, "core.img"));
  VDISK_ASSIGN_OR_RETURN(images.efi_image, mkimage(tool, efi_dir, "x86_64-efi", options.efi_prefix,
                                                   grub_efi_modules(), dir, "BOOTX64.EFI"));
  return images;
}

}  // namespace vdconvert
