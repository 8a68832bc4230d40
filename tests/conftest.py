"""Shared test set-up.

Tests use their own glasstext home (converted models, caches) inside the
repository, so they never read or write a user's cache, and a second test run
reuses the converted models of the first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_TEST_HOME = Path(__file__).resolve().parent.parent / ".cache" / "glasstext-test"
os.environ.setdefault("GLASSTEXT_HOME", str(_TEST_HOME))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def store(tmp_path: Path):
    """A fresh, empty cache store for one test."""
    from glasstext.backends.cache import SqliteStore

    s = SqliteStore(tmp_path / "cache.sqlite")
    yield s
    s.close()


TINY_WORDS = [
    "good",
    "great",
    "fine",
    "awesome",
    "lovely",
    "bad",
    "awful",
    "terrible",
    "boring",
    "dull",
    "movie",
    "film",
    "plot",
    "acting",
    "the",
    "a",
    "is",
    "was",
    "and",
    "not",
    "very",
    "really",
    "story",
    "fun",
]


def build_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """Save a tiny random BERT with a word-level tokenizer: loads offline in ms."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {w: i for i, w in enumerate(specials + list(TINY_WORDS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).eval().save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random BERT encoder (session-wide)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))
