// The EBS direct API requests (docs/cloud.md, "AWS" and "Reading EBS snapshots"): StartSnapshot
// (with a parent for an incremental snapshot), PutSnapshotBlock, CompleteSnapshot;
// ListSnapshotBlocks, ListChangedBlocks and GetSnapshotBlock for a read-back (--verify) and the
// EBS source; and EC2 DeleteSnapshot for a snapshot left pending and DescribeSnapshots (the
// read-back waits for the completed state; an incremental run reads its parent's tags). One
// EbsClient per thread.
#ifndef VDISK_AWS_EBS_CLIENT_H_
#define VDISK_AWS_EBS_CLIENT_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "checksum/sha256.h"
#include "http/client.h"
#include "remote/aws/aws_client.h"
#include "remote/ebs/ebs_lists.h"
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

// What EC2 DescribeSnapshots says of one snapshot.
struct SnapshotFacts {
  std::string state;  // "pending", "completed", "error"
  std::vector<std::pair<std::string, std::string>> tags;
  // The value of tag `key`, or nullopt.
  std::optional<std::string> tag(std::string_view key) const;
};
// Parses a DescribeSnapshots reply for snapshot `id`: not_found when it lists no snapshot,
// corrupt when it lists another or its state or tags are malformed.
Result<SnapshotFacts> parse_describe_snapshots(std::string_view xml, const std::string& id);

// What is wrong with a GetSnapshotBlock reply for a block of `block_bytes` bytes: its
// x-amz-Data-Length or body length is not the block's, its x-amz-Checksum-Algorithm is not
// SHA256, or its x-amz-Checksum is not the base64 SHA-256 of its body. Empty when nothing is.
std::string block_reply_problem(const http::Response& reply, std::uint64_t block_bytes);

class EbsClient {
 public:
  static Result<std::unique_ptr<EbsClient>> create(const AwsOptions& aws, std::stop_token stop);
  // Over a client the caller made (a test's scripted connection).
  static std::unique_ptr<EbsClient> over(AwsClient client) {
    return std::unique_ptr<EbsClient>(new EbsClient(std::move(client)));
  }
  // StartSnapshot of `volume_gib` with o's description, tags, timeout and parent
  // (ParentSnapshotId when o.parent_snapshot_id is set).
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
  // EC2 DescribeSnapshots of `id`: its state and tags (parse_describe_snapshots).
  Result<SnapshotFacts> describe_snapshot(const std::string& id);
  // ListSnapshotBlocks of `id` from `next_token` (empty: the first page).
  // `max_results` (100..10000) is the page asked for.
  Result<BlockList> list_blocks(const std::string& id, const std::string& next_token,
                                std::size_t max_results = kMaxListResults);
  // ListChangedBlocks of `second` against `first` from `next_token` (empty: the first page).
  Result<ChangedList> list_changed_blocks(const std::string& first, const std::string& second,
                                          const std::string& next_token);
  // GetSnapshotBlock's reply (HTTP status 200 checked, nothing else: block_reply_problem).
  Result<http::Response> get_block_reply(const std::string& id, std::uint64_t index,
                                         const std::string& token);
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
