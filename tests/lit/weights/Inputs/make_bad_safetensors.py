"""Writes .safetensors files whose header lies about the data, one lie each."""
import json
import os
import struct
import sys

out = sys.argv[1]


def entry(shape, begin, end, dtype="F32"):
    return json.dumps({"dtype": dtype, "shape": shape, "data_offsets": [begin, end]})


def write(name, header, data):
    # The header is written as text, so that it can repeat a key.
    text = header.encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(out, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


write("overlap.safetensors", '{"a":%s,"b":%s}' % (entry([4], 0, 16), entry([4], 8, 24)), bytes(24))
write("twice.safetensors", '{"a":%s,"a":%s}' % (entry([4], 0, 16), entry([4], 16, 32)), bytes(32))
write("gap.safetensors", '{"a":%s,"b":%s}' % (entry([4], 0, 16), entry([4], 20, 36)), bytes(36))
write("trailing.safetensors", '{"a":%s}' % entry([4], 0, 16), bytes(20))
# 2^31 * 2^31 floats are 2^64 bytes: the count wraps to 0, which matched [0, 0).
write("wrap.safetensors", '{"big":%s}' % entry([2**31, 2**31], 0, 0), b"")
write("past_end.safetensors", '{"a":%s}' % entry([4], 0, 16), bytes(8))
# Empty tensors own no bytes and may sit anywhere, even at a shared offset.
write("empty.safetensors", '{"a":%s,"b":%s,"c":%s}' % (entry([0], 0, 0), entry([4], 0, 16),
                                                      entry([2, 0], 16, 16)), bytes(16))
