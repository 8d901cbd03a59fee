// grub.cfg for the GRUB repack (see grub_cfg.h). GRUB's script syntax: the GRUB manual, "Shell-
// like scripting" (quoting rules as in sh: '...' literal, \ escapes outside quotes).
#include "formats/iso9660/livecd/grub_cfg.h"

#include <fmt/format.h>

namespace vdisk::livecd {
namespace {

constexpr std::size_t kMaxInput = 64 * 1024;
constexpr std::size_t kMaxInitrds = 64;
constexpr std::size_t kMaxCmdline = 2047;

bool plain_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("_./,:=+@%^~-").find(c) != std::string_view::npos;
}

bool control_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

// A path on the ISO: absolute, no control characters.
Status check_path(std::string_view what, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return invalid_argument(
        fmt::format("grub.cfg: {} path '{}' is not an absolute ISO path", what, path));
  }
  if (path.size() > 4096) {
    return invalid_argument(
        fmt::format("grub.cfg: {} path of {} bytes is longer than 4096", what, path.size()));
  }
  for (char c : path) {
    if (control_char(c)) {
      return invalid_argument(fmt::format("grub.cfg: {} path holds control character 0x{:02x}",
                                          what,
                                          static_cast<unsigned>(static_cast<unsigned char>(c))));
    }
  }
  return ok_status();
}

// Text for a comment or the menu title: control characters become '?'.
std::string tame(std::string_view s) {
  std::string out(s.substr(0, 256));
  for (char& c : out) {
    if (control_char(c)) c = '?';
  }
  return out;
}

}  // namespace

std::string grub_quote(std::string_view word) {
  bool plain = !word.empty();
  for (char c : word) plain = plain && plain_char(c);
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

Result<std::vector<std::string>> grub_kernel_words(std::string_view append) {
  if (append.size() > kMaxInput) {
    return invalid_argument(fmt::format(
        "grub.cfg: kernel command line of {} bytes is longer than {}", append.size(), kMaxInput));
  }
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < append.size()) {
    if (append[i] == ' ' || append[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < append.size() && append[j] != ' ' && append[j] != '\t') ++j;
    const std::string_view word = append.substr(i, j - i);
    for (std::size_t k = 0; k < word.size(); ++k) {
      const char c = word[k];
      if (control_char(c)) {
        return invalid_argument(
            fmt::format("grub.cfg: kernel argument '{}' holds control character 0x{:02x}",
                        tame(word), static_cast<unsigned>(static_cast<unsigned char>(c))));
      }
      if (c == '"' || c == '\'') {
        return invalid_argument(fmt::format(
            "grub.cfg: kernel argument '{}' holds a quote; GRUB escapes quotes with a backslash "
            "(Debian 2.06, 2.12) or not (older builds), so it would not arrive as written",
            word));
      }
      if (c == '\\') {
        return invalid_argument(fmt::format(
            "grub.cfg: kernel argument '{}' holds a backslash; GRUB 2.06 (Debian) doubles every "
            "backslash it passes to the kernel and 2.12 all but \\xNN, so it would not arrive as "
            "written (a label with spaces: use root=live:PARTUUID= of the ISO partition)",
            word));
      }
    }
    words.emplace_back(word);
    i = j;
  }
  return words;
}

Result<std::string> grub_config(const BootEntry& entry, std::string_view iso_volume_id,
                                unsigned iso_partition, const GrubConfigOptions& options) {
  if (options.timeout_seconds > 3600 || options.serial_unit > 3 || options.serial_speed == 0 ||
      options.serial_speed > 4000000 || iso_partition == 0 || iso_partition > 128) {
    return invalid_argument(fmt::format(
        "grub.cfg: timeout {} s (at most 3600), serial unit {} (0..3), speed {}, ISO partition "
        "{} (1..128): out of range",
        options.timeout_seconds, options.serial_unit, options.serial_speed, iso_partition));
  }
  VDISK_RETURN_IF_ERROR(check_path("kernel", entry.kernel));
  if (entry.initrds.size() > kMaxInitrds) {
    return invalid_argument(
        fmt::format("grub.cfg: {} initrds, more than {}", entry.initrds.size(), kMaxInitrds));
  }
  for (const auto& initrd : entry.initrds) VDISK_RETURN_IF_ERROR(check_path("initrd", initrd));
  VDISK_ASSIGN_OR_RETURN(const auto args, grub_kernel_words(entry.append));
  // x86 Linux keeps the first COMMAND_LINE_SIZE - 1 = 2047 bytes of its command line and drops
  // the rest without a word; GRUB puts "BOOT_IMAGE=(hdN,gptN)<kernel> " in front.
  std::size_t cmdline = std::string_view("BOOT_IMAGE=(hd0,gpt000)").size() + entry.kernel.size();
  for (const auto& a : args) cmdline += 1 + a.size();
  if (cmdline > kMaxCmdline) {
    return invalid_argument(fmt::format(
        "grub.cfg: the kernel command line would be about {} bytes with GRUB's BOOT_IMAGE= "
        "prefix; x86 Linux keeps only {}",
        cmdline, kMaxCmdline));
  }
  if (iso_volume_id.size() > 128) {
    return invalid_argument(
        fmt::format("grub.cfg: ISO volume id of {} bytes is too long", iso_volume_id.size()));
  }
  for (char c : iso_volume_id) {
    if (control_char(c)) {
      return invalid_argument("grub.cfg: the ISO volume id holds a control character");
    }
  }

  std::string cfg;
  cfg += "# Written by libvdisk's live-ISO repack (GRUB on the ESP; the ISO is partition ";
  cfg += fmt::format("{}).\n", iso_partition);
  if (!entry.config_file.empty()) {
    cfg += "# Boot entry from the ISO's " + tame(entry.config_file) + "\n";
  }
  cfg += fmt::format("serial --unit={} --speed={}\n", options.serial_unit, options.serial_speed);
  cfg += "terminal_input serial console\n";
  cfg += "terminal_output serial console\n";
  cfg += fmt::format("set timeout={}\n", options.timeout_seconds);
  cfg += "set default=0\n";
  cfg += "if regexp --set=1:vdisk_disk '^(.+),gpt[0-9]+$' \"$root\"; then\n";
  cfg += fmt::format("  set root=\"${{vdisk_disk}},gpt{}\"\n", iso_partition);
  if (!iso_volume_id.empty()) {
    cfg += "else\n";
    cfg += "  search --no-floppy --set=root --label " + grub_quote(iso_volume_id) + "\n";
  }
  cfg += "fi\n";
  const std::string title = entry.label.empty() ? std::string("Live ISO") : tame(entry.label);
  cfg += "menuentry " + grub_quote(title) + " {\n";
  cfg += "  echo \"vdisk: ISO partition ($root)\"\n";
  cfg += "  linux ($root)" + grub_quote(entry.kernel);
  for (const auto& a : args) cfg += " " + grub_quote(a);
  cfg += "\n";
  if (!entry.initrds.empty()) {
    cfg += "  initrd";
    for (const auto& initrd : entry.initrds) cfg += " ($root)" + grub_quote(initrd);
    cfg += "\n";
  }
  cfg += "}\n";
  return cfg;
}

}  // namespace vdisk::livecd
