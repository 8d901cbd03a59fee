// OVA packages read from a stream (docs/ova.md, "Streams"): the tar headers are parsed as they
// come; the descriptor first, then a manifest that precedes the disk, members before the chosen
// disk's file skipped; the disk's stored bytes (every chunk in turn, inflated when gzip'd) are
// the input stream of the disk image's own stream reader, digested as they pass. When that
// reader has returned the whole disk, the rest of the disk's file and of the archive is read (a
// manifest at the end is parsed there) and the digests are checked, all before the disk's end
// is reported, so a copy never finishes (commits) its output for a package that fails.
#include <algorithm>

#include <fmt/format.h>

#include "contract/format_driver.h"
#include "formats/ova/gunzip.h"
#include "formats/ova/ova.h"
#include "formats/ova/ova_tar.h"

namespace vdisk::ova {
namespace {

// Everything the stream reader shares between the disk's byte stream and the source.
class State {
 public:
  State(std::unique_ptr<InputStream> in, const OpenOptions& options)
      : in_(std::move(in)),
        input_(stream_tar_input(*in_)),
        walker_(*input_, in_->name()),
        options_(options) {
    p.archive = in_->name();
  }

  Status open_package();
  // The disk file's stored bytes, chunk after chunk; 0 at its end.
  Result<std::size_t> read_disk(std::span<std::byte> dst);
  // Reads the rest of the disk's file and of the archive and checks the digests (once).
  Status finish();

  Package p;

 private:
  Status read_manifest();
  // Notes a member the walk met after the descriptor (its name, when a regular file); at most
  // kMaxMembers of them, as the file reader allows.
  Status seen(const std::optional<TarEntry>& m);
  Status begin_member(const TarEntry& e);
  Status end_member();

