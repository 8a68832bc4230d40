"""Content-free calibration of LMScorer (Zhao et al. 2021)."""

import numpy as np
import pytest

from explain.test_scorers import KeywordLM
from glasstext.exceptions import InvalidParameterError
from glasstext.explain import LMScorer


def test_calibration_divides_out_the_content_free_prior():
    lm = KeywordLM.make()
    raw = LMScorer(lm)
    cal = LMScorer(lm, calibrate=True)
    texts = ["a good film", "a dull film"]
    p_raw, p_cal = raw(texts), cal(texts)
    # the content-free inputs contain no "good": prior log-odds of "positive" is -2
    assert cal.prior == pytest.approx([1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(2.0))])
    assert p_cal[1] == pytest.approx([0.5, 0.5])  # as uninformative as the prior
    assert np.log(p_cal[0, 1] / p_cal[0, 0]) == pytest.approx(4.0)
    assert np.log(p_raw[0, 1] / p_raw[0, 0]) == pytest.approx(2.0)
    assert cal.n_calls == 2 + 3  # the three content-free prompts, paid once
    cal(["a good film again"])
    assert cal.n_calls == 6
    assert raw.prior is None and "calibrate=True" in repr(cal)


def test_calibration_parameters_are_checked():
    lm = KeywordLM.make()
    with pytest.raises(InvalidParameterError, match="calibrate"):
        LMScorer(lm, calibrate="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="content_free"):
        LMScorer(lm, calibrate=True, content_free=[])
