"""LlamaServer without a server: the numpy sort behind it (the same lists as llama-cpp-python's
Python sort), its command line and the GGUF header reader.

No llama-cpp-python needed: the shadowed built-ins are checked against the
real ones, and on code written as llama-cpp-python writes it.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from glasstext.backends._llama_launch import (
    MIN_LENGTH,
    SortedPairs,
    VectorIndexPairs,
    install,
    pairs_list,
    pairs_sorted,
    pairs_zip,
)
from glasstext.backends.llama_server import LlamaServer


def vector(n: int = 5000, seed: int = 0) -> np.ndarray:
    # rounded: many ties, which Python orders by descending id
    rng = np.random.default_rng(seed)
    v = np.round(rng.normal(size=n), 1).astype(np.float32)
    v[:3] = -np.inf
    return v


def python_sort(values) -> list:  # type: ignore[no-untyped-def]
    return sorted(zip(values, range(len(values)), strict=True), reverse=True)


@pytest.mark.parametrize("as_list", [False, True])
def test_prefixes_and_the_whole_list_are_pythons(as_list: bool) -> None:
    v = vector()
    values = v.tolist() if as_list else v
    expected = python_sort(values)
    pairs = pairs_sorted(pairs_zip(values, range(len(values))), reverse=True)
    assert isinstance(pairs, SortedPairs) and len(pairs) == len(v)
    for k in (0, 1, 2, 5, 37, len(v), len(v) + 3):
        assert pairs[:k] == expected[:k], k
    assert pairs[5] == expected[5] and pairs[-2:] == expected[-2:]
    assert list(pairs) == expected and pairs == expected
    kinds = {type(value) for value, _ in pairs[:4]}
    assert kinds == ({float} if as_list else {np.float32})  # as zip would give them


def test_everything_else_goes_to_the_builtins() -> None:
    v = vector()
    short = v[: MIN_LENGTH - 1]
    assert not isinstance(pairs_zip(short, range(len(short))), VectorIndexPairs)
    assert not isinstance(pairs_zip(v, range(1, len(v) + 1)), VectorIndexPairs)
    assert list(pairs_zip("ab", [1, 2], "cd")) == [("a", 1, "c"), ("b", 2, "d")]
    zipped = pairs_zip(v, range(len(v)))
    assert list(zipped)[:2] == [(v[0], 0), (v[1], 1)]  # iterates as zip, once
    assert list(zipped) == []
    assert pairs_sorted(pairs_zip(v, range(len(v)))) == sorted(zip(v, range(len(v)), strict=True))
    assert pairs_sorted([3, 1, 2], key=lambda x: -x) == [3, 2, 1]
    started = pairs_zip(v, range(len(v)))
    next(started)
    assert isinstance(pairs_sorted(started, reverse=True), list)  # partly used: built-in
    with_nan = v.copy()
    with_nan[7] = np.nan
    assert isinstance(pairs_sorted(pairs_zip(with_nan, range(len(v))), reverse=True), list)


def test_list_is_still_list_as_a_type() -> None:
    assert isinstance([1], pairs_list) and not isinstance((1,), pairs_list)
    assert issubclass(list, pairs_list)
    assert pairs_list("ab") == ["a", "b"] and pairs_list() == []
    pairs = SortedPairs(vector())
    assert pairs_list(pairs) is pairs


def test_installed_in_a_module_the_llama_cpp_code_gives_the_same_answer() -> None:
    code = (
        "def top(logprobs_token, k):\n"
        "    sorted_logprobs = list(\n"
        "        sorted(zip(logprobs_token, range(len(logprobs_token))), reverse=True)\n"
        "    )\n"
        "    return {i: p for p, i in sorted_logprobs[:k]}, isinstance([], list)\n"
    )
    plain, fast = types.ModuleType("plain"), types.ModuleType("fast")
    exec(code, plain.__dict__)
    install(fast)
    exec(code, fast.__dict__)
    for seed in range(3):
        v = vector(seed=seed)
        assert fast.top(v, 5) == plain.top(v, 5)
        assert fast.top(v.tolist(), 1) == plain.top(v.tolist(), 1)


def test_the_server_starts_through_the_launcher_unless_asked_not_to() -> None:
    server = LlamaServer("model.gguf", port=1234)
    assert server.command()[1:3] == ["-m", "glasstext.backends._llama_launch"]
    plain = LlamaServer("model.gguf", port=1234, fast_logprobs=False)
    assert plain.command()[1:3] == ["-m", "llama_cpp.server"]
    assert server.command()[3:] == plain.command()[3:]


def _gguf(path, entries) -> None:  # type: ignore[no-untyped-def]
    """A GGUF v3 header with ``entries``: (key, type id, packed value bytes)."""
    import struct

    def text(s: str) -> bytes:
        return struct.pack("<Q", len(s.encode())) + s.encode()

    body = b"GGUF" + struct.pack("<IQQ", 3, 0, len(entries))
    for key, kind, value in entries:
        body += text(key) + struct.pack("<I", kind) + value
    path.write_bytes(body + b"\0" * 64)


def test_gguf_metadata_reads_one_value_skipping_the_rest(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import struct

    from glasstext.backends.llama_server import adds_start_token, gguf_metadata

    def strings(*items: str) -> bytes:
        packed = b"".join(struct.pack("<Q", len(s)) + s.encode() for s in items)
        return struct.pack("<IQ", 8, len(items)) + packed

    path = tmp_path / "m.gguf"
    _gguf(
        path,
        [
            ("general.architecture", 8, struct.pack("<Q", 5) + b"gemma"),
            ("tokenizer.ggml.tokens", 9, strings("<s>", "a", "bc")),
            ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 2) + struct.pack("<2f", 0.5, 1.5)),
            ("tokenizer.ggml.bos_token_id", 4, struct.pack("<I", 2)),
            ("tokenizer.ggml.add_bos_token", 7, struct.pack("<?", False)),
        ],
    )
    assert gguf_metadata(path, "general.architecture") == "gemma"
    assert gguf_metadata(path, "tokenizer.ggml.bos_token_id") == 2
    assert gguf_metadata(path, "tokenizer.ggml.add_bos_token") is False
    assert gguf_metadata(path, "missing") is None
    assert adds_start_token(path) is False
    with pytest.raises(ValueError, match="array"):
        gguf_metadata(path, "tokenizer.ggml.tokens")
    plain = tmp_path / "plain.gguf"
    _gguf(plain, [("general.architecture", 8, struct.pack("<Q", 5) + b"llama")])
    assert adds_start_token(plain) is True  # llama.cpp's default without the key
    (tmp_path / "bad.gguf").write_bytes(b"nope" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a GGUF"):
        gguf_metadata(tmp_path / "bad.gguf", "x")
