// Everything vdconvert says about its own options, generated from the command tables so that
// none of it can drift from what the parser accepts: the usage lines, --help, the man page
// (`vdconvert --generate man`), the bash completion (`--generate bash-completion`) and the
// Markdown reference in docs/cli.md (`--generate markdown`).
#include <fmt/format.h>

#include <algorithm>

#include "cli.h"
#include "vdisk/check.h"
#include "vdisk/image.h"
#include "vdisk/version.h"

namespace vdconvert {
namespace {

constexpr std::size_t kWidth = 79;  // wrap the usage lines of --help below this

const char* const kExitStatus =
    "  0    success\n"
    "  1    usage error (bad arguments, DST exists without --force, SRC is DST, unknown target)\n"
    "  2    corrupt or invalid input\n"
    "  3    I/O error (read or write failed, file missing, no space left)\n"
    "  4    the input uses an unsupported feature\n"
    "  5    check found rule violations\n"
    "  6    internal error\n"
    "  130  interrupted (SIGINT or SIGTERM); no output is left behind\n";

const char* const kEnvironment =
    "  SOURCE_DATE_EPOCH  Unix time stored as the VHD footer timestamp instead of now,\n"
    "                     for reproducible output.\n";

// The names the library knows, so the help never goes stale when a format is added.
std::string known_names() {
  return fmt::format("Input formats: {}\nOutput targets: {}\nCheck targets: {}\n",
                     fmt::join(vdisk::input_formats(), ", "),
                     fmt::join(vdisk::target_names(), ", "),
                     fmt::join(vdisk::check_targets(), ", "));
}

// "-f|--from FMT" (usage) or "-f, --from FMT" (option list).
std::string option_words(const OptionSpec& opt, std::string_view between) {
  std::string out = opt.alias.empty() ? std::string(opt.name)
                                      : fmt::format("{}{}{}", opt.alias, between, opt.name);
  if (opt.value_optional)
    out += fmt::format("[={}]", opt.metavar);
  else if (!opt.metavar.empty())
    out += fmt::format(" {}", opt.metavar);
  return out;
}

std::string usage_token(const OptionSpec& opt) {
  const std::string w = option_words(opt, "|");
  return opt.required ? w : "[" + w + "]";
}

}  // namespace

std::vector<std::string_view> option_choices(const OptionSpec& opt) {
  if (opt.choices) return opt.choices();
  return {opt.setting_choices.begin(), opt.setting_choices.end()};
}

namespace {

const OptionSpec* option_named(const CommandSpec& spec, std::string_view name) {
  for (const auto& opt : spec.options)
    if (opt.name == name) return &opt;
  return nullptr;
}

// The words of one usage line: "vdconvert", the command, [the subcommand], options, operands.
std::vector<std::string> usage_tokens(const CommandSpec& spec, const SubcommandSpec* sub) {
  std::vector<std::string> t = {"vdconvert", std::string(spec.name)};
  if (sub) {
    t.emplace_back(sub->name);
    for (const auto name : sub->options)
      if (const OptionSpec* opt = option_named(spec, name)) t.push_back(usage_token(*opt));
    for (const auto op : sub->operands) t.emplace_back(op);
  } else {
    for (const auto& opt : spec.options) t.push_back(usage_token(opt));
    for (const auto op : spec.operands) t.emplace_back(op);
  }
  return t;
}

// Joins `tokens`, breaking before a token that would pass kWidth; continuation lines are
// indented under the first option (tokens[first_option]).
std::string wrap(const std::vector<std::string>& tokens, std::size_t first_col,
                 std::size_t first_option) {
  std::string out;
  std::size_t col = first_col, indent = first_col;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i == first_option) indent = col + 1;
    if (i > first_option && col + 1 + tokens[i].size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      col = indent;
    } else if (i > 0) {
      out += ' ';
      ++col;
    }
    out += tokens[i];
    col += tokens[i].size();
  }
  return out;
}

std::string join(const std::vector<std::string>& tokens) {
  return fmt::format("{}", fmt::join(tokens, " "));
}

// roff: a backslash is \e, a minus \- (so that options can be searched and copied), and a line
// must not start with a control character.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
    line_start = c == '\n';
  }
  return out;
}

// "\fB\-f\fR, \fB\-\-from\fR \fIFMT\fR"
std::string roff_option(const OptionSpec& opt) {
  std::string out;
  if (!opt.alias.empty()) out += fmt::format("\\fB{}\\fR, ", roff(opt.alias));
  out += fmt::format("\\fB{}\\fR", roff(opt.name));
  if (opt.value_optional)
    out += fmt::format("[=\\fI{}\\fR]", roff(opt.metavar));
  else if (!opt.metavar.empty())
    out += fmt::format(" \\fI{}\\fR", roff(opt.metavar));
  return out;
}

