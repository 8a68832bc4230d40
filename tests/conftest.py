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


_PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests to a loopback test server go to it directly, whatever proxy the machine sets."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def toy_server(no_proxy: None):
    """The toy OpenAI-compatible server of ``tests/toy_lm_server.py``; LMs released after."""
    from glasstext.backends.lm import release_models
    from toy_lm_server import toy_lm_server

    with toy_lm_server() as server:
        yield server
    release_models()


_CSV_POS = ["good movie", "great fun film", "a lovely story", "awesome acting", "fine and fun"]
_CSV_NEG = ["bad movie", "awful boring film", "a dull story", "terrible acting", "bad and dull"]


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    """A small labelled CSV (``text``, ``label`` in pos/neg) for the command-line tests."""
    path = tmp_path / "train.csv"
    rows = ["text,label"]
    rows += [f"{t},pos" for t in _CSV_POS * 4] + [f"{t},neg" for t in _CSV_NEG * 4]
    path.write_text("\n".join(rows) + "\n")
    return path


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


TINY_CORPUS = [
    "the movie was good and the acting was great",
    "the film was bad and the plot was boring",
    "a lovely story with a fun cast",
    "an awful script, a dull and terrible ending",
    "positive negative neutral review sentiment answer",
    "Review: the movie was fine. Sentiment: positive",
    "Review: the plot was dull. Sentiment: negative",
]
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _train_bpe_tokenizer(chat_template: str | None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=340,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(TINY_CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    return tokenizer


def build_tiny_llama(folder: Path, chat_template: str | None) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _train_bpe_tokenizer(chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=0.2,  # peaked logits: no near-ties in greedy decoding
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random Llama causal LM with a chat template (session-wide)."""
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), TINY_CHAT_TEMPLATE))


@pytest.fixture(scope="session")
def tiny_plain_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same kind of model, with a tokenizer that has no chat template."""
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-plain"), None))
