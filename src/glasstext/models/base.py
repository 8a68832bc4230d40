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
  default and choices are read from ``__init__`` and the constraints), and
  ``cli_encoder_options`` (the :class:`~glasstext.backends.encoder.Encoder`
  settings offered as flags);
- ``encoder=``, for a model that has it: a name, a folder or an
  :class:`~glasstext.backends.encoder.Encoder`, whose settings nest
  (``set_params(encoder__precision="int8")`` works on a name too); a keyword
  the constructor no longer takes fails with a one-line ``TypeError`` that
  names its new spelling;
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

import functools
import html
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
from sklearn.utils.validation import check_is_fitted

from glasstext import io
from glasstext.backends.redaction import redact_spec
from glasstext.exceptions import ModelFileError
from glasstext.results import view
from glasstext.validation import Constraint, validate_params

__all__ = [
    "ENCODER_KEYWORDS",
    "GlassModel",
    "SummaryEvidence",
    "check_save_target",
    "load_model",
    "model_types",
    "register_model",
]

Evidence = list[tuple[str | tuple[str, ...], float]]

#: Settings of the encoder (:class:`glasstext.Encoder`), not of the models that use it:
#: a model constructor given one says where it goes.
ENCODER_KEYWORDS = (
    "precision",
    "device",
    "batch_size",
    "n_threads",
    "pooling",
    "layer",
    "prefix",
    "cache",
    "executor",
)
#: Of those, the ones that change the vectors: a folder saved with them keeps them
#: in its encoder.
_VECTOR_KEYWORDS = ("pooling", "layer", "prefix")


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
    #: They are never read from a saved folder (ignored if it holds them): a
    #: loaded model takes its constructor default, e.g. ``device="auto"``, and
    #: the caller sets them (``set_params``), so a folder cannot steer where
    #: work runs, what it writes or which models it loads.
    _runtime_params: ClassVar[frozenset[str]] = frozenset({"device"})
    #: constructor keywords this model no longer takes -> why (one line); with
    #: :data:`ENCODER_KEYWORDS`, what a folder saved by an earlier release may hold
    #: (accepted, ignored, the encoder's settings moved into ``encoder``)
    _removed_params: ClassVar[dict[str, str]] = {}
    #: the encoder settings ``glasstext fit NAME`` offers as flags (see cli/models.py)
    cli_encoder_options: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _refusing_old_keywords(init)  # type: ignore[method-assign]

    # -- parameters ----------------------------------------------------------------------
    def set_params(self, **params: Any) -> Any:
        """Set parameters (scikit-learn's ``set_params``); ``encoder__X`` sets the
        encoder's ``X``, first turning an encoder given by name into an
        :class:`~glasstext.backends.encoder.Encoder` of that name."""
        if any(key.startswith("encoder__") for key in params):
            from glasstext.backends.encoder import Encoder

            current = params.get("encoder", getattr(self, "encoder", None))
            if isinstance(current, str | os.PathLike):
                params = {**params, "encoder": Encoder(current)}
        return super().set_params(**params)  # type: ignore[misc]

    def _validate_params(self) -> None:
        """Check every declared parameter, and an encoder's settings; call first thing
        in ``fit``."""
        validate_params(self.get_params(deep=False), self._parameter_constraints)  # type: ignore[attr-defined]
        check_settings = getattr(getattr(self, "encoder", None), "check_settings", None)
        if callable(check_settings):  # an Encoder: its own constraints
            check_settings()

    def _check_settings(self) -> None:
        """Every check of the parameters ``fit`` runs (also run on the parameters of a
        loaded folder): the declared constraints, and a model adds what they cannot say."""
        self._validate_params()

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
        return str(view(self, "page", X_examples=examples, **options))

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
        """Set the learned attributes from what ``save`` wrote, each value checked (types,
        shapes, consistency: see :mod:`glasstext.models.saved_state`); raise ValueError
        if one does not fit."""
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
        if name == "encoder":
            value = _saved_encoder(value)
            if isinstance(value, dict):
                return value
        if isinstance(value, str):
            # a server URL's credentials (an LM spec) are for fitting, never kept
            return redact_spec(value)
        if value is None or isinstance(value, bool | int | float):
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
        """Saved parameters as ``__init__`` takes them (lists back to tuples where due);
        run-time parameters are left out (see ``_runtime_params``), and so are those an
        earlier release saved that are gone (``_removed_params``) or moved into the
        encoder (:data:`ENCODER_KEYWORDS`; those that change the vectors go into it)."""
        defaults = _init_defaults(cls)
        params = {k: v for k, v in saved.items() if k not in cls._runtime_params and k in defaults}
        for name, value in params.items():
            if isinstance(value, list) and isinstance(defaults.get(name), tuple):
                params[name] = tuple(value)
        if "encoder" in params:
            moved = {k: saved[k] for k in _VECTOR_KEYWORDS if k in saved and k not in defaults}
            params["encoder"] = _loaded_encoder(params["encoder"], moved)
        return params

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Save the fitted model to a folder (JSON + safetensors, checksummed, no pickle).

        The write is atomic: an earlier copy at ``path`` survives until the new
        one is complete.

        Parameters
        ----------
        path : str or path-like
            The folder to write: a new or empty one, or (with ``overwrite``)
            one that holds a saved glasstext model and nothing else.
        overwrite : bool, default=False
            Replace a model saved at ``path``. A folder that holds anything
            else is never replaced, with or without ``overwrite``.

        Returns
        -------
        Path
            ``path``.

        Raises
        ------
        glasstext.exceptions.ModelFileError
            ``path`` may not be replaced (see :func:`check_save_target`),
            checked before anything is written.
        """
        check_is_fitted(self, self._fitted_attribute)
        config = {"params": self._saved_params(), **self._state_config()}
        return io.save_model(
            path,
            type(self).__name__,
            config,
            self._state_arrays(),
            self._extra_files(),
            overwrite=overwrite,
            kinds=model_types(),
        )

    @classmethod
    def load(cls: type[_M], path: str | os.PathLike[str]) -> _M:
        """Load a model saved with :meth:`save`; it predicts exactly as before.

        A folder's checksums catch accidents, not forgeries, so what it holds
        is checked too: every saved parameter as ``fit`` checks it, and the
        learned state by the model's ``_restore_state``. Run-time parameters
        (``_runtime_params``) are never read from the folder: the loaded
        model has their defaults until the caller sets them (``set_params``).

        Raises
        ------
        glasstext.exceptions.ModelFileError
            The folder is missing, incomplete or corrupt, holds another kind of
            model, an unknown or invalid parameter, or learned state that does
            not fit together (the message is one line and names the folder).
        """
        config, arrays = io.load_model(path, cls.__name__)
        model = cls._from_saved_params(config.get("params"), path)
        try:
            model._restore_state(config, arrays, Path(path))
            _check_classes(getattr(model, "classes_", None))
        except ModelFileError:
            raise
        except KeyError as exc:
            raise ModelFileError(
                _one_line(f"{path} does not describe a valid {cls.__name__}: {exc!s:.80} missing")
            ) from exc
        except (TypeError, ValueError, RuntimeError, OSError) as exc:
            raise ModelFileError(
                _one_line(f"{path} does not describe a valid {cls.__name__}: {exc}")
            ) from exc
        return model

    @classmethod
    def _from_saved_params(cls: type[_M], saved: Any, path: str | os.PathLike[str]) -> _M:
        """A model built from a folder's parameters, checked as ``fit`` checks them.

        Raises
        ------
        glasstext.exceptions.ModelFileError
            The parameters are not a mapping, name a parameter ``cls`` does not
            have, or hold a value its constraints refuse.
        """
        if not isinstance(saved, dict):
            raise ModelFileError(f"{path} does not describe a valid {cls.__name__}: no parameters")
        unknown = sorted(set(saved) - set(_init_defaults(cls)) - set(cls._legacy_params()))
        if unknown:
            names = ", ".join(f"{name!r:.40}" for name in unknown[:5])
            raise ModelFileError(
                _one_line(f"{path} holds parameters {cls.__name__} does not have: {names}")
            )
        try:
            model = cls(**cls._params_from_saved(saved))
            model._check_settings()
        except (TypeError, ValueError) as exc:  # InvalidParameterError is both
            raise ModelFileError(
                _one_line(f"{path} holds an invalid parameter of {cls.__name__}: {exc}")
            ) from exc
        return model

    @classmethod
    def _legacy_params(cls) -> frozenset[str]:
        """Parameter names a folder saved by an earlier release may hold (ignored, or
        moved into the encoder)."""
        if "encoder" not in _init_defaults(cls):
            return frozenset(cls._removed_params)
        return frozenset(cls._removed_params) | frozenset(ENCODER_KEYWORDS)


_M = TypeVar("_M", bound=GlassModel)


def _init_defaults(cls: type) -> dict[str, Any]:
    """The parameters ``cls.__init__`` takes, with their defaults (``self`` left out)."""
    parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    return {name: p.default for name, p in parameters.items() if name != "self"}


def _refusing_old_keywords(init: Callable[..., None]) -> Callable[..., None]:
    """``init``, failing on a keyword it does not take with a one-line ``TypeError``
    that says where the setting went (the signature stays ``init``'s, for scikit-learn)."""
    names = list(inspect.signature(init).parameters)[1:]  # self left out

    @functools.wraps(init)
    def __init__(self: GlassModel, *args: Any, **kwargs: Any) -> None:
        unknown = [name for name in kwargs if name not in names]
        if unknown:
            given = {**dict(zip(names, args, strict=False)), **kwargs}
            raise TypeError(_old_keyword_message(type(self), unknown[0], given))
        init(self, *args, **kwargs)

    return __init__


def _old_keyword_message(cls: type[GlassModel], name: str, kwargs: dict[str, Any]) -> str:
    """Why ``cls`` refuses the keyword ``name``, and what to write instead."""
    if name in cls._removed_params:
        return f"{cls.__name__}: {name}= is removed: {cls._removed_params[name]}"
    if name in ENCODER_KEYWORDS and "encoder" in _init_defaults(cls):
        model = kwargs.get("encoder", _init_defaults(cls)["encoder"])
        if not isinstance(model, str | os.PathLike):
            model = getattr(model, "model", "all-MiniLM-L6-v2")
        return (
            f"{name}= moved into the encoder: {cls.__name__}(encoder=Encoder("
            f"{os.fspath(model)!r}, {name}={kwargs[name]!r}))"
        )
    return f"{cls.__name__}.__init__() got an unexpected keyword argument {name!r}"


def _saved_encoder(value: Any) -> Any:
    """What a folder keeps of an ``encoder`` parameter: an Encoder's model name, with the
    settings that change its vectors (a mapping) when any differs from its default."""
    from glasstext.backends.encoder import Encoder

    if not isinstance(value, Encoder):
        return value
    name = os.fspath(value.model)
    settings = value.model_settings()
    return {"model": name, **settings} if settings else name


def _loaded_encoder(value: Any, moved: dict[str, Any]) -> Any:
    """A folder's ``encoder`` as the model takes it: a name, or an Encoder when the
    folder holds settings that change the vectors (``moved``: those an earlier release
    kept beside the encoder).

    Raises
    ------
    ValueError
        A mapping without a model name, or with a setting that is not one of those.
    """
    from glasstext.backends.encoder import MODEL_SETTINGS, Encoder

    settings = dict(moved)
    if isinstance(value, dict):
        settings.update(value)
        value = settings.pop("model", None)
        if not isinstance(value, str):
            raise ValueError("its encoder holds no model name")
    extra = sorted(set(settings) - set(MODEL_SETTINGS))
    if extra:
        raise ValueError(f"its encoder holds settings that are not saved: {extra[0]!r:.40}")
    defaults = Encoder().get_params()
    settings = {k: v for k, v in settings.items() if v != defaults[k]}
    return Encoder(value, **settings) if settings else value


def _one_line(message: str) -> str:
    """``message`` on one line (a saved value or a library's error may hold line breaks)."""
    return " ".join(message.split())


_REGISTRY: dict[str, type[GlassModel]] = {}


def register_model(cls: type[_M]) -> type[_M]:
    """Class decorator: make ``cls`` loadable by :func:`load_model` (and, with a
    ``cli_name``, fittable by ``glasstext fit``)."""
    if not issubclass(cls, GlassModel):
        raise TypeError(f"{cls.__name__} must derive from GlassModel to be registered")
    _REGISTRY[cls.__name__] = cls
    return cls


def model_types() -> dict[str, type[GlassModel]]:
    """Every registered model class by name (the built-in models included: importing
    this module imports :mod:`glasstext.models`, which registers them)."""
    return dict(_REGISTRY)


def _check_classes(classes: Any) -> None:
    """A loaded classifier's class list: one dimension, at least two, no repeats."""
    if classes is None:
        return
    arr = np.asarray(classes)
    if arr.ndim != 1 or arr.size < 2 or np.unique(arr).size != arr.size:
        raise ValueError(f"its class list is not a list of two or more distinct classes: {arr!r}")


def check_save_target(path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Refuse, before any work, a folder :meth:`GlassModel.save` would refuse to write.

    A model is saved where nothing is, in an empty folder, or, with
    ``overwrite``, over a folder holding a saved glasstext model (of a
    registered kind) and nothing else.

    Raises
    ------
    glasstext.exceptions.ModelFileError
        ``path`` is a link, a file, a folder holding anything but a saved
        model, or a saved model and ``overwrite`` is False.
    """
    return io.check_save_target(path, overwrite=overwrite, kinds=model_types())


def load_model(path: str | os.PathLike[str]) -> Any:
    """Load any saved glasstext model, whatever its class."""
    kind = io.saved_kind(path)
    types = model_types()
    if kind not in types:
        raise ModelFileError(f"{path} holds a {kind}, which this glasstext cannot load")
    return types[kind].load(path)