std::string choices_text(const OptionSpec& opt) {
  return fmt::format("{}", fmt::join(option_choices(opt), ", "));
}

// The usage lines wrapped below kWidth, indented for "Usage: " (`first_col` wide) in --help and
// the man page.
std::vector<std::string> wrapped_usage(const CommandSpec& spec, std::size_t first_col) {
  std::vector<std::string> out;
  if (spec.subcommands.empty()) out.push_back(wrap(usage_tokens(spec, nullptr), first_col, 2));
  for (const auto& sub : spec.subcommands)
    out.push_back(wrap(usage_tokens(spec, &sub), first_col, 3));
  return out;
}

}  // namespace

std::vector<std::string> usage_lines(const CommandSpec& spec) {
  std::vector<std::string> out;
  if (spec.subcommands.empty()) {
    out.push_back(join(usage_tokens(spec, nullptr)));
  } else {
    for (const auto& sub : spec.subcommands) out.push_back(join(usage_tokens(spec, &sub)));
  }
  return out;
}

std::string global_help(std::span<const CommandSpec> table) {
  std::string out =
      "Usage: vdconvert COMMAND [OPTIONS] ARGS...\n"
      "       vdconvert --help | --version | COMMAND --help | help COMMAND\n"
      "\n"
      "Convert, inspect and check virtual-disk images.\n"
      "\n"
      "Commands:\n";
  for (const auto& spec : table) out += fmt::format("  {:<12}{}\n", spec.name, spec.summary);
  out += "\nExit status:\n";
  out += kExitStatus;
  out += "\n" + known_names() + "\nEnvironment:\n" + kEnvironment;
  return out;
}

std::string command_help(const CommandSpec& spec) {
  std::string out;
  const auto lines = wrapped_usage(spec, 7);
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += (i ? "       " : "Usage: ") + lines[i] + "\n";
  out += fmt::format("\n{}\n", spec.summary);
  if (!spec.subcommands.empty()) {
    out += "\nSubcommands:\n";
    for (const auto& sub : spec.subcommands)
      out += fmt::format("  {:<20}  {}\n", sub.name, sub.summary);
  }
  std::size_t w = 20;  // the option column: as wide as the widest option
  for (const auto& opt : spec.options) w = std::max(w, option_words(opt, ", ").size());
  out += "\nOptions:\n";
  for (const auto& opt : spec.options) {
    out += fmt::format("  {:<{}}  {}\n", option_words(opt, ", "), w, opt.help);
    if (!option_choices(opt).empty())
      out += fmt::format("  {:<{}}  {}: {}\n", "", w, opt.metavar, choices_text(opt));
  }
  out += fmt::format("  {:<{}}  {}\n", "-h, --help", w, "show this help");
  if (!spec.details.empty()) out += fmt::format("\n{}", spec.details);
  out += "\n" + known_names();
  out +=
      "\nExit status: 0 ok, 1 usage, 2 corrupt input, 3 I/O error, 4 unsupported,\n"
      "5 check failed, 6 internal error, 130 interrupted (see 'vdconvert --help').\n";
  return out;
}

std::string man_page(std::span<const CommandSpec> table) {
  std::string out = fmt::format(
      ".\\\" Generated by `vdconvert --generate man` from the command tables; do not edit.\n"
      ".TH VDCONVERT 1 \"\" \"vdconvert {}\" \"User Commands\"\n"
      ".SH NAME\n"
      "vdconvert \\- convert, inspect and check virtual\\-disk images\n"
      ".SH SYNOPSIS\n"
      ".nf\n",
      roff(vdisk::version()));
  for (const auto& spec : table)
    for (const auto& line : wrapped_usage(spec, 7)) out += roff(line) + "\n";
  out += roff("vdconvert --help | --version | COMMAND --help | help COMMAND\n");
  out +=
      ".fi\n"
      ".SH DESCRIPTION\n"
      "\\fBvdconvert\\fR converts, inspects and checks virtual\\-disk images.\n"
      "Options may come before or after the operands; \\fB\\-\\-\\fR ends the options.\n"
      "A value option is written \\fB\\-\\-name\\fR \\fIVALUE\\fR or \\fB\\-\\-name=\\fR"
      "\\fIVALUE\\fR, or with its one\\-letter alias as \\fB\\-x\\fR \\fIVALUE\\fR or "
      "\\fB\\-x\\fR\\fIVALUE\\fR.\n"
      "One\\-letter flags may be bundled (\\fB\\-lR\\fR); a bundle may end with one value "
      "option.\n"
      "\\fB\\-q\\fR (\\fB\\-\\-quiet\\fR) silences notes on every command; warnings and errors "
      "are always printed.\n"
      ".SH COMMANDS\n";
  for (const auto& spec : table) {
    out += fmt::format(".SS {}\n{}\n.PP\n.nf\n", roff(spec.name), roff(spec.summary));
    for (const auto& line : wrapped_usage(spec, 7)) out += roff(line) + "\n";
    out += ".fi\n";
    for (const auto& sub : spec.subcommands)
      out += fmt::format(".TP\n\\fB{}\\fR\n{}\n", roff(sub.name), roff(sub.summary));
    for (const auto& opt : spec.options) {
      out += fmt::format(".TP\n{}\n{}", roff_option(opt), roff(opt.help));
      if (!option_choices(opt).empty()) out += fmt::format("; one of: {}", roff(choices_text(opt)));
      out += "\n";
    }
    out += ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow this help\n";
    if (!spec.details.empty()) out += ".PP\n.nf\n" + roff(spec.details) + ".fi\n";
  }
  out += ".SH NAMES\n.nf\n" + roff(known_names()) + ".fi\n";
  out += ".SH EXIT STATUS\n.nf\n" + roff(kExitStatus) + ".fi\n";
  out += ".SH ENVIRONMENT\n.nf\n" + roff(kEnvironment) + ".fi\n";
  return out;
}

