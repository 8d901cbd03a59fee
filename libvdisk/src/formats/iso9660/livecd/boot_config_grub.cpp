// grub.cfg reader (see boot_config.h): a tokenizer for GRUB's shell-like syntax, a block
// parser, and an evaluator that runs `set`, `source`, menuentry and submenu in order.
#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "formats/iso9660/livecd/boot_config.h"
#include "formats/iso9660/livecd/boot_config_text.h"

namespace vdisk::livecd {

namespace {

// A piece of a word: literal text, or a variable reference (quoted: inside "...").
struct Part {
  bool var = false;
  bool quoted = false;
  std::string text;
};
using Word = std::vector<Part>;

struct Cmd {
  std::vector<Word> words;
  int line = 0;
  bool has_block = false;
  std::vector<Cmd> block;
};

constexpr std::uint32_t kMaxBlockDepth = 64;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

class Parser {
 public:
  Parser(const std::string& file, std::string_view text) : file_(file), t_(text) {}

  Result<std::vector<Cmd>> parse() {
    std::vector<Cmd> cmds;
    VDISK_RETURN_IF_ERROR(block(cmds, 0, 0));
    return cmds;
  }

 private:
  Status error(std::string_view expected, std::string_view found) const {
    return corrupt(fmt::format("{} line {}: expected {}, found {}", file_, line_, expected, found));
  }

  // Reads commands until '}' (depth > 0; consumed) or the end of the text (depth 0).
  Status block(std::vector<Cmd>& out, std::uint32_t depth, int open_line) {
    if (depth > kMaxBlockDepth) return error("at most 64 nested blocks", "more");
    Cmd cmd;
    cmd.line = line_;
    const auto flush = [&] {
      if (!cmd.words.empty() || cmd.has_block) out.push_back(std::move(cmd));
      cmd = Cmd();
      cmd.line = line_;
    };
    for (;;) {
      // Blanks, comments, separators.
      while (pos_ < t_.size()) {
        const char c = t_[pos_];
        if (c == ' ' || c == '\t' || c == '\r') {
          ++pos_;
        } else if (c == '\\' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '\n') {
          pos_ += 2;
          ++line_;
        } else if (c == '#') {
          while (pos_ < t_.size() && t_[pos_] != '\n') ++pos_;
        } else if (c == '\n' || c == ';') {
          if (c == '\n') ++line_;
          ++pos_;
          flush();
        } else {
          break;
        }
      }
      if (pos_ >= t_.size()) {
        flush();
        if (depth > 0)
          return corrupt(
              fmt::format("{} line {}: expected '}}' to close the block opened at line "
                          "{}, found the end of the file",
                          file_, line_, open_line));
        return Status();
      }
      const char c = t_[pos_];
      if (c == '}') {
        ++pos_;
        if (depth == 0) return error("a command", "'}' with no open block");
        flush();
        return Status();
      }
      if (c == '{') {
        ++pos_;
        if (cmd.words.empty()) return error("a command before '{'", "'{'");
        const int opened = line_;
        cmd.has_block = true;
        VDISK_RETURN_IF_ERROR(block(cmd.block, depth + 1, opened));
        flush();
        continue;
      }
      if (cmd.has_block) return error("a new command after '}'", "more words");
      Word w;
      VDISK_RETURN_IF_ERROR(word(w));
      cmd.words.push_back(std::move(w));
    }
  }

  void add_literal(Word& w, char c, bool quoted) {
    if (w.empty() || w.back().var || w.back().quoted != quoted)
      w.push_back(Part{false, quoted, {}});
    w.back().text += c;
  }

