"""The model protocol: what every glasstext model declares once, and the registry.

A glasstext model is a scikit-learn estimator that also derives from
:class:`GlassModel` and is registered with :func:`register_model`. The mixin
gives it, from a handful of declarations:

- ``save(path)`` / ``load(path)`` through :mod:`glasstext.io` (parameters as
  JSON, learned arrays as safetensors, checksums, atomic writes, no pickle);
  the model writes only ``_state_config`` / ``_state_arrays`` and
  ``_restore_state``;
- parameter checks before any work (``_parameter_constraints``, checked by
  :func:`glasstext.validation.validate_params`);
- what the CLI needs to offer ``glasstext fit NAME``: ``cli_name``,
  ``cli_help`` and ``cli_options`` (parameter → help text; the flag, its type,
  default and choices are read from ``__init__`` and the constraints);
- ``explain(text)``, returning a :class:`glasstext.results.Result`;
- ``export_text()``, the whole model in readable form;
- ``summary_evidence(k)``, what :func:`glasstext.summarize_model` shows a
  language model (models without readable evidence raise ``TypeError``);
- ``to_html(X_examples)`` / ``save_html(path, X_examples)``, a standalone
  report page, and ``_repr_html_`` for notebooks: drawn by the view the
  presentation layer registers for the model's class
  (:func:`glasstext.results.register_view`), so models never import it.

Loading any saved folder goes through :func:`load_model`, which reads the
class name recorded in the folder and dispatches through the registry.
See ``docs/architecture.md`` ("How to add a model").
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from sklearn.utils.validation import check_is_fitted

from glasstext import io
from glasstext.exceptions import ModelFileError
from glasstext.results import view
from glasstext.validation import Constraint, validate_params

__all__ = [
    "GlassModel",
    "SummaryEvidence",
    "load_model",
    "model_types",
    "register_model",
]

Evidence = list[tuple[str | tuple[str, ...], float]]


@dataclass
class SummaryEvidence:
    """What a model shows a language model to summarise it.

    Attributes
    ----------
    kind : str
        ``"ngrams"`` (one n-gram per item) or ``"phrase sets"`` (a tuple of phrases).
    task : str
        ``"classification"`` or ``"regression"``.
    classes : list of (label, Evidence)
        Per class (``"higher"`` / ``"lower"`` for a regressor), the items that
        push toward it with their weights, strongest first.
    """

    kind: str
    task: str
    classes: list[tuple[Any, Evidence]] = field(default_factory=list)


class GlassModel:
    """Mixin of every glasstext model (put it before ``BaseEstimator`` in the bases)."""

    #: "classification" or "regression"
    _task: ClassVar[str]
    #: a learned attribute that exists once the model is fitted
    _fitted_attribute: ClassVar[str]
    #: parameter name -> accepted kinds of value (see glasstext.validation)
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}
    #: the method name in ``glasstext fit NAME`` (classifier and regressor share it)
    cli_name: ClassVar[str | None] = None
    #: one line for ``glasstext fit --help``
    cli_help: ClassVar[str] = ""
    #: parameters offered as ``glasstext fit NAME`` flags, with their help text
    cli_options: ClassVar[dict[str, str]] = {}
    #: run-time parameters: where and how the work runs, not what the model is.
    #: They are not saved (a loaded model takes its constructor default, e.g.
    #: ``device="auto"``) and ignored if an older folder holds them.
    _runtime_params: ClassVar[frozenset[str]] = frozenset({"device"})

    # -- parameters ----------------------------------------------------------------------
    def _validate_params(self) -> None:
        """Check every declared parameter; call first thing in ``fit``."""
        validate_params(self.get_params(deep=False), self._parameter_constraints)  # type: ignore[attr-defined]

    # -- reading the model ---------------------------------------------------------------
    def explain(self, text: str) -> Any:  # pragma: no cover - every model defines it
        """Why the model predicts what it does for ``text`` (a Result)."""
        raise NotImplementedError

    def export_text(self) -> str:  # pragma: no cover - every model defines it
        """The whole model in readable form."""
        raise NotImplementedError

    def summary_evidence(self, k: int) -> SummaryEvidence:
        """The ``k`` strongest readable items per class, for an LM-written summary."""
        raise TypeError(
            f"{type(self).__name__} has no n-grams or phrase sets to summarise; "
            "summaries need a model whose evidence is readable phrases"
        )

    def fit_notes(self, X_test: Any = None) -> list[str]:
        """Lines worth printing after a fit (the CLI shows them); none by default."""
        return []

    # -- reports (drawn by the views glasstext.report registers) -------------------------
    def to_html(self, X_examples: Any = None, **options: Any) -> str:
        """A standalone HTML report of the fitted model (no network, assets inline).

        Parameters
        ----------
        X_examples : sequence of str, optional
            Example texts: the report shows how the model treats them
            (coverage, shaded examples, an example's path or prototypes).
        **options
            Passed to the model's report view (e.g. ``title``; ``X_train`` for
            Proto-LM's nearest training sentences); see :mod:`glasstext.report`.
        """
        check_is_fitted(self, self._fitted_attribute)
        examples = None if X_examples is None else list(X_examples)
        return str(view(self, "html", X_examples=examples, **options))

    def save_html(
        self, path: str | os.PathLike[str], X_examples: Any = None, **options: Any
    ) -> Path:
        """Write :meth:`to_html` to ``path`` (UTF-8, parent folders created); returns the path."""
        html = self.to_html(X_examples, **options)
        out = Path(path).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        return out

    def _repr_html_(self) -> str:
        # Jupyter: a fitted model shows its report; an unfitted one scikit-learn's diagram.
        if not hasattr(self, self._fitted_attribute):
            parent = getattr(super(), "_repr_html_", None)
            return str(parent()) if callable(parent) else f"<pre>{html.escape(repr(self))}</pre>"
        return str(view(self, "fragment"))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # scikit-learn's bundle would win over _repr_html_ in Jupyter: give ours once fitted.
        if not hasattr(self, self._fitted_attribute):
            parent = getattr(super(), "_repr_mimebundle_", None)
            if callable(parent):
                return dict(parent(**kwargs))
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    # -- persistence ---------------------------------------------------------------------
    def _state_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """Learned metadata to save, JSON-ready (beside the parameters)."""
        raise NotImplementedError

    def _state_arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """Learned numeric arrays to save (with safetensors)."""
        raise NotImplementedError

    def _restore_state(
        self, config: dict[str, Any], arrays: dict[str, np.ndarray], folder: Path
    ) -> None:  # pragma: no cover - abstract
        """Set the learned attributes from what ``save`` wrote; raise ValueError if inconsistent."""
        raise NotImplementedError

    def _extra_files(self) -> Callable[[Path], None] | None:
        """A writer of further files into the saved folder (e.g. an encoder), or None."""
        return None

    def _unsaveable_param(self, name: str, value: Any) -> Any:
        """What to save for a parameter holding an object that JSON cannot hold."""
        raise TypeError(
            f"{type(self).__name__} cannot be saved: parameter {name} holds a "
            f"{type(value).__name__} object; give it as a name or a folder to save the model"
        )

    def _saved_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        return {
            name: self._saved_value(name, value)
            for name, value in params.items()
            if name not in self._runtime_params
        }

    def _saved_value(self, name: str, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, list | tuple) and all(
            v is None or isinstance(v, bool | int | float | str | np.generic) for v in value
        ):
            return [io.python_scalar(v) for v in value]
        return self._unsaveable_param(name, value)

    @classmethod
    def _params_from_saved(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """Saved parameters as ``__init__`` takes them (lists back to tuples where due)."""
        import inspect

        defaults = {
            name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
        }
        params = {k: v for k, v in saved.items() if k not in cls._runtime_params}
        for name, value in params.items():
            if isinstance(value, list) and isinstance(defaults.get(name), tuple):
                params[name] = tuple(value)
        return params

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save the fitted model to a folder (JSON + safetensors, checksummed, no pickle).

        The write is atomic: an earlier copy at ``path`` survives until the new
        one is complete.
        """
        check_is_fitted(self, self._fitted_attribute)
        config = {"params": self._saved_params(), **self._state_config()}
        return io.save_model(
            path, type(self).__name__, config, self._state_arrays(), self._extra_files()
        )

    @classmethod
    def load(cls: type[_M], path: str | os.PathLike[str]) -> _M:
        """Load a model saved with :meth:`save`; it predicts exactly as before.

        Raises
        ------
        glasstext.exceptions.ModelFileError
            The folder is missing, incomplete, corrupt, or holds another kind of model.
        """
        config, arrays = io.load_model(path, cls.__name__)
        try:
            model = cls(**cls._params_from_saved(dict(config["params"])))
            model._restore_state(config, arrays, Path(path))
            _check_classes(getattr(model, "classes_", None))
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, OSError) as exc:
            raise ModelFileError(f"{path} does not describe a valid {cls.__name__}: {exc}") from exc
        return model


