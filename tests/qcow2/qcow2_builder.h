// A small qcow2 writer for tests: builds well-formed images cluster by cluster, and exposes
// where every structure lies so hostile cases can break one field at a time.
//
// Layout: cluster 0 header (+ extensions, backing name), cluster 1 the L1 table, cluster 2 the
// one L2 table (so the disk is at most one L2 table's reach), then data clusters and compressed
// streams in the order they were added.
#ifndef VDISK_TESTS_QCOW2_QCOW2_BUILDER_H_
#define VDISK_TESTS_QCOW2_QCOW2_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vdisk::test {

struct Qcow2Spec {
  std::uint32_t version = 3;
  std::uint32_t cluster_bits = 12;  // 4 KiB
  std::uint64_t size = 64 * 4096;
  std::uint64_t incompatible = 0;  // extra bits; extended L2 and compression bits are added
  std::uint32_t crypt_method = 0;
  bool extended_l2 = false;
  bool zstd = false;
  std::string backing_file;
  std::string backing_format;
  std::string data_file;
  // Feature name table entries: (type, bit, name).
  struct Feature {
    std::uint8_t type, bit;
    std::string name;
  };
  std::vector<Feature> feature_names;
};

class Qcow2Builder {
 public:
  explicit Qcow2Builder(Qcow2Spec spec);

  std::uint64_t cluster_size() const { return std::uint64_t{1} << spec_.cluster_bits; }
  // Guest cluster `ci` stored uncompressed with `data` (padded to a cluster); returns its host
  // offset. With extended L2 the bitmap marks every subcluster allocated unless given.
  std::uint64_t add_data(std::uint64_t ci, std::vector<std::byte> data);
  // Guest cluster `ci` stored as `stream` (raw deflate or zstd); returns its host offset.
  std::uint64_t add_compressed(std::uint64_t ci, const std::vector<std::byte>& stream);
  // Sets the raw L2 entry (and, with extended L2, its bitmap) of guest cluster `ci`.
  void set_entry(std::uint64_t ci, std::uint64_t word, std::uint64_t bitmap = 0);

  // The image bytes.
  std::vector<std::byte> bytes() const;

  static constexpr std::uint64_t kL1Cluster = 1;
  static constexpr std::uint64_t kL2Cluster = 2;
  std::uint64_t l1_offset() const { return kL1Cluster * cluster_size(); }
  std::uint64_t l2_offset() const { return kL2Cluster * cluster_size(); }
  std::uint64_t entry_offset(std::uint64_t ci) const {
    return l2_offset() + ci * (spec_.extended_l2 ? 16 : 8);
  }

 private:
  Qcow2Spec spec_;
  std::vector<std::byte> tail_;                                   // everything after the L2 table
  std::vector<std::pair<std::uint64_t, std::uint64_t>> entries_;  // ci -> word
  std::vector<std::pair<std::uint64_t, std::uint64_t>> bitmaps_;  // ci -> bitmap
};

}  // namespace vdisk::test

#endif  // VDISK_TESTS_QCOW2_QCOW2_BUILDER_H_