  Status variable(Word& w, bool quoted) {
    ++pos_;  // '$'
    Part p{true, quoted, {}};
    if (pos_ < t_.size() && t_[pos_] == '{') {
      const auto close = t_.find('}', pos_);
      if (close == std::string_view::npos) return error("'}' ending ${...}", "the end of the file");
      p.text = std::string(t_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
    } else {
      while (pos_ < t_.size() && is_name_char(t_[pos_])) p.text += t_[pos_++];
      if (p.text.empty() && pos_ < t_.size() &&
          (t_[pos_] == '?' || t_[pos_] == '#' || t_[pos_] == '@' || t_[pos_] == '*'))
        p.text = std::string(1, t_[pos_++]);
      if (p.text.empty()) {
        add_literal(w, '$', quoted);
        return Status();
      }
    }
    w.push_back(std::move(p));
    return Status();
  }

  Status word(Word& w) {
    while (pos_ < t_.size()) {
      const char c = t_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}')
        break;
      if (c == '\\') {
        if (pos_ + 1 >= t_.size()) return error("a character after '\\'", "the end of the file");
        if (t_[pos_ + 1] == '\n') {
          pos_ += 2;
          ++line_;
          continue;
        }
        add_literal(w, t_[pos_ + 1], true);
        pos_ += 2;
      } else if (c == '\'') {
        const auto close = t_.find('\'', pos_ + 1);
        if (close == std::string_view::npos)
          return error("a closing single quote", "the end of the file");
        for (std::size_t i = pos_ + 1; i < close; ++i) {
          if (t_[i] == '\n') ++line_;
          add_literal(w, t_[i], true);
        }
        if (close == pos_ + 1) w.push_back(Part{false, true, {}});
        pos_ = close + 1;
      } else if (c == '"') {
        ++pos_;
        bool closed = false;
        bool any = false;
        while (pos_ < t_.size()) {
          const char d = t_[pos_];
          if (d == '"') {
            ++pos_;
            closed = true;
            break;
          }
          if (d == '\\' && pos_ + 1 < t_.size() &&
              (t_[pos_ + 1] == '"' || t_[pos_ + 1] == '\\' || t_[pos_ + 1] == '$' ||
               t_[pos_ + 1] == '\n')) {
            if (t_[pos_ + 1] != '\n') add_literal(w, t_[pos_ + 1], true);
            if (t_[pos_ + 1] == '\n') ++line_;
            pos_ += 2;
            any = true;
            continue;
          }
          if (d == '$') {
            VDISK_RETURN_IF_ERROR(variable(w, true));
            any = true;
            continue;
          }
          if (d == '\n') ++line_;
          add_literal(w, d, true);
          any = true;
          ++pos_;
        }
        if (!closed) return error("a closing double quote", "the end of the file");
        if (!any) w.push_back(Part{false, true, {}});
      } else if (c == '$') {
        VDISK_RETURN_IF_ERROR(variable(w, false));
      } else {
        add_literal(w, c, false);
        ++pos_;
      }
    }
    return Status();
  }

  const std::string& file_;
  std::string_view t_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

using Vars = std::map<std::string, std::string, std::less<>>;

// Expands a word; an unquoted lone variable splits at blanks (GRUB's field splitting), an
// unquoted empty expansion gives no word.
void expand(const Word& w, const Vars& vars, std::vector<std::string>& out) {
  if (w.size() == 1 && w[0].var && !w[0].quoted) {
    const auto it = vars.find(w[0].text);
    if (it != vars.end())
      for (auto& s : detail::split_blank(it->second)) out.push_back(std::move(s));
    return;
  }
  std::string s;
  bool any_quoted = false;
  for (const Part& p : w) {
    any_quoted = any_quoted || p.quoted;
    if (p.var) {
      const auto it = vars.find(p.text);
      if (it != vars.end()) s += it->second;
    } else {
      s += p.text;
    }
  }
  if (!s.empty() || any_quoted) out.push_back(std::move(s));
}

std::vector<std::string> expand_all(const std::vector<Word>& words, const Vars& vars) {
  std::vector<std::string> out;
  for (const auto& w : words) expand(w, vars, out);
  return out;
}

struct Item {
  std::string title, id;
  bool submenu = false;
  std::string file;
  int line = 0;
  const std::vector<Cmd>* body = nullptr;
  std::vector<Item> children;  // submenu items
};

class Evaluator {
 public:
  Evaluator(const ConfigLoader& load, const BootConfigLimits& limits)
      : load_(load), limits_(limits) {}

  Status run_file(const std::string& path, std::string_view text, std::uint32_t depth,
                  std::vector<Item>& items) {
    if (++files_ > limits_.max_files)
      return resource_exhausted(
          fmt::format("{}: more than {} configuration files read", path, limits_.max_files));
    if (text.size() > limits_.max_file_bytes)
      return resource_exhausted(fmt::format("{}: {} bytes, over the limit of {}", path, text.size(),
                                            limits_.max_file_bytes));
    paths_.push_back(std::make_unique<std::string>(path));
    Parser parser(*paths_.back(), text);
    VDISK_ASSIGN_OR_RETURN(auto cmds, parser.parse());
    parsed_.push_back(std::make_unique<std::vector<Cmd>>(std::move(cmds)));
    return run(*parsed_.back(), *paths_.back(), depth, items);
  }

  Vars vars;
  std::vector<std::string> notes;

