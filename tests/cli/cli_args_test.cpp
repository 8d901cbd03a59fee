// The typed arguments structs (command_args.h) and the bindings of the option tables: every row
// of every command stores into that command's own struct, so an option cannot be read back
// under a misspelled name or from another command's fields.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "cli_test_util.h"
#include "command_args.h"
#include "commands.h"
#include "vdisk/vmdk_repair.h"

using vdconvert::test::args_of;
using vdconvert::test::parse;
using vdconvert::test::require_error;

namespace {
int run_nothing(const vdconvert::CheckArgs&, vdconvert::RunContext&) { return 0; }
}  // namespace

TEST_CASE("cli args: every option of every command stores into the command's struct",
          "[cli][args]") {
  for (const auto& spec : vdconvert::command_table()) {
    INFO(spec.name);
    REQUIRE(spec.binding.args != nullptr);
    REQUIRE(spec.binding.make != nullptr);
    REQUIRE(spec.binding.run != nullptr);
    for (const auto& opt : spec.options) {
      INFO(opt.name);
      CHECK(opt.apply.fn != nullptr);
      CHECK(opt.apply.args == spec.binding.args);
    }
    // A fresh struct is the command's type, with no operands and the default verbosity.
    const auto fresh = spec.binding.make();
    REQUIRE(fresh);
    CHECK(fresh->operands.empty());
    CHECK_FALSE(fresh->quiet);
    CHECK(fresh->progress == vdconvert::ProgressMode::automatic);
  }
  // The generated rows exist on both commands that take a target, with their key.
  const auto& generated = vdconvert::generated_options();
  REQUIRE_FALSE(generated.empty());
  for (const auto& gen : generated) {
    INFO(gen.name);
    CHECK(gen.name == "--" + std::string(gen.setting));
  }
}

TEST_CASE("cli args: every flag of every command stores something", "[cli][args]") {
  // A flag (no value) applied to a fresh struct must succeed; the struct's type decides where
  // it lands, so only the success is generic here (the fields are checked per command below).
  for (const auto& spec : vdconvert::command_table())
    for (const auto& opt : spec.options) {
      if (!opt.metavar.empty()) continue;
      INFO(spec.name << " " << opt.name);
      auto fresh = spec.binding.make();
      CHECK(opt.apply.fn(*fresh, opt, {}).ok());
    }
}

TEST_CASE("cli args: a row bound to another command's struct is refused", "[cli][args]") {
  // A table whose option stores into InfoArgs while the command's struct is CheckArgs: the
  // parser must not cast one into the other.
  static constexpr vdconvert::OptionSpec kOptions[] = {
      {"--json", "", "", "bound to the wrong struct",
       vdconvert::store<vdconvert::set_true<&vdconvert::InfoArgs::json>>},
  };
  static_assert(!vdconvert::options_store_into<vdconvert::CheckArgs>(kOptions));
  static_assert(vdconvert::options_store_into<vdconvert::InfoArgs>(kOptions));
  static constexpr std::string_view kOperands[] = {"FILE"};
  static const vdconvert::CommandSpec table[] = {{
      "wrong",
      "a command with a mis-bound option",
      "",
      kOptions,
      kOperands,
      {},
      vdconvert::bind_command<vdconvert::CheckArgs, nullptr, run_nothing>,
  }};
  const std::vector<std::string_view> args = {"wrong", "--json", "f"};
  auto r = vdconvert::parse_args(args, table);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == vdisk::Errc::internal);
  CHECK(r.status().message() == "option '--json' of 'wrong' is not bound to its arguments");
  // Without the option the same command parses into its own struct.
  const std::vector<std::string_view> plain = {"wrong", "f"};
  auto ok = vdconvert::parse_args(plain, table);
  REQUIRE(ok.ok());
  CHECK(ok->get<vdconvert::CheckArgs>() != nullptr);
  CHECK(ok->get<vdconvert::InfoArgs>() == nullptr);
}

