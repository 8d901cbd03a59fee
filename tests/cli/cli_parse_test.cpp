// vdconvert's argument parser against the real command table: every option, every error.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "commands.h"

using vdconvert::CheckArgs;
using vdconvert::Command;
using vdconvert::ConvertArgs;
using vdconvert::InfoArgs;
using vdconvert::ProgressMode;
using vdconvert::test::args_of;

using vdconvert::test::parse;
using vdconvert::test::require_error;

TEST_CASE("cli: convert with every option", "[cli][parse]") {
  auto r = parse({"convert", "--from", "vhd", "--to", "azure", "--force", "--threads", "3",
                  "--no-sync", "--progress", "--json", "in.vhd", "out.vhd"});
  const auto& a = args_of<ConvertArgs>(r);
  CHECK(r->spec->name == "convert");
  CHECK(a.input.format == "vhd");
  CHECK(a.target.name == "azure");
  CHECK(a.force);
  CHECK(a.no_sync);
  CHECK(a.threads == 3);
  CHECK(a.progress == ProgressMode::always);
  CHECK(a.json);
  CHECK(a.operands == std::vector<std::string>{"in.vhd", "out.vhd"});
  CHECK(r->get<InfoArgs>() == nullptr);  // another command's struct
  CHECK_FALSE(r->help);
  CHECK_FALSE(r->version);
}

TEST_CASE("cli: defaults when options are absent", "[cli][parse]") {
  auto r = parse({"convert", "--to", "raw", "a", "b"});
  const auto& a = args_of<ConvertArgs>(r);
  CHECK(a.input.format.empty());
  CHECK_FALSE(a.force);
  CHECK_FALSE(a.no_sync);
  CHECK_FALSE(a.json);
  CHECK(a.threads == 0);
  CHECK(a.progress == ProgressMode::automatic);
  CHECK_FALSE(a.input.ignore_cid);
  CHECK(a.input.disk == 0);
  CHECK(a.target.settings.empty());
  CHECK_FALSE(a.input.net.http.any());
}

TEST_CASE("cli: --name=value, short aliases and options after operands", "[cli][parse]") {
  auto r = parse({"convert", "a", "--to=vhd", "--force", "-j", "8", "-q", "b"});
  const auto& a = args_of<ConvertArgs>(r);
  CHECK(a.target.name == "vhd");
  CHECK(a.force);
  CHECK(a.threads == 8);
  CHECK(a.progress == ProgressMode::never);
  CHECK(a.operands == std::vector<std::string>{"a", "b"});
}

TEST_CASE("cli: every target name is accepted by --to", "[cli][parse]") {
  for (auto name : vdisk::target_names()) {
    // aws-snapshot writes a new EBS snapshot: its DST is "ebs:".
    auto r = parse({"convert", "--to", name, "a", name == "aws-snapshot" ? "ebs:" : "b"});
    CHECK(args_of<ConvertArgs>(r).target.name == name);
  }
}

TEST_CASE("cli: '-' is an operand for stdin and stdout", "[cli][parse]") {
  auto r = parse({"convert", "--to", "vhd", "-", "-"});
  CHECK(args_of<ConvertArgs>(r).operands == std::vector<std::string>{"-", "-"});
  auto i = parse({"info", "-"});
  CHECK(args_of<InfoArgs>(i).operands == std::vector<std::string>{"-"});
}

TEST_CASE("cli: '--' ends options so operands may start with a dash", "[cli][parse]") {
  auto r = parse({"convert", "--to", "raw", "--", "-in", "--out"});
  CHECK(args_of<ConvertArgs>(r).operands == std::vector<std::string>{"-in", "--out"});
}

TEST_CASE("cli: info and check options", "[cli][parse]") {
  auto i = parse({"info", "--json", "--from", "raw", "disk.img"});
  const auto& ia = args_of<InfoArgs>(i);
  CHECK(i->spec->name == "info");
  CHECK(ia.json);
  CHECK(ia.input.format == "raw");
  auto c = parse({"check", "--for", "azure", "--json", "out.vhd"});
  const auto& ca = args_of<CheckArgs>(c);
  CHECK(c->spec->name == "check");
  CHECK(ca.target == "azure");
  CHECK(ca.json);
  CHECK(ca.operands == std::vector<std::string>{"out.vhd"});
  // check without --for (the format is probed when it runs) and --ignore-cid on four commands.
  auto d = parse({"check", "--ignore-cid", "disk.vmdk"});
  CHECK(args_of<CheckArgs>(d).target.empty());
  CHECK(args_of<CheckArgs>(d).ignore_cid);
  auto ci = parse({"convert", "--to", "raw", "--ignore-cid", "c.vmdk", "o.raw"});
  CHECK(args_of<ConvertArgs>(ci).input.ignore_cid);
  auto ii = parse({"info", "--ignore-cid", "c.vmdk"});
  CHECK(args_of<InfoArgs>(ii).input.ignore_cid);
  auto mi = parse({"measure", "--ignore-cid", "c.vmdk"});
  CHECK(args_of<vdconvert::MeasureArgs>(mi).input.ignore_cid);
  CHECK_FALSE(ca.ignore_cid);
}

TEST_CASE("cli: help and version", "[cli][parse]") {
  for (auto h : {"--help", "-h", "help"}) {
    auto r = parse({h});
    REQUIRE(r.ok());
    CHECK(r->help);
    CHECK(r->spec == nullptr);
  }
  auto v = parse({"--version"});
  REQUIRE(v.ok());
  CHECK(v->version);
  // Command help wins over missing operands and even over bad options before it.
  for (auto cmd : {"convert", "info", "check"}) {
    auto r = parse({cmd, "--bogus", "--help"});
    REQUIRE(r.ok());
    CHECK(r->help);
    REQUIRE(r->spec != nullptr);
    CHECK(r->spec->name == cmd);
  }
  auto hc = parse({"help", "check"});
  REQUIRE(hc.ok());
  CHECK(hc->help);
  CHECK(hc->spec->name == "check");
  // After "--", "--help" is an operand.
  auto op = parse({"info", "--", "--help"});
  REQUIRE(op.ok());
  CHECK_FALSE(op->help);
  CHECK(args_of<InfoArgs>(op).operands == std::vector<std::string>{"--help"});
}

