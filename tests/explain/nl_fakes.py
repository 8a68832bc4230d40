"""Scripted language models and modules for the natural-language explainer tests."""

from __future__ import annotations

import re
import socket

import numpy as np

from glasstext.backends.lm import LanguageModel
from glasstext.backends.openai_compat import OpenAICompatibleLM
from glasstext.text import PhraseMatcher

FOOD = ["pizza", "bread", "cheese", "soup", "rice", "cake", "apples", "salad"]
OTHER = ["car", "movie", "road", "window", "plot", "story", "paper", "train", "music", "phone"]


def food_corpus(n: int = 60, seed: int = 0) -> list[str]:
    """Short texts; about a third mention a food word."""
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        words = list(rng.choice(OTHER, size=5))
        if i % 3 == 0:
            words.insert(2, str(rng.choice(FOOD)))
        texts.append(" ".join(words))
    return texts


def food_module(texts: list[str]) -> np.ndarray:
    """A keyword detector: how many food words a text contains."""
    return np.asarray(PhraseMatcher(FOOD).matrix(texts).sum(axis=1), dtype=float).ravel()


class _ScriptedLM(LanguageModel):
    """A fake LM that answers each prompt by a rule (``_answer``) and records the prompts."""

    name = "scripted"

    def __init__(self, cache=False):
        super().__init__(cache=cache)
        self.prompts: list[str] = []

    @property
    def identity(self) -> str:
        return self.name

    def _output_settings(self):
        return {}

    def _generate_uncached(self, prompts, request):
        self.prompts.extend(prompts)
        return [self._answer(p, request.seed or 0) for p in prompts]

    def _answer(self, prompt: str, seed: int) -> str:
        raise NotImplementedError


class ThemeLM(_ScriptedLM):
    """Answers SASC prompts: names food when it sees food words, writes texts about a topic."""

    name = "scripted-themes"

    def __init__(self, cache=False, answer=None):
        super().__init__(cache=cache)
        self.answer = answer  # a fixed answer to every summary prompt, when given

    def _answer(self, prompt: str, seed: int) -> str:
        if prompt.endswith("Common theme:"):
            if self.answer is not None:
                return self.answer
            phrases = prompt.rsplit("Phrases:", 1)[1]
            return " Food." if any(f in phrases for f in FOOD) else " roads and cars"
        topic = re.search(r"Topic: ([^\n]+)\nSentence:$", prompt)
        if topic:
            concept = topic.group(1)
            if "food" in concept:
                dish = FOOD[(len(prompt) + seed) % len(FOOD)]
                return f" We had {dish} and soup for dinner."
            return f" Everyone talked about {concept} on the train."
        return " She walked home along the road."

    def _continuation_logprobs_uncached(self, pairs, chat):
        raise AssertionError("SASC never scores continuations")


def _last_input(prompt: str) -> tuple[int, int]:
    a, b = re.findall(r"Input: (\d+) (\d+)\nOutput:$", prompt)[-1]
    return int(a), int(b)


class AdditionLM(_ScriptedLM):
    """Proposes prompts (some about adding) and prefers correct sums after an 'add' prompt."""

    name = "scripted-addition"

    def __init__(self, cache=False, empty=False):
        super().__init__(cache=cache)
        self.empty = empty

    def _answer(self, prompt: str, seed: int) -> str:
        if self.empty:
            return ""
        if prompt.endswith("Output:"):  # answering an input under a candidate prompt
            a, b = _last_input(prompt)
            return str(a + b) if "add" in prompt.split("Input:")[0].lower() else "0"
        ideas = ["add the two numbers.", "write a short poem.", "count the letters."]
        return ideas[(len(prompt) + seed) % len(ideas)]  # backends strip answers

    def _continuation_logprobs_uncached(self, pairs, chat):
        values = []
        for prompt, continuation in pairs:
            a, b = _last_input(prompt)
            correct = continuation.strip() == str(a + b)
            instructed = "add" in prompt.split("Input:")[0].lower()
            values.append(-0.5 if correct and instructed else -3.0 if correct else -6.0)
        return values


def addition_data(n: int = 30, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    pairs = rng.integers(1, 20, size=(n, 2))
    return [f"{a} {b}" for a, b in pairs], [str(a + b) for a, b in pairs]


def unreachable_server_lm() -> OpenAICompatibleLM:
    """An OpenAI-compatible client whose server refuses connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return OpenAICompatibleLM(
        "m", base_url=f"http://127.0.0.1:{port}/v1", sleep=lambda s: None, cache=False
    )


def road_module(texts: list[str]) -> np.ndarray:
    """A second keyword detector: how many of 'car', 'road', 'train' a text contains."""
    return np.asarray(
        PhraseMatcher(["car", "road", "train"]).matrix(texts).sum(axis=1), float
    ).ravel()


def two_outputs(texts: list[str]) -> np.ndarray:
    """One module with two outputs: the food detector and the road detector, side by side."""
    return np.column_stack([food_module(texts), road_module(texts)])
