import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from glasstext.models.linear_cv import logistic_regression_cv

CS = np.logspace(-4, 4, 10)


def make_problem(n_classes, sparse, seed=0, n=150, n_features=40):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, n_features))
    y = np.arange(n) % n_classes
    X = centres[y] + rng.normal(scale=2.0, size=(n, n_features))
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
    return X, y


def folds_of(y, n_folds=5):
    return list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))


def reference(X, y, folds, solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return LogisticRegressionCV(
            Cs=10, cv=folds, max_iter=3000, scoring="accuracy", solver=solver
        ).fit(X, y)


@pytest.mark.parametrize(
    ("n_classes", "solver", "sparse"),
    [(2, "lbfgs", False), (2, "lbfgs", True), (4, "newton-cg", True), (3, "lbfgs", False)],
)
def test_the_same_scores_choice_and_model_as_logistic_regression_cv(n_classes, solver, sparse):
    X, y = make_problem(n_classes, sparse)
    folds = folds_of(y)
    ours = logistic_regression_cv(X, y, Cs=CS, folds=folds, solver=solver)
    theirs = reference(X, y, folds, solver)
    np.testing.assert_allclose(ours.scores, next(iter(theirs.scores_.values())), atol=1e-12)
    assert pytest.approx(theirs.C_[0]) == ours.C
    np.testing.assert_allclose(ours.coef, theirs.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.intercept, theirs.intercept_, rtol=1e-6, atol=1e-8)


def test_the_first_best_strength_is_chosen():
    X, y = make_problem(2, False)
    fit = logistic_regression_cv(X, y, Cs=CS, folds=folds_of(y))
    mean = fit.scores.mean(axis=0)
    assert CS[np.flatnonzero(mean == mean.max())[0]] == fit.C


def test_folds_in_other_processes_give_the_same_model_and_report_each_fold():
    X, y = make_problem(3, True)
    folds = folds_of(y)
    seen: list[int] = []
    one = logistic_regression_cv(X, y, Cs=CS, folds=folds, solver="newton-cg")
    two = logistic_regression_cv(
        X, y, Cs=CS, folds=folds, solver="newton-cg", n_jobs=2, on_fold=lambda: seen.append(1)
    )
    assert len(seen) == len(folds)
    np.testing.assert_array_equal(one.scores, two.scores)
    np.testing.assert_array_equal(one.coef, two.coef)
    np.testing.assert_array_equal(one.intercept, two.intercept)


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_a_class_missing_from_a_training_fold_still_gets_coefficients(n_classes):
    X, y = make_problem(n_classes, False, n=120)
    y = y.copy()
    y[y == n_classes - 1] = 0
    y[7] = n_classes - 1  # one example: absent from one fold's training rows
    folds = folds_of(y)
    assert any(n_classes - 1 not in y[train] for train, _ in folds)
    fit = logistic_regression_cv(X, y, Cs=CS, folds=folds, solver="newton-cg")
    assert fit.coef.shape == ((1 if n_classes == 2 else n_classes), X.shape[1])
    assert np.isfinite(fit.coef).all() and np.isfinite(fit.scores).all()
    assert fit.scores.shape == (len(folds), len(CS))


@pytest.mark.parametrize(
    ("n_classes", "n_features", "solver"),
    [(2, 1_000_000, "lbfgs"), (8, 384, "lbfgs"), (8, 200_000, "newton-cg")],
)
def test_newton_cg_only_for_multiclass_fits_with_many_parameters(n_classes, n_features, solver):
    from glasstext.models.auglinear import _solver

    assert _solver(n_classes, n_features) == solver
