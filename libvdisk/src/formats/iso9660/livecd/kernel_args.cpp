// Kernel command line editing (see kernel_args.h).
#include "formats/iso9660/livecd/kernel_args.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace vdisk::livecd {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool balanced_quotes(std::string_view w) { return std::count(w.begin(), w.end(), '"') % 2 == 0; }

// Index of the first "--" word (where additions go), or words.size().
std::size_t insertion_end(const std::vector<std::string>& words) {
  const auto it = std::find(words.begin(), words.end(), "--");
  return static_cast<std::size_t>(it - words.begin());
}

}  // namespace

std::vector<std::string> split_kernel_args(std::string_view cmdline) {
  std::vector<std::string> words;
  std::string cur;
  bool quoted = false, in_word = false;
  for (char c : cmdline) {
    if (!quoted && is_space(c)) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
      continue;
    }
    if (c == '"') quoted = !quoted;
    cur += c;
    in_word = true;
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

std::string join_kernel_args(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

std::string_view kernel_arg_key(std::string_view word) {
  // As the kernel's next_arg(): a leading quote is dropped, the first '=' ends the name.
  if (word.starts_with('"')) word.remove_prefix(1);
  const auto eq = word.find('=');
  return eq == std::string_view::npos ? word : word.substr(0, eq);
}

Result<std::string> edit_kernel_args(std::string_view cmdline, std::string_view edits) {
  std::vector<std::string> words = split_kernel_args(cmdline);
  std::set<std::string, std::less<>> claimed;  // keys the edits have set
  for (const std::string& edit : split_kernel_args(edits)) {
    if (!balanced_quotes(edit))
      return invalid_argument(fmt::format("kernel args: unbalanced double quote in \"{}\"", edit));
    const bool remove = edit.starts_with('-') && edit != "--";
    const std::string_view target = remove ? std::string_view(edit).substr(1) : edit;
    const std::string_view key = kernel_arg_key(target);
    if (target.empty() || key.empty())
      return invalid_argument(fmt::format(
          "kernel args: \"{}\": expected key=value, a word, or -key / -key=value", edit));
    const bool has_value = key.size() != target.size();
    if (remove) {
      std::erase_if(words, [&](const std::string& w) {
        return has_value ? w == target : kernel_arg_key(w) == key && w != "--";
      });
      continue;
    }
    if (!has_value) {
      if (std::find(words.begin(), words.end(), edit) == words.end())
        words.insert(words.begin() + static_cast<std::ptrdiff_t>(insertion_end(words)), edit);
      continue;
    }
    const std::size_t end = insertion_end(words);
    if (claimed.count(key) != 0) {
      // After the last word with this key (the previous edits' words).
      std::size_t at = end;
      for (std::size_t i = 0; i < end; ++i)
        if (kernel_arg_key(words[i]) == key) at = i + 1;
      words.insert(words.begin() + static_cast<std::ptrdiff_t>(at), edit);
      continue;
    }
    claimed.emplace(key);
    std::size_t first = end;
    for (std::size_t i = 0; i < end; ++i) {
      if (kernel_arg_key(words[i]) == key) {
        first = i;
        break;
      }
    }
    // Remove every word with the key before "--", then put the edit where the first one was.
    std::vector<std::string> kept;
    kept.reserve(words.size() + 1);
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (i == first) kept.push_back(edit);
      if (i < end && kernel_arg_key(words[i]) == key) continue;
      kept.push_back(std::move(words[i]));
    }
    if (first == words.size()) kept.push_back(edit);
    words = std::move(kept);
  }
  return join_kernel_args(words);
}

Result<std::string> cloud_kernel_args(std::string_view cmdline, std::string_view user_edits) {
  bool user_console = false;
  for (const std::string& w : split_kernel_args(user_edits)) {
    const std::string_view t = w.starts_with('-') ? std::string_view(w).substr(1) : w;
    if (kernel_arg_key(t) == "console") user_console = true;
  }
  std::string line(cmdline);
  if (!user_console) {
    VDISK_ASSIGN_OR_RETURN(line, edit_kernel_args(line, kCloudConsoleArgs));
  }
  return edit_kernel_args(line, user_edits);
}

}  // namespace vdisk::livecd
