// The generated usage lines, --help, man page and bash completion cover every option of every
// command's table (cli_help.cpp), so none of them can drift from the parser.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"

using vdconvert::test::parse;

namespace {
bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}
// `word` occurs in `text` delimited by a space or a double quote on both sides.
bool has_word(const std::string& text, std::string_view word) {
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const char before = at ? text[at - 1] : ' ',
               after = at + word.size() < text.size() ? text[at + word.size()] : ' ';
    if ((before == ' ' || before == '"') && (after == ' ' || after == '"')) return true;
  }
  return false;
}
std::string str(std::string_view s) { return std::string(s); }
// How a word is spelled in the man page: '-' is "\-".
std::string roff(std::string_view name) {
  std::string out;
  for (const char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}
}  // namespace

TEST_CASE("cli help: the usage lines hold every option of the table", "[cli][help]") {
  for (const auto& spec : vdconvert::command_table()) {
    INFO(spec.name);
    const auto lines = vdconvert::usage_lines(spec);
    REQUIRE(!lines.empty());
    std::string all;
    for (const auto& l : lines) {
      CHECK(l.starts_with("vdconvert " + str(spec.name) + " "));
      CHECK_FALSE(contains(l, "\n"));
      all += l + "\n";
    }
    for (const auto& opt : spec.options) {
      INFO(opt.name);
      std::string word = opt.alias.empty() ? str(opt.name) : str(opt.alias) + "|" + str(opt.name);
      if (opt.value_optional)
        word += "[=" + str(opt.metavar) + "]";
      else if (!opt.metavar.empty())
        word += " " + str(opt.metavar);
      CHECK(contains(all, opt.required ? " " + word + " " : "[" + word + "]"));
    }
    if (spec.subcommands.empty()) {
      for (const auto op : spec.operands) CHECK(contains(lines[0], op));
    } else {
      REQUIRE(lines.size() == spec.subcommands.size());
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& sub = spec.subcommands[i];
        CHECK(lines[i].starts_with("vdconvert " + str(spec.name) + " " + str(sub.name) + " "));
        for (const auto op : sub.operands) CHECK(contains(lines[i], " " + str(op)));
        CHECK(lines[i].ends_with(str(sub.operands.back())));
        // Every subcommand option is an option of the command.
        for (const auto name : sub.options) {
          bool found = false;
          for (const auto& opt : spec.options) found = found || opt.name == name;
          CHECK(found);
        }
        CHECK(contains(lines[i], "--quiet"));
      }
    }
  }
  // A few exact lines.
  const auto convert = vdconvert::usage_lines(vdconvert::convert_command())[0];
  CHECK(convert.starts_with("vdconvert convert [-f|--from FMT] -O|--to TARGET [--force] "));
  CHECK(convert.ends_with("[-p|--progress[=FORMAT]] [-q|--quiet] [--json] SRC DST"));
  const auto iso = vdconvert::usage_lines(vdconvert::iso_command());
  CHECK(iso[0] ==
        "vdconvert iso ls [-l|--long] [-R|--recursive] [--json] [--names TREE] [-q|--quiet] ISO "
        "[PATH]");
  CHECK(iso[1] == "vdconvert iso extract [--force] [--names TREE] [-q|--quiet] ISO PATH DEST");
}

TEST_CASE("cli help: every command has --help with its usage and every option", "[cli][help]") {
  for (const auto& spec : vdconvert::command_table()) {
    INFO(spec.name);
    for (auto h : {"--help", "-h"}) {
      auto r = parse({spec.name, h});
      REQUIRE(r.ok());
      CHECK(r->help);
      CHECK(r->spec == &spec);
    }
    auto hv = parse({"help", spec.name});
    REQUIRE(hv.ok());
    CHECK(hv->spec == &spec);
    const std::string h = vdconvert::command_help(spec);
    CHECK(h.starts_with("Usage: vdconvert " + str(spec.name) + " "));
    for (const auto& opt : spec.options) {
      INFO(opt.name);
      CHECK(contains(h, opt.name));
      if (!opt.alias.empty()) CHECK(contains(h, str(opt.alias) + ", " + str(opt.name)));
      if (opt.choices)
        for (const auto c : opt.choices()) CHECK(contains(h, c));
    }
    for (const auto& sub : spec.subcommands)
      CHECK(contains(h, "vdconvert " + str(spec.name) + " " + str(sub.name)));
    CHECK(contains(h, "-h, --help"));
    // The usage (up to the first blank line) is wrapped below 80 columns.
    const std::string usage = h.substr(0, h.find("\n\n"));
    std::size_t start = 0;
    while (start < usage.size()) {
      const std::size_t end = std::min(usage.find('\n', start), usage.size());
      CHECK(end - start < 80);
      start = end + 1;
    }
  }
}