  std::unique_ptr<InputStream> in_;
  std::unique_ptr<TarInput> input_;
  TarWalker walker_;
  OpenOptions options_;
  std::optional<FileDigest> ovf_digest_;
  std::vector<ManifestEntry> manifest_;
  bool manifest_known_ = false;
  // The disk's stored files: names, sizes and digests as they were read.
  std::vector<std::string> names_;
  std::vector<std::uint64_t> sizes_;
  std::vector<FileDigest> digests_;
  std::optional<FileDigest> current_;
  bool disk_done_ = false;
  std::optional<TarEntry> pending_;  // a header read while looking for the next chunk
  std::optional<Status> finished_;
  std::vector<std::string> members_;  // regular members' names, in archive order
  std::size_t member_count_ = 0;
};

Status State::seen(const std::optional<TarEntry>& m) {
  if (!m) return {};
  if (++member_count_ > kMaxMembers)
    return resource_exhausted(
        fmt::format("ova: {}: more than {} members in the archive", p.archive, kMaxMembers));
  if (m->regular()) members_.push_back(m->name);
  return {};
}

Status State::read_manifest() {
  p.manifest.name = walker_.current().name;
  VDISK_ASSIGN_OR_RETURN(const std::string text, walker_.read_all(kMaxManifestBytes, "manifest"));
  VDISK_ASSIGN_OR_RETURN(manifest_, parse_manifest(text, p.manifest.name));
  manifest_known_ = true;
  if (const ManifestEntry* e = find_entry(manifest_, p.ovf_name))
    p.manifest.algorithm = e->algorithm;
  else if (!manifest_.empty())
    p.manifest.algorithm = manifest_.front().algorithm;
  return {};
}

Status State::open_package() {
  VDISK_ASSIGN_OR_RETURN(const auto first, walker_.next());
  if (!first || !first->regular() || !ends_with_nocase(first->name, ".ovf"))
    return corrupt(fmt::format("ova: {}: the first member is not an .ovf descriptor", p.archive));
  p.ovf_name = first->name;
  members_.push_back(p.ovf_name);
  VDISK_ASSIGN_OR_RETURN(const std::string ovf_text, walker_.read_all(kMaxOvfBytes, "descriptor"));
  ovf_digest_.emplace(options_.verify_manifest, options_.verify_manifest);
  ovf_digest_->update(std::as_bytes(std::span(ovf_text)));
  ovf_digest_->finish();
  VDISK_ASSIGN_OR_RETURN(p.envelope, parse_envelope(ovf_text, p.ovf_name));
  VDISK_RETURN_IF_ERROR(choose_disk(p, options_, false));
  const OvfFile& f = p.chosen_file();
  const std::string first_name = f.chunk_size ? chunk_name(f.href, 0) : f.href;
  for (;;) {
    VDISK_ASSIGN_OR_RETURN(const auto m, walker_.next());
    VDISK_RETURN_IF_ERROR(seen(m));
    if (!m)
      return corrupt(fmt::format("ova: {}: '{}' (the file of disk {}) is not in the archive",
                                 p.archive, first_name, p.disk + 1));
    if (!m->regular()) continue;
    if (m->name == first_name) return begin_member(*m);
    if (ends_with_nocase(m->name, ".mf") && !manifest_known_)
      VDISK_RETURN_IF_ERROR(read_manifest());
  }
}

Status State::begin_member(const TarEntry& e) {
  const OvfFile& f = p.chosen_file();
  if (f.chunk_size) {
    if (e.size > *f.chunk_size || e.size == 0)
      return check_chunk(f, names_.size(), e.size, true, p.archive);
  } else {
    VDISK_RETURN_IF_ERROR(check_stored_size(f, e.size, p.archive));
  }
  names_.push_back(e.name);
  sizes_.push_back(e.size);
  current_ = options_.verify_manifest ? digest_for(manifest_, manifest_known_, e.name)
                                      : FileDigest(false, false);
  return {};
}

Status State::end_member() {
  current_->finish();
  digests_.push_back(std::move(*current_));
  current_.reset();
  const OvfFile& f = p.chosen_file();
  if (f.chunk_size && names_.size() < kMaxChunks) {
    VDISK_ASSIGN_OR_RETURN(auto m, walker_.next());
    VDISK_RETURN_IF_ERROR(seen(m));
    if (m && m->regular() && m->name == chunk_name(f.href, names_.size())) {
      VDISK_RETURN_IF_ERROR(check_chunk(f, names_.size() - 1, sizes_.back(), false, p.archive));
      return begin_member(*m);
    }
    pending_ = std::move(m);
    if (!pending_) pending_ = TarEntry{"", 'E'};  // the end of the archive
  }
  disk_done_ = true;
  std::uint64_t total = 0;
  for (std::uint64_t s : sizes_) total += s;
  return check_stored_size(f, total, p.archive);
}

Result<std::size_t> State::read_disk(std::span<std::byte> dst) {
  while (!disk_done_) {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, walker_.read_data(dst));
    if (n > 0) {
      current_->update(dst.first(n));
      return n;
    }
    VDISK_RETURN_IF_ERROR(end_member());
  }
  return std::size_t{0};
}

Status State::finish() {
  if (finished_) return *finished_;
  finished_ = [&]() -> Status {
    std::vector<std::byte> scratch(1 << 20);
    for (;;) {
      VDISK_ASSIGN_OR_RETURN(const std::size_t n, read_disk(scratch));
      if (n == 0) break;
    }
    bool ended = pending_ && pending_->type == 'E';
    if (pending_ && !ended && pending_->regular() && ends_with_nocase(pending_->name, ".mf") &&
        !manifest_known_)
      VDISK_RETURN_IF_ERROR(read_manifest());
    while (!ended) {
      VDISK_ASSIGN_OR_RETURN(const auto m, walker_.next());
      VDISK_RETURN_IF_ERROR(seen(m));
      if (!m) break;
      if (m->regular() && ends_with_nocase(m->name, ".mf") && !manifest_known_)
        VDISK_RETURN_IF_ERROR(read_manifest());
    }
    VDISK_RETURN_IF_ERROR(walker_.drain_trailer());
    if (!manifest_known_) return {};
    if (!options_.verify_manifest) {
      p.manifest.skipped = true;
      return {};
    }
    if (const ManifestEntry* e = find_entry(manifest_, p.ovf_name))
      VDISK_RETURN_IF_ERROR(verify_digest(*e, *ovf_digest_, p.manifest.name));
    else
      note_unlisted(options_, p.manifest.name, p.ovf_name);
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (const ManifestEntry* e = find_entry(manifest_, names_[i]))
        VDISK_RETURN_IF_ERROR(verify_digest(*e, digests_[i], p.manifest.name));
      else
        note_unlisted(options_, p.manifest.name, names_[i]);
    }
    std::sort(members_.begin(), members_.end());
    settle_manifest(
        p, manifest_,
        [this](std::string_view name) {
          return std::binary_search(members_.begin(), members_.end(), name);
        },
        options_);
    return {};
  }();
  return *finished_;
}

