// qemu-img-style short options (-f FMT, -O TARGET, -p, -q on every command), bundles (-lR),
// attached values (-j4, -Oazure), and the did-you-mean of a mistyped command or option.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"

using vdconvert::ProgressMode;
using vdconvert::test::parse;
using vdconvert::test::require_error;

using vdconvert::ConvertArgs;
using vdconvert::IsoArgs;
using vdconvert::test::args_of;

TEST_CASE("cli short: -f is --from, -O is --to, -p is --progress", "[cli][parse][short]") {
  auto r = parse({"convert", "-f", "vmdk", "-O", "azure", "-p", "in.vmdk", "out.vhd"});
  const auto& a = args_of<ConvertArgs>(r);
  CHECK(a.input.format == "vmdk");
  CHECK(a.target.name == "azure");
  CHECK_FALSE(a.force);  // -f no longer means --force (changed in 0.x)
  CHECK(a.progress == ProgressMode::always);
  auto i = parse({"info", "-f", "raw", "disk.img"});
  CHECK(args_of<vdconvert::InfoArgs>(i).input.format == "raw");
  // -f needs a format now; "-f SRC DST" no longer parses as --force.
  require_error({"convert", "-O", "vhd", "-f", "a", "b"}, "unknown input format 'a'");
  // --force has no short form anywhere.
  for (auto verb : {"repair", "descriptor"}) {
    INFO(verb);
    const vdconvert::CommandSpec* spec = nullptr;
    for (const auto& s : vdconvert::command_table())
      if (s.name == verb) spec = &s;
    REQUIRE(spec);
    for (const auto& opt : spec->options)
      if (opt.name == "--force") CHECK(opt.alias.empty());
  }
  require_error({"repair", "--for", "mvmc", "-f", "a.vmdk", "b.vmdk"}, "unknown option '-f'");
}

TEST_CASE("cli short: -q and --quiet exist on every command", "[cli][parse][short]") {
  const std::vector<std::vector<std::string_view>> runs = {
      {"convert", "-O", "raw", "a", "b"},
      {"info", "a"},
      {"check", "--for", "azure", "a"},
      {"repair", "--for", "mvmc", "a"},
      {"descriptor", "show", "a"},
      {"descriptor", "lint", "a"},
      {"descriptor", "extract", "a", "f"},
      {"descriptor", "replace", "a", "f"},
      {"iso", "ls", "a.iso"},
      {"iso", "extract", "a.iso", "/", "d"},
  };
  for (auto run : runs) {
    for (std::string_view q : {"-q", "--quiet"}) {
      auto args = run;
      args.insert(args.begin() + 1, q);
      INFO(run[0] << " " << q);
      auto r = vdconvert::parse_args(args, vdconvert::command_table());
      REQUIRE(r.ok());
      REQUIRE(r->args);
      CHECK(r->args->quiet);
      CHECK(r->args->progress == ProgressMode::never);
    }
    auto r = vdconvert::parse_args(run, vdconvert::command_table());
    REQUIRE(r.ok());
    REQUIRE(r->args);
    CHECK_FALSE(r->args->quiet);
  }
}

TEST_CASE("cli short: bundled flags", "[cli][parse][short]") {
  auto r = parse({"iso", "ls", "-lR", "live.iso"});
  CHECK(args_of<IsoArgs>(r).long_listing);
  CHECK(args_of<IsoArgs>(r).recursive);
  auto q = parse({"iso", "ls", "-Rlq", "live.iso"});
  CHECK(args_of<IsoArgs>(q).long_listing);
  CHECK(args_of<IsoArgs>(q).quiet);
  // A bundle applies its letters in order: -qp is --quiet --progress, a conflict.
  require_error({"convert", "-O", "vhd", "-qp", "a", "b"}, "cannot be used together");
  require_error({"convert", "-O", "vhd", "-pq", "a", "b"}, "cannot be used together");
  // An unknown letter names itself and its bundle.
  require_error({"iso", "ls", "-lx", "live.iso"}, "unknown option '-x' in '-lx'");
  require_error({"convert", "-O", "vhd", "-pZ", "a", "b"}, "unknown option '-Z' in '-pZ'");
}