TEST_CASE("cli help: the man page and the completion hold every command and option",
          "[cli][help][man]") {
  const auto table = vdconvert::command_table();
  const std::string man = vdconvert::man_page(table);
  const std::string bash = vdconvert::bash_completion(table);
  CHECK(man.starts_with(".\\\" Generated"));
  CHECK(contains(man, ".TH VDCONVERT 1"));
  CHECK(contains(man, ".SH EXIT STATUS"));
  CHECK(contains(man, "SOURCE_DATE_EPOCH"));
  CHECK(contains(bash, "complete -o filenames -o bashdefault -F _vdconvert vdconvert"));
  for (const auto& spec : table) {
    INFO(spec.name);
    CHECK(contains(man, ".SS " + str(spec.name) + "\n"));
    CHECK(contains(bash, "    " + str(spec.name) + ")\n"));
    for (const auto& opt : spec.options) {
      INFO(opt.name);
      CHECK(contains(man, "\\fB" + roff(opt.name) + "\\fR"));
      CHECK(has_word(bash, opt.name));
      if (!opt.alias.empty()) {
        CHECK(contains(man, "\\fB" + roff(opt.alias) + "\\fR, \\fB" + roff(opt.name)));
        CHECK(has_word(bash, opt.alias));
      }
      // An optional value is attached (--progress=json), not the next word to complete.
      if (opt.choices && !opt.value_optional) {
        std::string words;
        for (const auto c : opt.choices()) words += (words.empty() ? "" : " ") + str(c);
        CHECK(contains(bash, "compgen -W \"" + words + "\""));
      }
    }
    for (const auto& sub : spec.subcommands) {
      CHECK(contains(man, "\\fB" + roff(sub.name) + "\\fR\n"));
      CHECK(contains(bash, "          " + str(sub.name) + ") COMPREPLY"));
    }
  }
  // No line of the man page starts with a stray control character from the help texts.
  std::size_t start = 0;
  while (start < man.size()) {
    const std::size_t end = man.find('\n', start);
    const std::string line = man.substr(start, end - start);
    if (!line.empty() && (line[0] == '.' || line[0] == '\''))
      CHECK((line.starts_with(".\\\"") || line.size() < 3 || line[1] != ' '));
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

TEST_CASE("cli help: the hidden --generate entry point", "[cli][parse][man]") {
  auto m = parse({"--generate", "man"});
  REQUIRE(m.ok());
  CHECK(m->generate == vdconvert::Generate::man);
  CHECK(m->generate_file.empty());
  CHECK(m->args == nullptr);
  auto b = parse({"--generate", "bash-completion", "out.bash"});
  REQUIRE(b.ok());
  CHECK(b->generate == vdconvert::Generate::bash_completion);
  CHECK(b->generate_file == "out.bash");
  auto md = parse({"--generate", "markdown"});
  REQUIRE(md.ok());
  CHECK(md->generate == vdconvert::Generate::markdown);
  vdconvert::test::require_error({"--generate", "pdf"}, "usage: vdconvert --generate");
  vdconvert::test::require_error({"--generate"}, "usage: vdconvert --generate");
  // Hidden: not in the global help.
  CHECK_FALSE(contains(vdconvert::global_help(vdconvert::command_table()), "--generate"));
}

TEST_CASE("cli help: the Markdown reference holds every command and option, one row each",
          "[cli][help][markdown]") {
  const auto table = vdconvert::command_table();
  const std::string md = vdconvert::markdown_reference(table);
  CHECK(md.starts_with("<!-- Generated by `vdconvert --generate markdown`"));
  CHECK(md.ends_with("```\n"));
  CHECK(contains(md, "### Names\n"));
  for (const auto& spec : table) {
    INFO(spec.name);
    CHECK(contains(md, "\n### vdconvert " + str(spec.name) + "\n"));
    for (const auto& line : vdconvert::usage_lines(spec))
      CHECK(contains(md, line.substr(0, line.find(' ', str("vdconvert ").size() + 1))));
    for (const auto& sub : spec.subcommands) CHECK(contains(md, "| `" + str(sub.name) + "` |"));
    for (const auto& opt : spec.options) {
      INFO(opt.name);
      std::string row = "| `" + str(opt.name) + "` | ";
      row += opt.alias.empty() ? std::string(" | ") : "`" + str(opt.alias) + "` | ";
      row += opt.metavar.empty()    ? std::string(" | ")
             : opt.value_optional ? "`[=" + str(opt.metavar) + "]` | "
                                  : "`" + str(opt.metavar) + "` | ";
      CHECK(contains(md, row));
      for (const auto c : vdconvert::option_choices(opt)) CHECK(contains(md, "`" + str(c) + "`"));
    }
  }
  // Every option row has exactly its six cell borders: no help text breaks out of its cell, and
  // no markup character of a help text is left unescaped.
  std::size_t start = 0, rows = 0;
  while (start < md.size()) {
    const std::size_t end = md.find('\n', start);
    const std::string line = md.substr(start, end - start);
    if (line.starts_with("| `-")) {
      ++rows;
      INFO(line);
      std::size_t bars = 0;
      for (std::size_t i = 0; i < line.size(); ++i)
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++bars;
      CHECK(bars == 6);
      // Outside code spans, markup characters are escaped.
      bool in_code = false;
      for (std::size_t i = 0; i < line.size(); ++i) {
        const bool escaped = i > 0 && line[i - 1] == '\\';
        if (line[i] == '`' && !escaped) in_code = !in_code;
        if (!in_code && (line[i] == '*' || line[i] == '<' || line[i] == '[' || line[i] == ']'))
          CHECK(escaped);
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::size_t options = 0;
  for (const auto& spec : table) options += spec.options.size() + 1;  // + --help
  CHECK(rows == options);
  CHECK(md == vdconvert::markdown_reference(table));  // deterministic
}