 private:
  Status run(const std::vector<Cmd>& cmds, const std::string& path, std::uint32_t depth,
             std::vector<Item>& items) {
    for (const Cmd& c : cmds) {
      std::vector<std::string> w = expand_all(c.words, vars);
      // Flatten shell control words: both branches of an if, loop bodies once.
      while (!w.empty() && (w[0] == "then" || w[0] == "else" || w[0] == "do")) w.erase(w.begin());
      if (w.empty()) {
        if (c.has_block) VDISK_RETURN_IF_ERROR(run(c.block, path, depth, items));
        continue;
      }
      const std::string& verb = w[0];
      if (verb == "if" || verb == "elif" || verb == "while" || verb == "until" || verb == "for" ||
          verb == "fi" || verb == "done" || verb == "function")
        continue;
      if (verb == "set") {
        for (std::size_t i = 1; i < w.size(); ++i) {
          const auto eq = w[i].find('=');
          if (eq != std::string::npos && eq > 0) vars[w[i].substr(0, eq)] = w[i].substr(eq + 1);
        }
        continue;
      }
      if (verb == "menuentry" || verb == "submenu") {
        if (!c.has_block)
          return corrupt(fmt::format("{} line {}: expected a {{ ... }} block after {}, found none",
                                     path, c.line, verb));
        if (++item_count_ > limits_.max_entries)
          return resource_exhausted(fmt::format("{} line {}: more than {} menu items", path, c.line,
                                                limits_.max_entries));
        Item it;
        it.submenu = verb == "submenu";
        it.file = path;
        it.line = c.line;
        it.body = &c.block;
        for (std::size_t i = 1; i < w.size(); ++i) {
          const std::string& a = w[i];
          if (a == "--id" || a == "--class" || a == "--users" || a == "--hotkey") {
            if (i + 1 < w.size() && a == "--id") it.id = w[i + 1];
            ++i;
          } else if (a.starts_with("--id=")) {
            it.id = a.substr(5);
          } else if (a.starts_with("--")) {
            continue;
          } else if (it.title.empty()) {
            it.title = a;
          }
        }
        if (it.submenu) {
          const Vars saved = vars;
          VDISK_RETURN_IF_ERROR(run(c.block, path, depth, it.children));
          vars = saved;
        }
        items.push_back(std::move(it));
        continue;
      }
      if (verb == "source" || verb == "configfile" || verb == ".") {
        if (w.size() < 2)
          return corrupt(fmt::format("{} line {}: expected a file name after {}, found nothing",
                                     path, c.line, verb));
        if (depth + 1 > limits_.max_include_depth)
          return resource_exhausted(fmt::format("{} line {}: {} nested deeper than {} files", path,
                                                c.line, verb, limits_.max_include_depth));
        const std::string target = resolve_iso_path("/", strip_device(w[1]));
        auto text = load_(target);
        if (!text.ok()) {
          if (text.status().code() == Errc::not_found) {
            notes.push_back(
                fmt::format("{} line {}: {} {}: not on the ISO", path, c.line, verb, target));
            continue;
          }
          return Status(text.status().code(), fmt::format("{} line {}: {} {}: {}", path, c.line,
                                                          verb, target, text.status().message()));
        }
        VDISK_RETURN_IF_ERROR(run_file(target, *text, depth + 1, items));
        continue;
      }
      if (c.has_block && verb != "function")
        VDISK_RETURN_IF_ERROR(run(c.block, path, depth, items));
    }
    return Status();
  }

 public:
  static std::string strip_device(std::string_view p) {
    if (p.starts_with("(")) {
      const auto close = p.find(')');
      if (close != std::string_view::npos) return std::string(p.substr(close + 1));
    }
    return std::string(p);
  }