// The disk file's stored bytes as an InputStream.
class DiskStream final : public InputStream {
 public:
  DiskStream(std::shared_ptr<State> s, std::string name)
      : s_(std::move(s)), name_(std::move(name)) {}
  Result<std::size_t> read(std::span<std::byte> dst) override { return s_->read_disk(dst); }
  const std::string& name() const override { return name_; }

 private:
  std::shared_ptr<State> s_;
  std::string name_;
};

class PlacedView final : public PlacedStream {
 public:
  PlacedView(PlacedStream& inner, State& s) : inner_(inner), s_(s) {}
  Result<PlacedPiece> next_piece() override {
    VDISK_ASSIGN_OR_RETURN(PlacedPiece piece, inner_.next_piece());
    if (piece.length == 0) VDISK_RETURN_IF_ERROR(s_.finish());
    return piece;
  }
  Status decode(const PlacedPiece& piece, std::span<std::byte> out) const override {
    return inner_.decode(piece, out);
  }

 private:
  PlacedStream& inner_;
  State& s_;
};

class OvaStream final : public StreamSource {
 public:
  OvaStream(std::shared_ptr<State> s, std::unique_ptr<StreamSource> inner)
      : s_(std::move(s)), inner_(std::move(inner)) {
    if (PlacedStream* p = inner_->placed()) placed_.emplace(*p, *s_);
  }
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  Result<std::size_t> read(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const std::size_t n, inner_->read(dst));
    if (n == 0) VDISK_RETURN_IF_ERROR(s_->finish());
    return n;
  }
  Result<StreamRun> next(std::span<std::byte> dst) override {
    VDISK_ASSIGN_OR_RETURN(const StreamRun run, inner_->next(dst));
    if (run.kind == StreamRun::Kind::end) VDISK_RETURN_IF_ERROR(s_->finish());
    return run;
  }
  std::string_view format() const override { return "ova"; }
  PlacedStream* placed() override { return placed_ ? &*placed_ : nullptr; }

 private:
  std::shared_ptr<State> s_;
  std::unique_ptr<StreamSource> inner_;
  std::optional<PlacedView> placed_;
};

}  // namespace

Result<std::unique_ptr<StreamSource>> open_tar_stream(std::unique_ptr<InputStream> in,
                                                      const OpenOptions& options) {
  NestingGuard guard;
  if (guard.nested()) return unsupported("ova: an OVA inside an OVA is not read");
  auto state = std::make_shared<State>(std::move(in), options);
  VDISK_RETURN_IF_ERROR(state->open_package());
  const OvfFile& f = state->p.chosen_file();
  std::unique_ptr<InputStream> disk =
      std::make_unique<DiskStream>(state, fmt::format("{}:{}", state->p.archive, f.href));
  if (f.gzip) disk = gunzip_stream(std::move(disk));
  VDISK_ASSIGN_OR_RETURN(auto inner, open_image_stream(std::move(disk), inner_options(options)));
  return std::unique_ptr<StreamSource>(
      std::make_unique<OvaStream>(std::move(state), std::move(inner)));
}

}  // namespace vdisk::ova
