// The EBS direct API requests (docs/cloud.md, "AWS"): StartSnapshot, PutSnapshotBlock,
// CompleteSnapshot; ListSnapshotBlocks and GetSnapshotBlock for a read-back (--verify); and EC2
// DeleteSnapshot for a snapshot left pending and DescribeSnapshots (the read-back waits for the
// completed state). One EbsClient per thread.
#ifndef VDISK_AWS_EBS_CLIENT_H_
#define VDISK_AWS_EBS_CLIENT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "checksum/sha256.h"
#include "http/client.h"
#include "remote/aws/aws_client.h"
#include "vdisk/cloud.h"

namespace vdisk::aws {

struct StartedSnapshot {
  std::string id;
  std::uint64_t block_bytes = 0;
  // The reply says the snapshot is encrypted: a KmsKeyArn (the API reference's only encryption
  // member of the reply), an SseType other than "none", or "Encrypted": true. Blocks an
  // encrypted snapshot does not hold read back as random data, not zeros. moto states none.
  bool encrypted = false;
  std::string encryption;  // what said so, for messages: "KmsKeyArn arn:aws:kms:..."
};

// The LINEAR aggregate: SHA-256 over the blocks' raw SHA-256 digests in ascending block index,
// base64 (what CompleteSnapshot takes). LinearChecksum takes the digests one at a time (a
// volume's worth need not be held at once).
class LinearChecksum {
 public:
  void add(const std::array<std::uint8_t, 32>& block_digest);
  std::string finish_base64();

 private:
  checksum::Sha256 h_;
};
std::string linear_checksum(std::span<const std::array<std::uint8_t, 32>> digests);

// Parses StartSnapshot's reply: SnapshotId, a BlockSize that is a power of two from 512 B to
// 16 MiB (AWS says 524288; moto says 512) and whether it is encrypted. corrupt otherwise.
Result<StartedSnapshot> parse_start_reply(std::string_view json);

// One page of ListSnapshotBlocks: the blocks the snapshot holds (in index order), the token of
// the next page (empty: the last) and the block size and volume size it states.
struct ListedBlock {
  std::uint64_t index = 0;
  std::string token;  // GetSnapshotBlock's blockToken
};
struct BlockList {
  std::vector<ListedBlock> blocks;
  std::string next_token;
  std::uint64_t block_bytes = 0;
  std::uint64_t volume_gib = 0;
};
// Parses a ListSnapshotBlocks reply (a BlockIndex may be a number, as AWS sends it, or a string
// of digits, as moto does); at most 100,000 blocks, tokens of 1..1024 characters. corrupt
// otherwise.
Result<BlockList> parse_block_list(std::string_view json);

class EbsClient {
 public:
  static Result<std::unique_ptr<EbsClient>> create(const AwsOptions& aws, std::stop_token stop);
  Result<StartedSnapshot> start(std::uint64_t volume_gib, const EbsSnapshotOptions& o,
                                const std::string& client_token);
  // Puts block `index`, whose SHA-256 is `sha256_base64` (x-amz-Checksum) and `sha256_hex`
  // (the signed payload hash): computed once for all zero blocks.
  Status put_block(const std::string& id, std::uint64_t index, std::span<const std::byte> data,
                   const std::string& sha256_base64, const std::string& sha256_hex);
  Status complete(const std::string& id, std::uint64_t changed_blocks,
                  const std::string& linear_checksum_base64);
  Status delete_snapshot(const std::string& id);
  // EC2 DescribeSnapshots of `id`: its state ("pending", "completed", "error"); not_found when
  // EC2 does not know it.
  Result<std::string> snapshot_state(const std::string& id);
  // ListSnapshotBlocks of `id` from `next_token` (empty: the first page).
  Result<BlockList> list_blocks(const std::string& id, const std::string& next_token);
  // GetSnapshotBlock: the block's `block_bytes` bytes, checked against the x-amz-Checksum (base64
  // SHA-256) the reply carries; io_error when the size or the checksum is not the block's.
  Result<std::string> get_block(const std::string& id, std::uint64_t index,
                                const std::string& token, std::uint64_t block_bytes);

 private:
  explicit EbsClient(AwsClient client) : client_(std::move(client)) {}
  Result<http::Response> send(const std::string& service, const std::string& method,
                              const std::string& path, std::vector<http::Header> headers,
                              std::span<const std::byte> body, const std::string& body_sha256,
                              std::string what);

  AwsClient client_;
};

}  // namespace vdisk::aws

#endif  // VDISK_AWS_EBS_CLIENT_H_
