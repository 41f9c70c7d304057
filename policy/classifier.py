"""An offline abuse score from alt-profanity-check, whose wheel ships its model.

The model is a TF-IDF vectorizer and a calibrated linear SVM (scikit-learn's
CalibratedClassifierCV over five LinearSVC folds). It scores insults and profanity, not sexual
content or policy: the prompt policy uses it only as the abuse signal of its harassment rule.

`predict_proba` costs about 2.5 ms a call, nearly all of it scikit-learn's checks around five
tiny dot products. The same arithmetic done once on stacked weights costs a tenth of that, so
the scorer precomputes them, and checks at load time that it agrees with `predict_proba` (if a
future scikit-learn changes the model's insides, the scorer falls back to `predict_proba`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Texts the fast path must score exactly as predict_proba does before it is trusted.
PROBES = ("a dog running on the beach", "you are a worthless idiot", "alice dancing in the rain",
          "shut up you stupid bitch", "a calm lake at sunrise")


class AbuseScorer:
    """P(offensive) of a text, between 0 and 1. Loading takes about a second: do it once."""

    def __init__(self) -> None:
        from profanity_check import profanity_check as model_module

        self._vectorizer: Any = model_module.vectorizer
        self._model: Any = model_module.model
        self._fast = self._stack()
        if self._fast is not None and not self._agrees():
            log.warning("alt-profanity-check's model changed shape: scoring with predict_proba")
            self._fast = None

    def _stack(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        folds = getattr(self._model, "calibrated_classifiers_", None)
        if not folds:
            return None
        try:
            weights = np.vstack([f.estimator.coef_[0] for f in folds]).T
            intercepts = np.array([f.estimator.intercept_[0] for f in folds])
            slopes = np.array([f.calibrators[0].a_ for f in folds])
            offsets = np.array([f.calibrators[0].b_ for f in folds])
        except (AttributeError, IndexError):
            return None
        return weights, intercepts, slopes, offsets

    def _agrees(self) -> bool:
        reference = self._model.predict_proba(self._vectorizer.transform(list(PROBES)))[:, 1]
        return bool(np.allclose([self(text) for text in PROBES], reference, atol=1e-9))

    def __call__(self, text: str) -> float:
        features = self._vectorizer.transform([text])
        if self._fast is None:
            return float(self._model.predict_proba(features)[0, 1])
        weights, intercepts, slopes, offsets = self._fast
        decision = np.asarray(features @ weights).ravel() + intercepts
        # Each fold's sigmoid calibration, averaged as CalibratedClassifierCV does.
        return float(np.mean(1.0 / (1.0 + np.exp(slopes * decision + offsets))))


_scorer: AbuseScorer | None = None
_lock = threading.Lock()


def loaded() -> AbuseScorer | None:
    """The scorer if it is loaded already (so that async code need not load it in a thread)."""
    return _scorer


def abuse_scorer() -> AbuseScorer:
    """The process's scorer, loaded on first use (thread-safe: instances share it)."""
    global _scorer
    with _lock:
        if _scorer is None:
            _scorer = AbuseScorer()
        return _scorer