TEST_CASE("cli short: attached values and a value option ending a bundle", "[cli][parse][short]") {
  auto r = parse({"convert", "-j4", "-Oazure", "-fraw", "a", "b"});
  CHECK(args_of<ConvertArgs>(r).threads == 4);
  CHECK(args_of<ConvertArgs>(r).target.name == "azure");
  CHECK(args_of<ConvertArgs>(r).input.format == "raw");
  // The value option ends the bundle and takes the rest of the word...
  auto b = parse({"convert", "-qj16", "-Ovhd", "a", "b"});
  CHECK(args_of<ConvertArgs>(b).quiet);
  CHECK(args_of<ConvertArgs>(b).threads == 16);
  // ... or, at the end of the word, the next argument.
  auto n = parse({"convert", "-qO", "gcp", "a", "b"});
  CHECK(args_of<ConvertArgs>(n).target.name == "gcp");
  CHECK(args_of<ConvertArgs>(n).operands == std::vector<std::string>{"a", "b"});
  // Letters after the value option are its value, not flags: "-jq" is --threads q.
  require_error({"convert", "-O", "vhd", "-jq", "a", "b"}, "--threads: 'q'");
  // --opt=value still works; a short option takes no "=".
  auto e = parse({"convert", "--threads=2", "--to=raw", "a", "b"});
  CHECK(args_of<ConvertArgs>(e).threads == 2);
  require_error({"convert", "-O", "vhd", "-p=1", "a", "b"}, "unknown option '-=' in '-p=1'");
  require_error({"convert", "-O", "vhd", "-j4", "--threads", "2", "a", "b"}, "more than once");
}

TEST_CASE("cli short: a value option without its value", "[cli][parse][short]") {
  require_error({"convert", "a", "b", "-O", "vhd", "-j"},
                "option '-j (--threads)' needs a value (N)");
  require_error({"convert", "a", "b", "-j", "2", "-O"}, "option '-O (--to)' needs a value");
  require_error({"convert", "a", "b", "-pO"}, "needs a value");
  require_error({"convert", "a", "b", "--threads"}, "option '--threads' needs a value");
  require_error({"info", "a", "-f"}, "option '-f (--from)' needs a value (FMT)");
}

TEST_CASE("cli short: did you mean, for commands and long options", "[cli][parse][typo]") {
  require_error({"convrt", "a", "b"}, "unknown command 'convrt'; did you mean 'convert'?");
  require_error({"ifno", "a"}, "did you mean 'info'?");  // transposition
  require_error({"chekc", "a"}, "did you mean 'check'?");
  require_error({"descripter", "show", "a"}, "did you mean 'descriptor'?");
  require_error({"help", "convet"}, "did you mean 'convert'?");
  // Nothing close: the list of commands instead.
  require_error({"frobnicate", "a"}, "(commands: convert, info, measure, check");
  require_error({"convert", "--forse", "-O", "vhd", "a", "b"},
                "unknown option '--forse' for 'convert'; did you mean '--force'?");
  require_error({"convert", "--thread=3", "-O", "vhd", "a", "b"}, "did you mean '--threads'?");
  require_error({"check", "--josn", "f"}, "did you mean '--json'?");
  require_error({"iso", "ls", "--recurse", "x.iso"}, "did you mean '--recursive'?");
  require_error({"convert", "--bogus", "-O", "vhd", "a", "b"}, "see 'vdconvert convert --help'");
  // Subcommands too.
  require_error({"iso", "lss", "x.iso"}, "iso: unknown subcommand 'lss'; did you mean 'ls'?");
  require_error({"descriptor", "lnit", "x.vmdk"}, "did you mean 'lint'?");
  require_error({"descriptor", "frob", "x.vmdk"}, "(expected show, lint, extract, replace)");
}

TEST_CASE("cli short: edit distance", "[cli][typo]") {
  using vdconvert::edit_distance;
  CHECK(edit_distance("convert", "convert") == 0);
  CHECK(edit_distance("convrt", "convert") == 1);
  CHECK(edit_distance("ifno", "info") == 1);  // one transposition
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  const std::string_view names[] = {"convert", "info", "check"};
  CHECK(vdconvert::closest_match("cnvrt", names) == "convert");
  CHECK(vdconvert::closest_match("xyz", names).empty());
  CHECK(vdconvert::closest_match("--chek", names) == "check");
}
