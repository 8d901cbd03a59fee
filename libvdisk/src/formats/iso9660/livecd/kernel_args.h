// Kernel command line editing for the live-ISO repack (`--kernel-args`, docs/livecd.md §7).
// Pure functions over text.
//
// Words: the command line is split at spaces and tabs (and newlines); a double quote starts a
// quoted run that ends at the next double quote, so `key="a b"` is one word (the quotes are
// kept, as the kernel's own parser sees them). The key of a word is, as for the kernel's
// next_arg(), the text before its first '=' with a leading double quote dropped, or the whole
// word when it has none ("console" for "console=ttyS0,115200n8", "x" for "\"x=1 2\"", "quiet"
// for "quiet"). Keys compare exactly (the kernel treats '-' and
// '_' in parameter names alike; users are expected to spell them as the ISO does).
//
// Edits (`--kernel-args "WORDS"`), applied one word at a time, in order:
// - `key=value`: every existing word with that key is removed and the edit's word takes the
//   place of the first of them (or goes at the end). Several edit words with the same key are
//   all kept, in order: `console=tty0 console=ttyS0,115200n8` given by the user replaces every
//   existing console= word with those two (the last console= becomes /dev/console).
// - `word` (no '='): added at the end unless a word equal to it is already there.
// - `-key`: removes every word with that key (bare or key=value); `-key=value` removes only the
//   words equal to "key=value".
// Words are added before a "--" word when the line has one (what follows "--" goes to init, not
// to the kernel).
#ifndef VDISK_LIVECD_KERNEL_ARGS_H_
#define VDISK_LIVECD_KERNEL_ARGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::livecd {

// Splits a command line into words (an unbalanced double quote runs to the end of the line,
// as the kernel reads it).
std::vector<std::string> split_kernel_args(std::string_view cmdline);
// Joins words with single spaces.
std::string join_kernel_args(const std::vector<std::string>& words);
// The key of a word (see above).
std::string_view kernel_arg_key(std::string_view word);

// Applies `edits` to `cmdline` and returns the new command line (words joined by single
// spaces). invalid_argument, naming the word, for an edit that is "-" alone, has an empty key
// ("=x", "-=x") or an unbalanced double quote.
Result<std::string> edit_kernel_args(std::string_view cmdline, std::string_view edits);

// The serial consoles the cloud targets add: "console=tty0 console=ttyS0,115200n8" (the VGA
// screen and the first serial port, which both clouds' consoles show; the last one is
// /dev/console).
inline constexpr std::string_view kCloudConsoleArgs = "console=tty0 console=ttyS0,115200n8";

// The cloud command line: `cmdline` (e.g. the ISO's, with root=live:CDLABEL=... kept as it is)
// with kCloudConsoleArgs applied as an edit (so they replace any console= words of the ISO),
// unless `user_edits` has a console=... or -console word, then `user_edits` applied. Errors as
// edit_kernel_args() for the user's words.
Result<std::string> cloud_kernel_args(std::string_view cmdline, std::string_view user_edits);

}  // namespace vdisk::livecd

#endif  // VDISK_LIVECD_KERNEL_ARGS_H_
