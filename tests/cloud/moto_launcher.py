"""Runs moto's server (moto.server.main, in this process) with its EBS direct APIs answering as
AWS's API reference documents them, then hands the rest of the command line to moto's server.

What moto 5.2 (module moto.ebs) gets wrong, and what this launcher changes (each a patch below;
the library reads AWS's replies only, so the tests run against these):
1. BlockSize. moto answers StartSnapshot and ListSnapshotBlocks with "BlockSize": 512, a
   constant its EBSSnapshot model sets when a snapshot starts; AWS answers 524288. vdconvert
   follows the reply, and puts every block of a snapshot's whole-GiB volume by default: 2,097,152
   requests per GiB at moto's 512 bytes, 2,048 at AWS's size. The model's block size is set
   after moto's own constructor runs (--ebs-block-size; 512 keeps moto's own answer).
2. ListSnapshotBlocks. moto lists a snapshot's blocks in the order they were put, each
   BlockIndex the string of the URL it was put at, all in one reply. AWS: BlockIndex an
   integer, the blocks in ascending index, at most maxResults (100..10000) a page with a
   NextToken naming the next (given back as pageToken), from startingBlockIndex. Patched so.
3. ListChangedBlocks. moto walks only the FIRST snapshot's blocks (a block the second holds and
   the first does not is never listed), states the first snapshot's VolumeSize and BlockSize,
   gives string indexes in insertion order and ignores maxResults, pageToken and
   startingBlockIndex. AWS lists every block that differs between the two (FirstBlockToken when
   the first holds it, SecondBlockToken when the second does), with the second snapshot's sizes,
   paged as ListSnapshotBlocks is. Patched so; a block is "changed" when its bytes differ or only
   one snapshot holds it (moto's own rule, extended to the second snapshot's blocks).
4. GetSnapshotBlock. moto ignores the blockToken and answers a block it does not hold with an
   internal error (500, which a client retries). AWS refuses a token that is not the block's
   and a block the snapshot does not hold (ValidationException, 400). Patched so, which makes
   the tests check that the client reads each block with the token listed for it.

Pages: AWS may return fewer blocks than maxResults asks for; the environment variable
VDISK_MOTO_EBS_PAGE (a test's setting, default none) caps every page at that many blocks, so a
test exercises NextToken with small snapshots.

Usage: moto_launcher.py [--ebs-block-size BYTES] MOTO_SERVER_ARGS...
  (default 524288; 512 keeps moto's own answer)
"""
import json
import os
import sys


def _error(kind, message, status=400):
    # moto takes a reply's status from the "status" member of its headers.
    return status, {"status": status, "content-type": "application/json",
                    "x-amzn-ErrorType": kind}, json.dumps({"__type": kind, "message": message})


def _page_args(resp):
    """(maxResults, first index, page cap) of a list request, or an error reply."""
    def arg(name):
        v = resp.querystring.get(name)
        return v[0] if v else None
    max_results = arg("maxResults")
    try:
        max_results = 10000 if max_results is None else int(max_results)
        start = int(arg("pageToken") or arg("startingBlockIndex") or 0)  # NextToken wins
    except ValueError:
        return None, _error("ValidationException", "maxResults and pageToken are numbers here")
    if not 100 <= max_results <= 10000:
        return None, _error("ValidationException", "maxResults must be 100..10000")
    cap = int(os.environ.get("VDISK_MOTO_EBS_PAGE", "0") or 0)
    return (min(max_results, cap) if cap > 0 else max_results, start), None


def _page(items, start, size):
    """The items (index, ...) from `start`, at most `size`, and the next page's token."""
    chosen = [it for it in items if it[0] >= start]
    page, rest = chosen[:size], chosen[size:]
    return page, (str(rest[0][0]) if rest else None)


