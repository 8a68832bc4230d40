"""The table of word-attribution methods: name -> explainer class.

:class:`~glasstext.explain.ProxyExplainer` and the command line pick a method by
name from here, so a new method is one module with an
:class:`~glasstext.explain.base.Explainer` subclass and one
:func:`register_explainer` line.
"""

from __future__ import annotations

from glasstext.explain.base import Explainer
from glasstext.explain.kernelshap import KernelShapExplainer
from glasstext.explain.lime import LimeExplainer
from glasstext.explain.occlusion import OcclusionExplainer

__all__ = ["EXPLAINERS", "explainer_names", "get_explainer", "register_explainer"]

#: Method name (or alias) -> explainer class.
EXPLAINERS: dict[str, type[Explainer]] = {}
# Names registered as aliases: accepted, but not offered as choices.
_ALIASES: set[str] = set()


def register_explainer(
    name: str, explainer: type[Explainer], *, aliases: tuple[str, ...] = ()
) -> None:
    """Make ``explainer`` available under ``name`` (and its ``aliases``).

    Parameters
    ----------
    name : str
        The method name, e.g. ``"lime"``; registering it again replaces it.
    explainer : type
        A subclass of :class:`~glasstext.explain.base.Explainer`.
    aliases : tuple of str, default=()
        Other accepted names (``"shap"`` for ``"kernelshap"``), not listed by
        :func:`explainer_names`.
    """
    if not (isinstance(explainer, type) and issubclass(explainer, Explainer)):
        raise TypeError(f"explainer must be an Explainer subclass, got {explainer!r}")
    for key in (name, *aliases):
        if not isinstance(key, str) or not key:
            raise ValueError(f"method names must be non-empty strings, got {key!r}")
        EXPLAINERS[key] = explainer
    _ALIASES.difference_update({name})
    _ALIASES.update(aliases)


def explainer_names(*, aliases: bool = False) -> list[str]:
    """The method names in registration order (aliases too if ``aliases``)."""
    return [n for n in EXPLAINERS if aliases or n not in _ALIASES]


def get_explainer(name: str) -> type[Explainer]:
    """The explainer class of a method name, or a ``ValueError`` listing the names."""
    if name not in EXPLAINERS:
        raise ValueError(f"method must be one of {sorted(EXPLAINERS)}, got {name!r}")
    return EXPLAINERS[name]


register_explainer("lime", LimeExplainer)
register_explainer("kernelshap", KernelShapExplainer, aliases=("shap",))
register_explainer("occlusion", OcclusionExplainer)