namespace {

// The `case "$prev"` arms of one command: the values of its value options.
std::string completion_values(const CommandSpec& spec) {
  std::string out;
  for (const auto& opt : spec.options) {
    if (opt.metavar.empty() || opt.value_optional) continue;  // no value in the next word
    std::string pattern(opt.name);
    if (!opt.alias.empty()) pattern += "|" + std::string(opt.alias);
    std::string action = "return 0";  // a number or a free word: nothing to offer
    if (const auto choices = option_choices(opt); !choices.empty())
      action = fmt::format("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); return 0",
                           fmt::join(choices, " "));
    else if (opt.metavar == "FILE")
      action = "COMPREPLY=($(compgen -f -- \"$cur\")); return 0";
    out += fmt::format("        {}) {} ;;\n", pattern, action);
  }
  return out;
}

std::string all_option_words(const CommandSpec& spec, const SubcommandSpec* sub) {
  std::vector<std::string_view> words;
  for (const auto& opt : spec.options) {
    if (sub && std::find(sub->options.begin(), sub->options.end(), opt.name) == sub->options.end())
      continue;
    words.push_back(opt.name);
    if (!opt.alias.empty()) words.push_back(opt.alias);
  }
  words.push_back("--help");
  return fmt::format("{}", fmt::join(words, " "));
}

// The value options' spellings, as a case pattern: "--from|-f|--to|-O".
std::string value_option_pattern(const CommandSpec& spec) {
  std::vector<std::string_view> words;
  for (const auto& opt : spec.options) {
    if (opt.metavar.empty() || opt.value_optional) continue;
    words.push_back(opt.name);
    if (!opt.alias.empty()) words.push_back(opt.alias);
  }
  return words.empty() ? std::string("--help") : fmt::format("{}", fmt::join(words, "|"));
}

}  // namespace

