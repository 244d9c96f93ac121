"""Writes the seed corpora under fuzz/corpus/ (deterministic; run from anywhere).

Each target's inputs start with one mode byte that the harness interprets
(see the harnesses); the rest is a file image.  Seeds are small valid files
and a few near misses, so the fuzzers start past the format checks.
"""

import gzip
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from pybp.model import dumps  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def models():
    rng = random.Random(7)
    yield "doc-example", dumps([2, 1], ["sigmoid"], "quadratic", [0.5, -0.25, 1.0])
    yield "smallest", dumps([1, 1], ["identity"], "quadratic", [-0.0, 5e-324])
    yield "ce", dumps([3, 4, 2], ["tanh", "sigmoid"], "cross-entropy",
                      [rng.uniform(-2, 2) for _ in range(26)])
    yield "ll", dumps([2, 3, 3], ["relu", "softmax"], "log-likelihood",
                      [rng.uniform(-1, 1) for _ in range(21)])
    yield "deep", dumps([1] * 9, ["relu", "tanh", "identity", "sigmoid"] * 2,
                        "quadratic", [1.0] * 16)


def model_seeds():
    for name, data in models():
        yield name, b"\x00" + data
    # With mode bit 0 set the harness recomputes the checksum, so a file
    # with a wrong one still reaches the parameter checks.
    _, data = next(models())
    yield "crc-fixup", b"\x01" + data[:-4] + b"\x00\x00\x00\x00"
    yield "truncated", b"\x00" + data[:30]


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + payload


def idx_seeds():
    # Mode byte bit 0: the harness gzips the rest before writing the file.
    yield "u8", b"\x00" + idx(0x08, (2, 3), bytes(range(6)))
    yield "u8-gzip", b"\x01" + idx(0x08, (4,), bytes([0, 1, 2, 9]))
    yield "i8", b"\x00" + idx(0x09, (3,), b"\x80\x00\x7f")
    yield "i16", b"\x00" + idx(0x0B, (2,), struct.pack(">2h", -2, 300))
    yield "i32", b"\x00" + idx(0x0C, (1, 2), struct.pack(">2i", -7, 1 << 20))
    yield "f32", b"\x00" + idx(0x0D, (2,), struct.pack(">2f", 1.5, -0.0))
    yield "f64", b"\x00" + idx(0x0E, (1,), struct.pack(">d", 2.25))
    # gzip made by the seed itself, so the fuzzer mutates a real stream
    yield "gz-stream", b"\x00" + gzip.compress(idx(0x08, (2, 2), b"\x01\x02\x03\x04"),
                                               mtime=0)


def csv_seeds():
    # Mode byte: bits 0-1 has_header (None, False, True), bit 2 n_classes,
    # bits 3-4 which loader (see fuzz_py.py).
    texts = [
        b"1,2,0\n3,4,1\n",
        b"x,y,label\n0.5,-1e3,2\n1.5,2,3.0\n",
        b"\xef\xbb\xbfa;b\r\n1,2,1\r\n\r\n3,4,0\r\n",
        b'"1","2",0\n"3, 4",5,1\n',
        b"1.0,2.0\n3.0,4.0\n",
        b"nan,1,0\n",
    ]
    for i, text in enumerate(texts):
        yield "csv%d" % i, bytes([i * 9 % 32]) + text


def dataset_seeds():
    yield "rows", bytes([0, 3, 2, 1, 2, 3, 4, 5, 6, 0, 1, 1])
    yield "u8", bytes([1, 2, 4, 255, 10, 20, 30, 40, 0, 1])


def checkpoint_seeds():
    from pybp import checkpoint, network
    net = network.Network([2, 3, 2], seed=1, backend="python")
    settings = {"sizes": [2, 3, 2], "activations": ["sigmoid", "sigmoid"],
                "cost": "quadratic", "eta": 0.5, "lmbda": 0.0,
                "mini_batch_size": 2, "epochs": 3, "seed": 1, "init": "normal",
                "limit": None, "test_limit": None, "data": "csv"}
    history = [{"epoch": 1, "cost": 0.25, "seconds": 0.01, "correct": 3,
                "total": 4}]
    data = checkpoint.dumps(settings, 1, net.shuffle_state, net.params, history)
    yield "valid", b"\x00" + data
    yield "body", b"\x01" + data.split(b"\n", 1)[1]  # header made by the target


def entry_seeds():
    rng = random.Random(11)
    yield "zeros", bytes(64)
    for n in (32, 128, 512, 2048):
        yield "random%d" % n, bytes(rng.getrandbits(8) for _ in range(n))


def main():
    for name, data in model_seeds():
        write("fuzz_model", name, data)
        write("py_model", name, data)
    for name, data in idx_seeds():
        write("py_idx", name, data)
    for name, data in csv_seeds():
        write("py_csv", name, data)
    for name, data in dataset_seeds():
        write("py_dataset", name, data)
    for name, data in checkpoint_seeds():
        write("py_checkpoint", name, data)
    for name, data in entry_seeds():
        write("fuzz_entry", name, data)


if __name__ == "__main__":
    main()