TEST_CASE("cli: missing command, unknown command and stray global options", "[cli][parse]") {
  require_error({}, "no command");
  require_error({"frobnicate", "a"}, "unknown command 'frobnicate'");
  require_error({"--frob"}, "unknown option '--frob'");
  require_error({"--version", "x"}, "unexpected argument 'x'");
  require_error({"--help", "x"}, "unexpected argument 'x'");
  require_error({"help", "nope"}, "unknown command 'nope'");
}

TEST_CASE("cli: missing operands name what is missing", "[cli][parse]") {
  require_error({"convert", "--to", "vhd"}, "missing SRC");
  require_error({"convert", "--to", "vhd", "a"}, "missing DST");
  require_error({"info"}, "missing SRC");
  require_error({"check", "--for", "azure"}, "missing FILE");
  require_error({"convert", "--to", "vhd", "a", "b", "c"}, "unexpected argument 'c'");
  require_error({"convert", "--to", "vhd", "", "b"}, "SRC is an empty string");
}

TEST_CASE("cli: unknown options and targets", "[cli][parse]") {
  require_error({"convert", "--to", "vhd", "--bogus", "a", "b"}, "unknown option '--bogus'");
  require_error({"convert", "--to", "vhd", "-x", "a", "b"}, "unknown option '-x'");
  require_error({"convert", "--to", "qcow9", "a", "b"}, "unknown target 'qcow9'");
  require_error({"convert", "--to", "vhd", "--from", "nope", "a", "b"},
                "unknown input format 'nope'");
  require_error({"check", "--for", "mars", "f"}, "unknown check target 'mars'");
  require_error({"info", "--force", "f"}, "unknown option '--force'");  // convert-only option
}

TEST_CASE("cli: required options and conflicts", "[cli][parse]") {
  require_error({"convert", "a", "b"}, "--to is required");
  require_error({"check", "--for", "azure", "-"}, "'-' is not allowed");
  require_error({"convert", "--to", "vhd", "--json", "a", "-"}, "--json cannot be used");
  require_error({"convert", "--to", "vhd", "--quiet", "--progress", "a", "b"},
                "cannot be used together");
  require_error({"convert", "--to", "vhd", "--progress", "-q", "a", "b"},
                "cannot be used together");
  require_error({"convert", "--to", "vhd", "--to", "raw", "a", "b"}, "more than once");
}

TEST_CASE("cli: option values are checked", "[cli][parse]") {
  require_error({"convert", "a", "b", "--to"}, "needs a value");
  require_error({"convert", "--to=", "a", "b"}, "non-empty value");
  require_error({"convert", "--force=yes", "--to", "vhd", "a", "b"}, "takes no value");
  for (auto bad : {"-1", "abc", "3x", "", "257", "99999999999", "+2", " 4"}) {
    INFO(bad);
    auto r = vdconvert::parse_thread_count(bad);
    CHECK_FALSE(r.ok());
  }
  require_error({"convert", "--to", "vhd", "--threads", "many", "a", "b"}, "--threads");
  require_error({"convert", "--to", "vhd", "--threads=-3", "a", "b"}, "--threads");
  CHECK(*vdconvert::parse_thread_count("0") == 0);
  CHECK(*vdconvert::parse_thread_count("256") == 256);
}

TEST_CASE("cli: help texts list commands, options, exit codes and SOURCE_DATE_EPOCH",
          "[cli][help]") {
  const auto table = vdconvert::command_table();
  const std::string global = vdconvert::global_help(table);
  for (const auto& spec : table) CHECK(global.find(spec.name) != std::string::npos);
  for (auto code : {"  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  5 ", "  6 ", "  130 "})
    CHECK(global.find(code) != std::string::npos);
  CHECK(global.find("SOURCE_DATE_EPOCH") != std::string::npos);
  for (const auto& spec : table) {
    const std::string h = vdconvert::command_help(spec);
    for (const auto& opt : spec.options) CHECK(h.find(opt.name) != std::string::npos);
  }
}

TEST_CASE("cli: --level is a gzip level for --to gcp", "[cli][parse]") {
  using vdconvert::KeyValues;
  auto r = parse({"convert", "--to", "gcp", "--level", "9", "a", "b"});
  CHECK(args_of<ConvertArgs>(r).target.settings == KeyValues{{"level", "9"}});
  r = parse({"convert", "--to=gcp", "--level=0", "a", "b"});
  CHECK(args_of<ConvertArgs>(r).target.settings == KeyValues{{"level", "0"}});
  r = parse({"convert", "--to", "gcp", "a", "b"});
  CHECK(args_of<ConvertArgs>(r).target.settings.empty());
  // -o and the generated options keep their command-line order.
  r = parse({"convert", "--to", "gcp", "-o", "level=3", "--level", "4", "a", "b"});
  CHECK(args_of<ConvertArgs>(r).target.settings == KeyValues{{"level", "3"}, {"level", "4"}});
  for (auto bad : {"10", "-1", "x", "", "6 "}) {
    INFO(bad);
    require_error({"convert", "--to", "gcp", std::string("--level=") + bad, "a", "b"}, "--level");
  }
  require_error({"convert", "--to", "raw", "--level", "6", "a", "b"},
                "--level applies to --to gcp");
}