TEST_CASE("cli args: convert's shared blocks", "[cli][args]") {
  using vdconvert::ConvertArgs;
  auto r = parse({"convert",
                  "-O",
                  "azure",
                  "--ignore-cid",
                  "--disk",
                  "2",
                  "--no-verify",
                  "--keep-gpt",
                  "--force-name",
                  "--no-sync",
                  "--checksums-file",
                  "c.json",
                  "--stream-window",
                  "32",
                  "in.ova",
                  "https://a.blob.core.windows.net/c/d.vhd?sig=x",
                  "--connections",
                  "4",
                  "--http-timeout",
                  "9",
                  "--retries",
                  "2",
                  "--resume",
                  "--put-md5"});
  const auto& a = args_of<ConvertArgs>(r);
  CHECK(a.input.ignore_cid);
  CHECK(a.input.disk == 2);
  CHECK(a.input.no_verify);
  CHECK(a.keep_gpt);
  CHECK(a.force_name);
  CHECK(a.no_sync);
  CHECK(a.checksums);
  CHECK(a.checksums_file == "c.json");
  CHECK(a.stream_window_mib == 32);
  CHECK(a.input.net.http.connections == 4);
  CHECK(a.input.net.http.http_timeout == 9);
  CHECK(a.input.net.http.attempts == 3);  // --retries 2: three tries
  CHECK(a.upload.resume);
  CHECK(a.upload.put_md5);
  // The HTTP block is applied the same way to every upload's options.
  vdisk::HttpOptions http;
  const unsigned default_stall = http.stall_seconds;
  vdconvert::HttpArgs{}.apply_to(http);
  CHECK(http.stall_seconds == default_stall);
  a.input.net.http.apply_to(http);
  CHECK(http.connections == 4);
  CHECK(http.stall_seconds == 9);
  CHECK(http.max_attempts == 3);
  // The input block sets the OpenOptions it stands for.
  vdisk::OpenOptions open;
  a.input.apply_to(open);
  CHECK(open.ignore_parent_identity);
  CHECK(open.disk_index == 1);
  CHECK_FALSE(open.verify_manifest);

  auto s3 = parse({"convert", "-O", "raw", "--region", "eu-west-1", "--endpoint-url",
                   "http://127.0.0.1:9000", "--profile", "p", "a", "s3://b/k"});
  const auto& sa = args_of<ConvertArgs>(s3);
  CHECK(sa.input.net.region == "eu-west-1");
  CHECK(sa.input.net.endpoint_url == "http://127.0.0.1:9000");
  CHECK(sa.input.net.profile == "p");
  auto ebs =
      parse({"convert", "-O", "aws-snapshot", "--description", "d", "--tag", "k=v", "a", "ebs:"});
  CHECK(args_of<ConvertArgs>(ebs).upload.description == "d");
  CHECK(args_of<ConvertArgs>(ebs).upload.tags == vdconvert::KeyValues{{"k", "v"}});
  // --tag, -o and --keep are repeatable (their help says so); other value options are not.
  auto tags = parse({"convert", "-O", "aws-snapshot", "--tag", "a=1", "--tag", "b=2", "a", "ebs:"});
  CHECK(args_of<ConvertArgs>(tags).upload.tags == vdconvert::KeyValues{{"a", "1"}, {"b", "2"}});
  auto o = parse(
      {"convert", "-O", "vmdk", "-o", "level=1", "-o", "subformat=streamOptimized", "a", "b.vmdk"});
  CHECK(args_of<ConvertArgs>(o).target.settings ==
        vdconvert::KeyValues{{"level", "1"}, {"subformat", "streamOptimized"}});
  require_error({"convert", "--from", "raw", "--from", "raw", "a", "b"},
                "option '--from' given more than once");
}

TEST_CASE("cli args: repair and descriptor take a consumer with its mask", "[cli][args]") {
  namespace vm = vdisk::vmdk;
  using vdconvert::DescriptorAction;
  using vdconvert::DescriptorArgs;
  using vdconvert::RepairArgs;
  auto r =
      parse({"repair", "--for", "virtualbox", "--add-uuids", "-n", "--delete", "--keep", "a.b,c,d",
             "--keep-only", "--no-backup", "--force", "--json", "s.vmdk", "d.vmdk"});
  const auto& ra = args_of<RepairArgs>(r);
  CHECK(ra.consumer.name == "virtualbox");
  CHECK(ra.consumer.mask == vm::kVirtualBox);
  CHECK(ra.add_uuids);
  CHECK(ra.dry_run);
  CHECK(ra.delete_lines);
  CHECK(ra.keep == std::vector<std::string>{"a.b", "c", "d"});
  CHECK(ra.keep_only);
  CHECK(ra.no_backup);
  CHECK(ra.force);
  CHECK(ra.json);
  REQUIRE(ra.dst() != nullptr);
  CHECK(*ra.dst() == "d.vmdk");
  CHECK(args_of<RepairArgs>(parse({"repair", "--for", "all", "s.vmdk"})).dst() == nullptr);
  CHECK(args_of<RepairArgs>(
            parse({"repair", "--for", "mvmc", "--keep", "a", "--keep", "b,c", "s.vmdk"}))
            .keep == std::vector<std::string>{"a", "b", "c"});
  // --add-uuids is for VirtualBox alone, not for "all" (which includes MVMC).
  require_error({"repair", "--for", "all", "--add-uuids", "s.vmdk"}, "--add-uuids needs");

  auto l = parse({"descriptor", "lint", "--for", "qemu", "--json", "s.vmdk"});
  const auto& la = args_of<DescriptorArgs>(l);
  CHECK(la.action() == DescriptorAction::lint);
  CHECK(la.consumer.mask == vm::kQemu);
  CHECK(la.json);
  CHECK(la.src() == "s.vmdk");
  auto x = parse({"descriptor", "extract", "--force", "s.vmdk", "f.txt"});
  CHECK(args_of<DescriptorArgs>(x).action() == DescriptorAction::extract);
  CHECK(args_of<DescriptorArgs>(x).force);
  CHECK(args_of<DescriptorArgs>(x).file() == "f.txt");
  CHECK_FALSE(args_of<DescriptorArgs>(parse({"descriptor", "show", "s.vmdk"})).consumer.given());
  CHECK(vdconvert::parse_descriptor_action("shw") == std::nullopt);
  CHECK(vdconvert::parse_iso_action("lss") == std::nullopt);
}

TEST_CASE("cli args: measure takes the target block without --threads", "[cli][args]") {
  using vdconvert::MeasureArgs;
  auto m = parse({"measure", "-O", "vmdk", "--subformat", "monolithicSparse", "--json", "a"});
  const auto& ma = args_of<MeasureArgs>(m);
  CHECK(ma.target.name == "vmdk");
  CHECK(ma.target.settings == vdconvert::KeyValues{{"subformat", "monolithicSparse"}});
  CHECK(ma.json);
  CHECK(args_of<MeasureArgs>(parse({"measure", "a"})).target.name.empty());
  require_error({"measure", "-j", "2", "a"}, "unknown option '-j'");
}
