"""Explanations of any text classifier, and explanations in words.

Word attributions: LIME, KernelSHAP, occlusion, proxies, faithfulness metrics.
In words: :func:`explain_module` (SASC: what a text module responds to),
:func:`explain_dataset` (prompt search: the instruction behind input/output
pairs) and :func:`summarize_model` (what drives each class of an Aug-Linear or
Aug-Tree model); see ``docs/nl_explanations.md``.

Every explainer is built on a scorer - a model that maps texts to class
probabilities (see :mod:`glasstext.explain.scorers`) - or on anything
:func:`as_scorer` accepts (an estimator with ``predict_proba``, a function from
a list of texts to probabilities). ``explain(text)`` returns an
:class:`Attribution`: a score per word, the base value, the explained class
and the model calls spent.

>>> from glasstext.explain import LMScorer, KernelShapExplainer  # doctest: +SKIP
>>> target = LMScorer("gemma-3-270m")            # zero-shot sentiment  # doctest: +SKIP
>>> KernelShapExplainer(target, n_samples=300).explain("A gorgeous, witty film.")  # doctest: +SKIP

The methods are named in :data:`EXPLAINERS` (:func:`explainer_names`,
:func:`register_explainer`). See ``docs/explain.md`` for the methods, the proxy
decision rule and the definitions of the faithfulness metrics.
"""

from __future__ import annotations

from glasstext.explain.attribution import Attribution, ProxyReport
from glasstext.explain.base import Explainer
from glasstext.explain.iprompt import DatasetExplanation, PromptCandidate, explain_dataset
from glasstext.explain.kernelshap import KernelShapExplainer
from glasstext.explain.lime import LimeExplainer
from glasstext.explain.methods import EXPLAINERS, explainer_names, register_explainer
from glasstext.explain.metrics import (
    AttentionFaithfulness,
    Faithfulness,
    attention_attribution,
    attention_faithfulness,
    comprehensiveness,
    deletion_auc,
    faithfulness,
    insertion_auc,
    rank_agreement,
    sufficiency,
    top_k_agreement,
)
from glasstext.explain.nl import ExplanationError
from glasstext.explain.occlusion import OcclusionExplainer
from glasstext.explain.proxy import ProxyExplainer
from glasstext.explain.proxy_task import (
    LearnedProxy,
    ProxyTask,
    ProxyTaskResult,
    ScreeningReport,
    TaskCosts,
    TaskScreen,
    combine_attributions,
    learn_proxy,
)
from glasstext.explain.sasc import (
    ConceptExplanation,
    ModuleExplanation,
    ModuleResponse,
    explain_module,
    score_explanations,
)
from glasstext.explain.scorers import (
    SENTIMENT_LABELS,
    SENTIMENT_TEMPLATE,
    CallableScorer,
    EstimatorScorer,
    LMScorer,
    Scorer,
    as_scorer,
)
from glasstext.explain.summaries import ClassSummary, ModelSummary, summarize_model

__all__ = [
    "EXPLAINERS",
    "SENTIMENT_LABELS",
    "SENTIMENT_TEMPLATE",
    "AttentionFaithfulness",
    "Attribution",
    "CallableScorer",
    "ClassSummary",
    "ConceptExplanation",
    "DatasetExplanation",
    "EstimatorScorer",
    "Explainer",
    "ExplanationError",
    "Faithfulness",
    "KernelShapExplainer",
    "LMScorer",
    "LearnedProxy",
    "LimeExplainer",
    "ModelSummary",
    "ModuleExplanation",
    "ModuleResponse",
    "OcclusionExplainer",
    "PromptCandidate",
    "ProxyExplainer",
    "ProxyReport",
    "ProxyTask",
    "ProxyTaskResult",
    "Scorer",
    "ScreeningReport",
    "TaskCosts",
    "TaskScreen",
    "as_scorer",
    "attention_attribution",
    "attention_faithfulness",
    "combine_attributions",
    "comprehensiveness",
    "deletion_auc",
    "explain_dataset",
    "explain_module",
    "explainer_names",
    "faithfulness",
    "insertion_auc",
    "learn_proxy",
    "rank_agreement",
    "register_explainer",
    "score_explanations",
    "sufficiency",
    "summarize_model",
    "top_k_agreement",
]
