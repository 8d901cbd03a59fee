"""Runs moto's server (moto.server.main, in this process) with the block size its EBS direct
APIs state set to what AWS states.

moto answers StartSnapshot and ListSnapshotBlocks with "BlockSize": 512, a constant its EBSSnapshot
model sets when a snapshot starts (module moto.ebs.models); AWS answers 524288. vdconvert follows
the reply, and puts every block of a snapshot's whole-GiB volume by default: 2,097,152 requests
per GiB at moto's 512 bytes, 2,048 at AWS's size. This launcher sets the model's block size
after moto's own constructor runs, then hands the rest of the command line to moto's server.

Usage: moto_launcher.py [--ebs-block-size BYTES] MOTO_SERVER_ARGS...
  (default 524288; 512 keeps moto's own answer)
"""
import sys


def main(argv):
    block_size = 524288
    if argv[:1] == ["--ebs-block-size"]:
        block_size = int(argv[1])
        argv = argv[2:]
    if block_size < 512 or block_size & (block_size - 1):
        sys.exit(f"moto_launcher: --ebs-block-size {block_size}: expected a power of two >= 512")
    try:
        from moto import server
        from moto.ebs import models
    except ImportError as e:
        sys.exit(f"FAIL: moto's server is not importable ({e}); pip install 'moto[server]'")

    original = models.EBSSnapshot.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not hasattr(self, "block_size"):
            raise RuntimeError("moto_launcher: moto's EBSSnapshot has no block_size any more")
        self.block_size = block_size

    models.EBSSnapshot.__init__ = init
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