_M = TypeVar("_M", bound=GlassModel)

_REGISTRY: dict[str, type[GlassModel]] = {}


def register_model(cls: type[_M]) -> type[_M]:
    """Class decorator: make ``cls`` loadable by :func:`load_model` (and, with a
    ``cli_name``, fittable by ``glasstext fit``)."""
    if not issubclass(cls, GlassModel):
        raise TypeError(f"{cls.__name__} must derive from GlassModel to be registered")
    _REGISTRY[cls.__name__] = cls
    return cls


def model_types() -> dict[str, type[GlassModel]]:
    """Every registered model class by name (the built-in models included)."""
    import glasstext.models  # noqa: F401  (registers the built-in models)

    return dict(_REGISTRY)


def _check_classes(classes: Any) -> None:
    """A loaded classifier's class list: one dimension, at least two, no repeats."""
    if classes is None:
        return
    arr = np.asarray(classes)
    if arr.ndim != 1 or arr.size < 2 or np.unique(arr).size != arr.size:
        raise ValueError(f"its class list is not a list of two or more distinct classes: {arr!r}")


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load any saved glasstext model, whatever its class."""
    kind = io.saved_kind(path)
    types = model_types()
    if kind not in types:
        raise ModelFileError(f"{path} holds a {kind}, which this glasstext cannot load")
    return types[kind].load(path)
