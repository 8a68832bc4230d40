"""Prompt search that explains a dataset: which instruction makes its outputs likely?

:func:`explain_dataset` follows iPrompt (Singh et al., 2023, "Explaining data
patterns in natural language with language models"): a dataset of
input/output pairs is explained by the natural-language instruction that,
placed before an input, makes a language model produce the right output.

1. **Propose.** The LM sees a few examples and writes the instruction that
   was given; different example subsets and sampling seeds give different
   candidates.
2. **Score.** Each candidate is put before held-out inputs; its score is the
   mean log-probability of the correct outputs (a fast, smooth signal).
3. **Mutate and resample.** The best candidates are cut at a random word and
   the LM continues them from new examples; fresh proposals are added. The
   search stops after ``max_iterations`` rounds, or earlier when the best
   score has not improved for ``patience`` rounds.

The final candidates are then checked on a test split the search never saw:
their mean log-likelihood of the correct outputs and their *accuracy*, the
fraction of test inputs for which greedy generation gives exactly the correct
output. The empty prompt is scored the same way as a baseline: a prompt that
does not beat it explains nothing.

Every call goes through the shared LM backend: cached, counted, and the same
for a local model or an OpenAI-compatible server.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glasstext.backends.lm_base import LanguageModel
from glasstext.backends.runtime import progress_bar
from glasstext.explain.nl import (
    ExplanationError,
    UsageMeter,
    clean_sentence,
    resolve_lm,
)
from glasstext.results import ResultMixin, limit
from glasstext.validation import check_int, check_seed, check_texts

__all__ = ["DatasetExplanation", "PromptCandidate", "explain_dataset"]

# How an example is shown to the model when a prompt is scored.
EXAMPLE_TEMPLATE = "Input: {input}\nOutput:"

# Proposal prompts. Each shows examples and ends where the instruction starts:
# right after its lead, with no trailing space (a prompt ending in a space
# makes a BPE model answer with an empty line), or after a cut candidate for a
# mutation (``{start}``: "" or " first words"). The worked example (plurals)
# is unlike the benchmark's rules; a proposal that merely copies it is dropped.
_DEMO_INSTRUCTION = "Write the plural of the word."
_PROPOSAL_TEMPLATES = (
    ("{examples}\nTask: Given an input,{start}", "{input} -> {output}\n", "Given an input,"),
    (
        "Input: cat\nOutput: cats\nInput: city\nOutput: cities\n"
        f"The instruction was: {_DEMO_INSTRUCTION}\n\n"
        "{examples}The instruction was:{start}",
        "Input: {input}\nOutput: {output}\n",
        "",
    ),
)
_CHAT_PROPOSAL = (
    "Here are input-output pairs:\n{examples}\n"
    "Write the one-sentence instruction that turns each input into its output. "
    "Reply with the instruction only.{start}"
)


@dataclass
class PromptCandidate(ResultMixin):
    """A prompt and how well it explains the data.

    Attributes
    ----------
    prompt : str
        The instruction ("" for the no-prompt baseline).
    score : float
        Mean log-probability of the correct outputs on the search split
        (what the search maximises).
    test_loglik : float or None
        The same on the test split, for the final candidates.
    test_accuracy : float or None
        Fraction of test inputs for which greedy generation gives the correct
        output (case and surrounding punctuation ignored; an answer may go on
        after it, as in "Paris, the capital").
    test_choice_accuracy : float or None
        Fraction of test inputs for which the correct output is more likely
        than every other distinct output of the test split (at most 9 others):
        a multiple-choice view that small models pass more often. ``None`` when
        the test outputs are all the same.
    iteration : int
        The search round that found it (-1 for the baseline).
    origin : str
        ``"proposal"``, ``"mutation"`` or ``"baseline"``.
    """

    prompt: str
    score: float
    iteration: int
    origin: str
    test_loglik: float | None = None
    test_accuracy: float | None = None
    test_choice_accuracy: float | None = None

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-able fields (``top`` is ignored: a candidate has no ranked list)."""
        return {
            "prompt": self.prompt,
            "score": self.score,
            "test_loglik": self.test_loglik,
            "test_accuracy": self.test_accuracy,
            "test_choice_accuracy": self.test_choice_accuracy,
            "iteration": self.iteration,
            "origin": self.origin,
        }

    def __str__(self) -> str:
        return f"{self.prompt!r}  {_figures(self)}"


