"""Content hashes as cache keys: equal inputs give equal keys, and any change to the inputs changes the key."""

from __future__ import annotations

import hashlib

from ziya2lab.common.hashing import hash_bytes, hash_config, hash_file, hash_texts


def test_hash_bytes_is_length_prefixed():
    assert hash_bytes(b"ab", b"c") != hash_bytes(b"a", b"bc")
    assert hash_bytes(b"ab", b"c") == hash_bytes(b"ab", b"c")
    assert len(hash_bytes(b"")) == 64


def test_hash_texts_is_order_and_boundary_sensitive():
    assert hash_texts(["a", "b"]) != hash_texts(["b", "a"])
    assert hash_texts(["ab", "c"]) != hash_texts(["a", "bc"])
    assert hash_texts(iter(["人", "民"])) == hash_texts(["人", "民"])
    assert hash_texts(["\ud800"]) != hash_texts([""])  # lone surrogates hash instead of failing


def test_hash_config_ignores_key_order_only():
    assert hash_config({"a": 1, "b": [1, 2]}) == hash_config({"b": [1, 2], "a": 1})
    assert hash_config({"a": 1, "b": [1, 2]}) != hash_config({"a": 1, "b": [2, 1]})
    assert hash_config({"a": 1}) != hash_config({"a": "1"})


def test_hash_file_streams_the_bytes(tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 5000  # larger than one chunk
    path.write_bytes(data)
    assert hash_file(path, chunk_bytes=4096) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + b"\x00")
    assert hash_file(path) != hashlib.sha256(data).hexdigest()