std::string bash_completion(std::span<const CommandSpec> table) {
  std::vector<std::string_view> verbs;
  for (const auto& spec : table) verbs.push_back(spec.name);
  std::string out = fmt::format(
      "# bash completion for vdconvert; generated by `vdconvert --generate bash-completion`\n"
      "# from the command tables (do not edit).\n"
      "_vdconvert() {{\n"
      "  local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" prev=\"\" verb sub=\"\" i w skip=0\n"
      "  ((COMP_CWORD > 0)) && prev=\"${{COMP_WORDS[COMP_CWORD - 1]}}\"\n"
      "  # --name=value: bash splits at '='.\n"
      "  if [[ $cur == \"=\" ]]; then\n"
      "    cur=\"\"\n"
      "  elif [[ $prev == \"=\" ]] && ((COMP_CWORD > 1)); then\n"
      "    prev=\"${{COMP_WORDS[COMP_CWORD - 2]}}\"\n"
      "  fi\n"
      "  COMPREPLY=()\n"
      "  if ((COMP_CWORD <= 1)); then\n"
      "    COMPREPLY=($(compgen -W \"{} help --help --version\" -- \"$cur\"))\n"
      "    return 0\n"
      "  fi\n"
      "  verb=\"${{COMP_WORDS[1]}}\"\n"
      "  if [[ $verb == help ]]; then\n"
      "    ((COMP_CWORD == 2)) && COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n"
      "    return 0\n"
      "  fi\n"
      "  case \"$verb\" in\n",
      fmt::join(verbs, " "), fmt::join(verbs, " "));
  for (const auto& spec : table) {
    out += fmt::format("    {})\n      case \"$prev\" in\n{}      esac\n", spec.name,
                       completion_values(spec));
    if (spec.subcommands.empty()) {
      out += fmt::format(
          "      if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n"
          "        return 0\n"
          "      fi\n",
          all_option_words(spec, nullptr));
    } else {
      // The subcommand is the first word after the verb that is neither an option nor the
      // value of one.
      std::vector<std::string_view> subs;
      for (const auto& s : spec.subcommands) subs.push_back(s.name);
      out += fmt::format(
          "      for ((i = 2; i < COMP_CWORD; i++)); do\n"
          "        w=\"${{COMP_WORDS[i]}}\"\n"
          "        if ((skip)); then [[ $w == \"=\" ]] || skip=0; continue; fi\n"
          "        case \"$w\" in\n"
          "          {}) skip=1 ;;\n"
          "          -*) ;;\n"
          "          *) sub=\"$w\"; break ;;\n"
          "        esac\n"
          "      done\n"
          "      if [[ -z $sub && $cur != -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))\n"
          "        return 0\n"
          "      fi\n"
          "      if [[ $cur == -* ]]; then\n"
          "        case \"$sub\" in\n",
          value_option_pattern(spec), fmt::join(subs, " "));
      for (const auto& s : spec.subcommands)
        out += fmt::format("          {}) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;\n",
                           s.name, all_option_words(spec, &s));
      out += fmt::format(
          "          *) COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")) ;;\n"
          "        esac\n"
          "        return 0\n"
          "      fi\n",
          all_option_words(spec, nullptr));
    }
    out += "      ;;\n";
  }
  out +=
      "    *) return 0 ;;\n"
      "  esac\n"
      "  COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      "  return 0\n"
      "}\n"
      "complete -o filenames -o bashdefault -F _vdconvert vdconvert\n";
  return out;
}

namespace {

// Text for a Markdown table cell or paragraph: `|` would end the cell, and `\`, `` ` ``, `*`,
// `[`, `]` and `<` would start markup; `_` only does at a word's edge. A line break becomes a
// space (a cell is one line).
std::string markdown_text(std::string_view text) {
  const auto word_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      out += ' ';
      continue;
    }
    const bool edge_underscore = c == '_' && (i == 0 || !word_char(text[i - 1]) ||
                                              i + 1 == text.size() || !word_char(text[i + 1]));
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '[' || c == ']' || c == '<' ||
        edge_underscore)
      out += '\\';
    out += c;
  }
  return out;
}

// A word in a code span inside a table cell (names, aliases, values never hold a backtick;
// `|` still ends the cell inside a code span, so it is escaped there too).
std::string markdown_code(std::string_view word) {
  if (word.empty()) return "";
  std::string out = "`";
  for (const char c : word) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out + "`";
}

std::string markdown_choices(const OptionSpec& opt) {
  std::vector<std::string> words;
  for (const auto c : option_choices(opt)) words.push_back(markdown_code(c));
  return fmt::format("{}", fmt::join(words, ", "));
}

}  // namespace

std::string markdown_reference(std::span<const CommandSpec> table) {
  std::string out =
      "<!-- Generated by `vdconvert --generate markdown` from the command tables; do not edit. "
      "-->\n";
  for (const auto& spec : table) {
    out += fmt::format("\n### vdconvert {}\n\n{}\n\n```text\n", spec.name,
                       markdown_text(spec.summary));
    for (const auto& line : wrapped_usage(spec, 0)) out += line + "\n";
    out += "```\n";
    if (!spec.subcommands.empty()) {
      out += "\n| subcommand | operands | what it does |\n|---|---|---|\n";
      for (const auto& sub : spec.subcommands) {
        std::vector<std::string> operands;
        for (const auto op : sub.operands) operands.push_back(markdown_code(op));
        out += fmt::format("| {} | {} | {} |\n", markdown_code(sub.name), fmt::join(operands, " "),
                           markdown_text(sub.summary));
      }
    }
    out += "\n| option | alias | value | what it does | values |\n|---|---|---|---|---|\n";
    for (const auto& opt : spec.options)
      out += fmt::format("| {} | {} | {} | {} | {} |\n", markdown_code(opt.name),
                         markdown_code(opt.alias),
                         markdown_code(opt.value_optional ? fmt::format("[={}]", opt.metavar)
                                                          : std::string(opt.metavar)),
                         markdown_text(opt.help), markdown_choices(opt));
    out += "| `--help` | `-h` |  | show this help |  |\n";
    if (!spec.details.empty()) {
      out += "\n```text\n" + std::string(spec.details);
      if (!spec.details.ends_with('\n')) out += '\n';
      out += "```\n";
    }
  }
  out += "\n### Names\n\n```text\n" + known_names() + "```\n";
  return out;
}

}  // namespace vdconvert
