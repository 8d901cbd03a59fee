// `vdconvert iso ls|extract` argument rules against the real command table (cmd_iso.cpp):
// which options belong to which subcommand, operand counts, --names values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"

using vdconvert::test::parse;
using vdconvert::test::require_error;

using vdconvert::test::has_flag;

TEST_CASE("cli iso: ls with its options and an optional PATH", "[cli][parse][iso]") {
  auto a = parse({"iso", "ls", "live.iso"});
  REQUIRE(a.ok());
  CHECK(a->spec->name == "iso");
  CHECK(a->operands == std::vector<std::string>{"ls", "live.iso"});
  CHECK_FALSE(has_flag(*a, "long"));
  CHECK_FALSE(has_flag(*a, "recursive"));
  CHECK_FALSE(a->json);

  auto b = parse({"iso", "ls", "-l", "-R", "--json", "--names", "joliet", "live.iso", "/LiveOS"});
  REQUIRE(b.ok());
  CHECK(b->operands == std::vector<std::string>{"ls", "live.iso", "/LiveOS"});
  CHECK(has_flag(*b, "long"));
  CHECK(has_flag(*b, "recursive"));
  CHECK(has_flag(*b, "names=joliet"));
  CHECK(b->json);

  // Long spellings and options after operands.
  auto c = parse({"iso", "ls", "live.iso", "--long", "--recursive", "--names=plain"});
  REQUIRE(c.ok());
  CHECK(has_flag(*c, "long"));
  CHECK(has_flag(*c, "recursive"));
  CHECK(has_flag(*c, "names=plain"));
}

TEST_CASE("cli iso: extract takes ISO PATH DEST and --force", "[cli][parse][iso]") {
  auto a = parse({"iso", "extract", "--force", "live.iso", "/LiveOS/squashfs.img", "out"});
  REQUIRE(a.ok());
  CHECK(a->operands ==
        std::vector<std::string>{"extract", "live.iso", "/LiveOS/squashfs.img", "out"});
  CHECK(a->force);
  // DEST "-" streams one file to stdout.
  auto b = parse({"iso", "extract", "live.iso", "/isolinux/isolinux.cfg", "-"});
  REQUIRE(b.ok());
  CHECK(b->operands.back() == "-");
  CHECK_FALSE(b->force);
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