 private:
  const ConfigLoader& load_;
  const BootConfigLimits& limits_;
  std::uint32_t files_ = 0;
  std::uint32_t item_count_ = 0;
  std::vector<std::unique_ptr<std::string>> paths_;
  std::vector<std::unique_ptr<std::vector<Cmd>>> parsed_;
};

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Picks the item `spec` names at one menu level: index, title or id; nullptr when none.
const Item* pick(const std::vector<Item>& items, std::string_view spec) {
  if (all_digits(spec)) {
    const auto n = std::stoul(std::string(spec));
    return n < items.size() ? &items[n] : nullptr;
  }
  for (const auto& it : items)
    if (it.title == spec || (!it.id.empty() && it.id == spec)) return &it;
  return nullptr;
}

std::string quote_arg(const std::string& a) {
  if (a.find_first_of(" \t") == std::string::npos && !a.empty()) return a;
  return "\"" + a + "\"";
}

}  // namespace

Result<BootEntry> parse_grub_config(const std::string& path, std::string_view text,
                                    const ConfigLoader& load, const BootConfigLimits& limits) {
  const std::string abs = resolve_iso_path("/", path);
  Evaluator ev(load, limits);
  std::vector<Item> items;
  VDISK_RETURN_IF_ERROR(ev.run_file(abs, text, 0, items));
  if (items.empty()) return not_found(fmt::format("{}: no menuentry", abs));

  const auto def = ev.vars.find("default");
  const std::string spec = def == ev.vars.end() ? std::string() : def->second;
  const Item* chosen = nullptr;
  const std::vector<Item>* level = &items;
  std::string_view rest = spec;
  while (!rest.empty()) {
    const auto gt = rest.find('>');
    const std::string_view one = rest.substr(0, gt);
    const Item* it = pick(*level, one);
    if (it == nullptr) {
      chosen = nullptr;
      break;
    }
    chosen = it;
    if (gt == std::string_view::npos) break;
    rest = rest.substr(gt + 1);
    level = &it->children;
  }
  if (chosen == nullptr) chosen = &items.front();  // GRUB falls back to the first item
  while (chosen->submenu) {
    if (chosen->children.empty())
      return not_found(fmt::format("{} line {}: the default submenu \"{}\" is empty", chosen->file,
                                   chosen->line, chosen->title));
    chosen = &chosen->children.front();
  }

  BootEntry e;
  e.config_file = chosen->file;
  e.label = chosen->title;
  Vars local = ev.vars;
  std::vector<std::string> args;
  bool have_kernel = false;
  // The entry's body: set, linux*, initrd*; blocks (if/else) read in order.
  std::vector<std::pair<const std::vector<Cmd>*, std::size_t>> work{{chosen->body, 0}};
  while (!work.empty()) {
    auto& [cmds, index] = work.back();
    if (index >= cmds->size()) {
      work.pop_back();
      continue;
    }
    const Cmd& c = (*cmds)[index++];
    std::vector<std::string> w = expand_all(c.words, local);
    while (!w.empty() && (w[0] == "then" || w[0] == "else" || w[0] == "do")) w.erase(w.begin());
    if (c.has_block && (w.empty() || w[0] != "function")) {
      work.emplace_back(&c.block, 0);
      if (w.empty()) continue;
    }
    if (w.empty()) continue;
    const std::string& verb = w[0];
    if (verb == "set") {
      for (std::size_t i = 1; i < w.size(); ++i) {
        const auto eq = w[i].find('=');
        if (eq != std::string::npos && eq > 0) local[w[i].substr(0, eq)] = w[i].substr(eq + 1);
      }
    } else if (verb == "linux" || verb == "linux16" || verb == "linuxefi") {
      if (w.size() < 2)
        return corrupt(fmt::format("{} line {}: expected a kernel path after {}, found nothing",
                                   chosen->file, c.line, verb));
      const std::string p = Evaluator::strip_device(w[1]);
      if (!p.starts_with('/'))
        return corrupt(fmt::format("{} line {}: expected an absolute kernel path, found \"{}\"",
                                   chosen->file, c.line, w[1]));
      e.kernel = resolve_iso_path("/", p);
      args.assign(w.begin() + 2, w.end());
      have_kernel = true;
    } else if (verb == "initrd" || verb == "initrd16" || verb == "initrdefi") {
      e.initrds.clear();
      for (std::size_t i = 1; i < w.size(); ++i) {
        if (w[i].starts_with("--")) continue;  // --newc:NAME:FILE style options
        const std::string p = Evaluator::strip_device(w[i]);
        if (!p.starts_with('/'))
          return corrupt(fmt::format("{} line {}: expected an absolute initrd path, found \"{}\"",
                                     chosen->file, c.line, w[i]));
        e.initrds.push_back(resolve_iso_path("/", p));
      }
    } else if (verb == "chainloader" || verb == "multiboot" || verb == "multiboot2") {
      return unsupported(
          fmt::format("{} line {}: the default entry \"{}\" runs {}, not a Linux "
                      "kernel",
                      chosen->file, c.line, chosen->title, verb));
    }
  }
  if (!have_kernel)
    return unsupported(fmt::format("{} line {}: the default entry \"{}\" has no linux command",
                                   chosen->file, chosen->line, chosen->title));
  std::string cmdline;
  for (const auto& a : args) {
    if (a.empty()) continue;
    if (!cmdline.empty()) cmdline += ' ';
    cmdline += quote_arg(a);
  }
  e.append = std::move(cmdline);
  return e;
}

}  // namespace vdisk::livecd