def patch_ebs(models, responses, block_size):
    original = models.EBSSnapshot.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not hasattr(self, "block_size") or not hasattr(self, "blocks"):
            raise RuntimeError("moto_launcher: moto's EBSSnapshot has no block_size or blocks")
        self.block_size = block_size

    models.EBSSnapshot.__init__ = init

    def snapshot_of(resp, snapshot_id):
        return resp.ebs_backend.snapshots.get(snapshot_id)

    def list_snapshot_blocks(self):
        snapshot_id = self.path.split("?")[0].split("/")[-2]
        snap = snapshot_of(self, snapshot_id)
        if snap is None:
            return _error("ResourceNotFoundException", f"snapshot {snapshot_id} not found", 404)
        args, err = _page_args(self)
        if err:
            return err
        size, start = args
        items = sorted((int(i), b.block_token) for i, b in snap.blocks.items())
        page, next_token = _page(items, start, size)
        reply = {"Blocks": [{"BlockIndex": i, "BlockToken": t} for i, t in page],
                 "VolumeSize": snap.volume_size, "BlockSize": snap.block_size}
        if next_token:
            reply["NextToken"] = next_token
        return 200, {"content-type": "application/json"}, json.dumps(reply)

    def list_changed_blocks(self):
        second_id = self.path.split("?")[0].split("/")[-2]
        first_id = (self.querystring.get("firstSnapshotId") or [None])[0]
        second, first = snapshot_of(self, second_id), snapshot_of(self, first_id)
        if second is None or first is None:
            return _error("ResourceNotFoundException",
                          f"snapshot {second_id if second is None else first_id} not found", 404)
        args, err = _page_args(self)
        if err:
            return err
        size, start = args
        a = {int(i): b for i, b in first.blocks.items()}
        b = {int(i): blk for i, blk in second.blocks.items()}
        items = []
        for i in sorted(set(a) | set(b)):
            if i in a and i in b and a[i].block_data == b[i].block_data:
                continue
            items.append((i, a[i].block_token if i in a else None,
                          b[i].block_token if i in b else None))
        page, next_token = _page(items, start, size)
        blocks = []
        for i, t1, t2 in page:
            item = {"BlockIndex": i}
            if t1:
                item["FirstBlockToken"] = t1
            if t2:
                item["SecondBlockToken"] = t2
            blocks.append(item)
        reply = {"ChangedBlocks": blocks, "VolumeSize": second.volume_size,
                 "BlockSize": second.block_size}
        if next_token:
            reply["NextToken"] = next_token
        return 200, {"content-type": "application/json"}, json.dumps(reply)

    original_get = responses.EBSResponse.get_snapshot_block

    def get_snapshot_block(self):
        parts = self.path.split("?")[0].split("/")
        snap = snapshot_of(self, parts[-3])
        token = (self.querystring.get("blockToken") or [None])[0]
        block = snap.blocks.get(parts[-1]) if snap is not None else None
        if block is None or token != block.block_token:
            return _error("ValidationException",
                          f"block {parts[-1]} of {parts[-3]}: no such block or token")
        return original_get(self)

    for name in ("list_snapshot_blocks", "list_changed_blocks", "get_snapshot_block"):
        if not hasattr(responses.EBSResponse, name):
            raise RuntimeError(f"moto_launcher: moto's EBSResponse has no {name} any more")
    responses.EBSResponse.list_snapshot_blocks = list_snapshot_blocks
    responses.EBSResponse.list_changed_blocks = list_changed_blocks
    responses.EBSResponse.get_snapshot_block = get_snapshot_block


def main(argv):
    block_size = 524288
    if argv[:1] == ["--ebs-block-size"]:
        block_size = int(argv[1])
        argv = argv[2:]
    if block_size < 512 or block_size & (block_size - 1):
        sys.exit(f"moto_launcher: --ebs-block-size {block_size}: expected a power of two >= 512")
    try:
        from moto import server
        from moto.ebs import models, responses
    except ImportError as e:
        sys.exit(f"FAIL: moto's server is not importable ({e}); pip install 'moto[server]'")
    patch_ebs(models, responses, block_size)
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