@dataclass
class DatasetExplanation(ResultMixin):
    """What :func:`explain_dataset` found.

    Attributes
    ----------
    prompts : list of PromptCandidate
        Every distinct candidate scored, best search score first; the top
        ``n_final`` also carry test figures.
    baseline : PromptCandidate
        The empty prompt, scored the same way.
    history : list of float
        Best search score after each round.
    n_iterations : int
        Rounds run (fewer than ``max_iterations`` after an early stop).
    n_search, n_test : int
        Examples in the search and test splits.
    lm_usage : dict
        Work the language model did.
    seconds : float
        Wall time.
    """

    prompts: list[PromptCandidate]
    baseline: PromptCandidate
    history: list[float] = field(default_factory=list)
    n_iterations: int = 0
    n_search: int = 0
    n_test: int = 0
    lm_usage: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def best(self) -> PromptCandidate:
        """The candidate with the best search score."""
        return self.prompts[0]

    def __str__(self) -> str:
        lines = ["Prompts that explain the data (best first):"]
        for rank, p in enumerate(self.prompts[:5], 1):
            lines.append(f"  {rank}. {p}")
        lines.append(f"  no prompt:  {_figures(self.baseline)}")
        lines.append(
            f"[{self.n_iterations} rounds; {len(self.prompts)} candidates; "
            f"{self.lm_usage.get('n_generate_calls', 0)} LM generations, "
            f"{self.lm_usage.get('n_forward_texts', 0)} scored texts; {self.seconds:.1f} s]"
        )
        return "\n".join(lines)

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-able fields; ``top`` keeps that many candidates, best first (``None``: all)."""
        return {
            "prompts": [p.to_dict() for p in limit(self.prompts, top)],
            "baseline": self.baseline.to_dict(),
            "history": list(self.history),
            "n_iterations": self.n_iterations,
            "n_search": self.n_search,
            "n_test": self.n_test,
            "lm_usage": dict(self.lm_usage),
            "seconds": self.seconds,
        }


def _figures(p: PromptCandidate) -> str:
    text = f"search log-lik {p.score:.2f}"
    if p.test_loglik is not None:
        text += f", test log-lik {p.test_loglik:.2f}"
    if p.test_accuracy is not None:
        text += f", test accuracy {p.test_accuracy:.2f}"
    if p.test_choice_accuracy is not None:
        text += f", choice accuracy {p.test_choice_accuracy:.2f}"
    return text


# -- data -------------------------------------------------------------------------------


def _check_pairs(X: Any, y: Any) -> tuple[list[str], list[str]]:
    inputs = check_texts(X, "X", allow_empty_list=False)
    if isinstance(y, str | bytes):
        raise TypeError("y must be a sequence of outputs, not a single string")
    outputs = list(y.to_list() if hasattr(y, "to_list") else y)
    if len(outputs) != len(inputs):
        raise ValueError(f"X and y must have the same length, got {len(inputs)} and {len(outputs)}")
    for i, out in enumerate(outputs):
        if out is None or (isinstance(out, float) and math.isnan(out)):
            raise ValueError(f"y[{i}] is missing (None or NaN)")
        if not isinstance(out, str | int | float | np.integer | np.floating):
            raise TypeError(f"y[{i}] is {type(out).__name__}; outputs must be strings or numbers")
    texts = [str(o.item() if isinstance(o, np.generic) else o).strip() for o in outputs]
    for i, out in enumerate(texts):
        if not out:
            raise ValueError(f"y[{i}] is an empty output")
    if len(inputs) < 4:
        raise ValueError(f"explain_dataset needs at least 4 examples, got {len(inputs)}")
    return inputs, texts


@dataclass
class _Splits:
    search: list[int]
    test: list[int]
    shots: list[int]


def _split(n: int, n_search: int, n_test: int, rng: np.random.Generator) -> _Splits:
    """Disjoint test, search and proposal examples (proposals reuse search ones when short)."""
    order = [int(i) for i in rng.permutation(n)]
    n_test = max(1, min(n_test, n // 4))
    n_search = max(1, min(n_search, (n - n_test) // 2))
    test, search, rest = (
        order[:n_test],
        order[n_test : n_test + n_search],
        order[n_test + n_search :],
    )
    return _Splits(search=search, test=test, shots=rest or search)


def _normalise_output(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().strip(".,;:!?\"'").casefold()


# -- the search -------------------------------------------------------------------------


class _Search:
    """State of one prompt search: the data, the LM, and every candidate scored."""

    def __init__(
        self,
        lm: LanguageModel,
        inputs: list[str],
        outputs: list[str],
        splits: _Splits,
        n_shots: int,
        chat: bool,
        rng: np.random.Generator,
        seed: int,
    ) -> None:
        self.lm = lm
        self.inputs = inputs
        self.outputs = outputs
        self.splits = splits
        self.n_shots = n_shots
        self.chat = chat
        self.rng = rng
        self.seed = seed
        self.scored: dict[str, PromptCandidate] = {}

    # -- proposing -------------------------------------------------------------------
    def _shots(self) -> list[int]:
        pool = self.splits.shots
        size = min(self.n_shots, len(pool))
        return [pool[int(i)] for i in self.rng.choice(len(pool), size=size, replace=False)]

    def _meta_prompt(self, template_index: int, start: str) -> str:
        shots = self._shots()
        if self.chat:
            examples = "".join(
                f"Input: {self.inputs[i]}\nOutput: {self.outputs[i]}\n" for i in shots
            )
            return _CHAT_PROPOSAL.format(examples=examples, start="")
        meta, example, _ = _PROPOSAL_TEMPLATES[template_index]
        examples = "".join(
            example.format(input=self.inputs[i], output=self.outputs[i]) for i in shots
        )
        return meta.format(examples=examples, start=f" {start}" if start else "")

    def generate_candidates(self, starts: list[tuple[int, str]], iteration: int) -> list[str]:
        """Candidates continuing each ``(template, start)``; the start is kept in the prompt."""
        prompts = [self._meta_prompt(t, start) for t, start in starts]
        answers = self.lm.generate(
            prompts,
            max_new_tokens=32,
            temperature=0.8,
            seed=self.seed + 1000 * iteration,
            chat=self.chat,
            stop="\n",
        )
        out = []
        for (t, start), answer in zip(starts, answers, strict=True):
            lead = "" if self.chat else _PROPOSAL_TEMPLATES[t][2]
            # generate() strips the answer, so the pieces are joined with spaces
            prompt = clean_sentence(" ".join(part for part in (lead, start, answer) if part))
            if _usable(prompt, lead):
                out.append(prompt)
        return list(dict.fromkeys(out))

    def fresh_starts(self, n: int) -> list[tuple[int, str]]:
        n_templates = 1 if self.chat else len(_PROPOSAL_TEMPLATES)
        return [(j % n_templates, "") for j in range(n)]

    def mutation_starts(self, kept: list[PromptCandidate], n: int) -> list[tuple[int, str]]:
        """Kept prompts cut at a random word, to be continued from new examples."""
        if self.chat:  # a chat answer cannot be made to continue a given start: resample
            return self.fresh_starts(n)
        starts = []
        lead = _PROPOSAL_TEMPLATES[0][2].split()
        for j in range(n):
            words = kept[j % len(kept)].prompt.split()
            cut = int(self.rng.integers(1, max(2, len(words))))
            prefix = words[:cut]
            # Template 0 puts its lead before every prompt: continue there without it.
            if prefix[: len(lead)] == lead:
                starts.append((0, " ".join(prefix[len(lead) :])))
            else:
                starts.append((1, " ".join(prefix)))
        return starts

    # -- scoring ---------------------------------------------------------------------
    def _contexts(self, prompt: str, rows: list[int]) -> list[str]:
        head = f"{prompt}\n\n" if prompt else ""
        return [head + EXAMPLE_TEMPLATE.format(input=self.inputs[i]) for i in rows]

    def logliks(self, prompts: list[str], rows: list[int]) -> list[float]:
        """Mean log-probability of the correct outputs after each prompt (one batched call)."""
        contexts = [c for p in prompts for c in self._contexts(p, rows)]
        outputs = [" " + self.outputs[i] for _ in prompts for i in rows]
        values = self.lm.pair_logprobs(contexts, outputs).reshape(len(prompts), len(rows))
        return [float(v) for v in values.mean(axis=1)]

    def loglik(self, prompt: str, rows: list[int]) -> float:
        return self.logliks([prompt], rows)[0]

    def score_new(self, prompts: list[str], iteration: int, origin: str) -> None:
        new = [p for p in dict.fromkeys(prompts) if p not in self.scored]
        if not new:
            return
        for prompt, score in zip(new, self.logliks(new, self.splits.search), strict=True):
            self.scored[prompt] = PromptCandidate(
                prompt=prompt, score=score, iteration=iteration, origin=origin
            )

    def ranked(self) -> list[PromptCandidate]:
        return sorted(self.scored.values(), key=lambda c: -c.score)

    def evaluate(self, candidate: PromptCandidate) -> None:
        """Test log-likelihood, generation accuracy and choice accuracy of a candidate."""
        rows = self.splits.test
        contexts = self._contexts(candidate.prompt, rows)
        answers = self.lm.generate(contexts, max_new_tokens=16, chat=False, stop="\n")
        hits = [_matches(a, self.outputs[i]) for a, i in zip(answers, rows, strict=True)]
        candidate.test_accuracy = float(np.mean(hits))
        candidate.test_loglik, candidate.test_choice_accuracy = self._test_scores(contexts, rows)

    def _test_scores(self, contexts: list[str], rows: list[int]) -> tuple[float, float | None]:
        """Mean log-probability of the correct outputs, and how often each is likelier than
        every other distinct output of the test split (``None`` when there is no other):
        both from one batched call, the correct output first in each row's block."""
        distinct = sorted(set(self.outputs[i] for i in rows))
        pairs: list[tuple[str, str]] = []
        sizes = []
        for context, i in zip(contexts, rows, strict=True):
            choices = _choices_for(self.outputs[i], distinct, _N_CHOICES)
            pairs.extend((context, " " + c) for c in choices)
            sizes.append(len(choices))
        values = self.lm.pair_logprobs([p for p, _ in pairs], [c for _, c in pairs])
        blocks = np.split(values, np.cumsum(sizes)[:-1])
        loglik = float(np.mean([block[0] for block in blocks]))
        if len(distinct) < 2:
            return loglik, None
        return loglik, float(np.mean([block[0] > block[1:].max() for block in blocks]))


