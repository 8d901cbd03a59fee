// `vdconvert iso ls|extract` argument rules against the real command table (cmd_iso.cpp):
// which options belong to which subcommand, operand counts, --names values.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"

using vdconvert::test::parse;
using vdconvert::test::require_error;

using vdconvert::IsoArgs;
using vdconvert::test::args_of;
namespace iso = vdisk::iso9660;

TEST_CASE("cli iso: ls with its options and an optional PATH", "[cli][parse][iso]") {
  auto a = parse({"iso", "ls", "live.iso"});
  const auto& aa = args_of<IsoArgs>(a);
  CHECK(a->spec->name == "iso");
  CHECK(aa.operands == std::vector<std::string>{"ls", "live.iso"});
  CHECK(aa.action() == vdconvert::IsoAction::ls);
  CHECK_FALSE(aa.long_listing);
  CHECK_FALSE(aa.recursive);
  CHECK_FALSE(aa.json);
  CHECK(aa.names == iso::NameSource::automatic);

  auto b = parse({"iso", "ls", "-l", "-R", "--json", "--names", "joliet", "live.iso", "/LiveOS"});
  const auto& ba = args_of<IsoArgs>(b);
  CHECK(ba.operands == std::vector<std::string>{"ls", "live.iso", "/LiveOS"});
  CHECK(ba.long_listing);
  CHECK(ba.recursive);
  CHECK(ba.names == iso::NameSource::joliet);
  CHECK(ba.json);

  // Long spellings and options after operands.
  auto c = parse({"iso", "ls", "live.iso", "--long", "--recursive", "--names=plain"});
  const auto& ca = args_of<IsoArgs>(c);
  CHECK(ca.long_listing);
  CHECK(ca.recursive);
  CHECK(ca.names == iso::NameSource::plain);
  CHECK(args_of<IsoArgs>(parse({"iso", "ls", "--names", "rock-ridge", "x.iso"})).names ==
        iso::NameSource::rock_ridge);
}

TEST_CASE("cli iso: extract takes ISO PATH DEST and --force", "[cli][parse][iso]") {
  auto a = parse({"iso", "extract", "--force", "live.iso", "/LiveOS/squashfs.img", "out"});
  const auto& aa = args_of<IsoArgs>(a);
  CHECK(aa.operands ==
        std::vector<std::string>{"extract", "live.iso", "/LiveOS/squashfs.img", "out"});
  CHECK(aa.action() == vdconvert::IsoAction::extract);
  CHECK(aa.force);
  // DEST "-" streams one file to stdout.
  auto b = parse({"iso", "extract", "live.iso", "/isolinux/isolinux.cfg", "-"});
  const auto& ba = args_of<IsoArgs>(b);
  CHECK(ba.operands.back() == "-");
  CHECK_FALSE(ba.force);
}

TEST_CASE("cli iso: subcommand rules are enforced", "[cli][parse][iso]") {
  // The usage has one line per subcommand; the error stays one line and points at --help.
  require_error({"iso"}, "missing ls|extract (see 'vdconvert iso --help')");
  require_error({"iso", "ls"}, "missing ISO");
  require_error({"iso", "cat", "live.iso"}, "unknown subcommand 'cat'");
  require_error({"iso", "ls", "live.iso", "/a", "/b"}, "unexpected argument '/b'");
  require_error({"iso", "ls", "--force", "live.iso"}, "--force only applies to 'iso extract'");
  require_error({"iso", "extract", "live.iso", "/a"}, "needs ISO PATH DEST");
  require_error({"iso", "extract", "live.iso"}, "needs ISO PATH DEST");
  for (auto opt : {"-l", "-R", "--json"}) {
    INFO(opt);
    require_error({"iso", "extract", opt, "live.iso", "/a", "out"}, "only apply to 'iso ls'");
  }
  require_error({"iso", "ls", "--names", "udf", "live.iso"}, "'udf' is not one of");
  // --names takes the next word as its value, so the ISO is then missing.
  require_error({"iso", "ls", "--names", "live.iso"}, "'live.iso' is not one of");
  require_error({"iso", "ls", "--bogus", "live.iso"}, "unknown option '--bogus'");
}