# Most outputs a test input's correct output competes with, itself included.
_N_CHOICES = 10


def _choices_for(correct: str, distinct: list[str], limit: int) -> list[str]:
    """The correct output first, then the next distinct outputs after it (cyclically)."""
    at = distinct.index(correct)
    others = distinct[at + 1 :] + distinct[:at]
    return [correct, *others[: limit - 1]]


def _matches(answer: str, output: str) -> bool:
    """Whether a generated answer is the output (or starts with it, followed by a non-word)."""
    got, want = _normalise_output(answer), _normalise_output(output)
    return got == want or (got.startswith(want) and not got[len(want)].isalnum())


def _usable(prompt: str, lead: str) -> bool:
    """A real instruction: more than the template's lead, not a copy of the worked example."""
    body = prompt[len(lead) :] if lead and prompt.startswith(lead) else prompt
    demo = _DEMO_INSTRUCTION.rstrip(".").casefold()
    return len(body.split()) >= 2 and demo not in prompt.casefold()


def explain_dataset(
    X: Sequence[str],
    y: Sequence[Any],
    lm: str | LanguageModel | None = None,
    *,
    n_candidates: int = 8,
    n_keep: int = 3,
    max_iterations: int = 4,
    patience: int = 2,
    n_shots: int = 5,
    n_search: int = 20,
    n_test: int = 20,
    n_final: int = 3,
    chat: bool = False,
    random_state: int = 0,
    progress: bool | None = None,
) -> DatasetExplanation:
    """Find the instruction that best explains input/output pairs (iPrompt-style search).

    Parameters
    ----------
    X : sequence of str
        Inputs.
    y : sequence of str or numbers
        The output of each input (numbers are written as text).
    lm : str, LanguageModel or None, default=None
        The language model that proposes and is prompted: a name for
        :func:`~glasstext.backends.lm.get_lm` (``"openai:MODEL@URL"`` for a
        server), an instance, or ``None`` for the packaged SmolLM2-135M-Instruct.
    n_candidates : int, default=8
        New candidates per round.
    n_keep : int, default=3
        Best candidates kept and mutated each round.
    max_iterations : int, default=4
        Most rounds (the first round only proposes).
    patience : int, default=2
        Stop after this many rounds without a better best score.
    n_shots : int, default=5
        Examples shown per proposal.
    n_search, n_test : int, default=20
        Examples that score candidates during the search, and the disjoint
        examples that test the final ones (both shrink on small datasets).
    n_final : int, default=3
        Candidates checked on the test split.
    chat : bool, default=False
        Propose with an instruction for chat models instead of a completion prompt.
    random_state : int, default=0
        Seeds the splits, the example subsets and the sampling.
    progress : bool or None, default=None
        Show a progress bar over the rounds (``None``: on an interactive terminal).

    Returns
    -------
    DatasetExplanation
        Candidates ranked by search score; the best carry test log-likelihood
        and accuracy; the no-prompt baseline; calls and time spent.

    Raises
    ------
    ValueError, TypeError
        Fewer than 4 examples, mismatched lengths, missing or empty outputs,
        non-string inputs, bad parameters.
    """
    inputs, outputs = _check_pairs(X, y)
    for name, value in [
        ("n_candidates", n_candidates),
        ("n_keep", n_keep),
        ("max_iterations", max_iterations),
        ("patience", patience),
        ("n_shots", n_shots),
        ("n_search", n_search),
        ("n_test", n_test),
        ("n_final", n_final),
    ]:
        check_int(value, name)
    random_state = check_seed(random_state)
    model = resolve_lm(lm)
    meter = UsageMeter(model)
    rng = np.random.default_rng(random_state)
    search = _Search(
        model,
        inputs,
        outputs,
        _split(len(inputs), n_search, n_test, rng),
        n_shots,
        chat,
        rng,
        random_state,
    )
    history = _run_rounds(search, n_candidates, n_keep, max_iterations, patience, progress)
    ranked = search.ranked()
    if not ranked:
        raise ExplanationError(
            f"the language model ({model.identity}) proposed no usable prompt in "
            f"{len(history)} rounds; try a larger model or chat={not chat}"
        )
    baseline = PromptCandidate(
        prompt="", score=search.loglik("", search.splits.search), iteration=-1, origin="baseline"
    )
    for candidate in [*ranked[:n_final], baseline]:
        search.evaluate(candidate)
    return DatasetExplanation(
        prompts=ranked,
        baseline=baseline,
        history=history,
        n_iterations=len(history),
        n_search=len(search.splits.search),
        n_test=len(search.splits.test),
        lm_usage=meter.spent(),
        seconds=meter.seconds(),
    )


def _run_rounds(
    search: _Search,
    n_candidates: int,
    n_keep: int,
    max_iterations: int,
    patience: int,
    progress: bool | None,
) -> list[float]:
    """Propose, score, mutate; return the best score after each round."""
    bar = progress_bar(max_iterations, "prompt search", progress, "round")
    history: list[float] = []
    stale = 0
    for iteration in range(max_iterations):
        kept = search.ranked()[:n_keep]
        if kept:
            n_mutations = n_candidates - n_candidates // 2
            starts = search.mutation_starts(kept, n_mutations)
            search.score_new(search.generate_candidates(starts, iteration), iteration, "mutation")
            fresh = search.fresh_starts(n_candidates - n_mutations)
        else:
            fresh = search.fresh_starts(n_candidates)
        search.score_new(search.generate_candidates(fresh, iteration), iteration, "proposal")
        ranked = search.ranked()
        best = ranked[0].score if ranked else -math.inf
        stale = stale + 1 if history and best <= history[-1] + 1e-6 else 0
        history.append(best)
        bar.update(1)
        bar.set_postfix_str(f"best log-lik {best:.2f}")
        if stale >= patience:
            break
    bar.close()
    return history
