"""Unfamiliar tickets: a novelty score on the model's representation, calibrated so that its false-alarm
rate on ordinary tickets is known.

Two signals say a ticket is unlike the training tickets: its similarity to the nearest training ticket
(cosine, in the sentence-embedding space when the model has one, else in the word TF-IDF space), and, when
given, the classifier's confidence in its best label. Each is turned into a p-value against held-out
ordinary tickets (the share of them that are at least as far, or at least as unsure), and the two are
combined as in Fisher's method: ``-log p_neighbour - log p_confidence``. A ticket far from everything *and*
poorly explained by the classifier is much rarer among ordinary tickets than either alone, which is what
sets a new kind of request apart (Banking77 with hidden intents: benchmarks/README.md).

The reported ``novelty`` of a ticket is the share of held-out ordinary tickets whose statistic is lower
(0: as familiar as any, 1: stranger than all of them); a ticket is unfamiliar above ``1 - false_alarm_rate``,
so that share of ordinary tickets is flagged by mistake. Held-out means leave-one-out for the neighbour (a
training ticket is not its own neighbour) and out-of-fold for the confidence.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval
from sklearn.utils.extmath import row_norms
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

_CHUNK = 1024
_DENSE_FROM = 32
"""Rows of TF-IDF tickets from which the reference's most common words are multiplied as a dense block."""
_DENSE_WORDS = 256


def _at_most(sorted_reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Conformal p-value of the lower tail: share of reference values <= each value (+1, so never 0)."""
    return (np.searchsorted(sorted_reference, values, side="right") + 1.0) / (len(sorted_reference) + 1.0)


def _at_least(sorted_reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Conformal p-value of the upper tail: share of reference values >= each value (+1, so never 0)."""
    n = len(sorted_reference)
    return (n - np.searchsorted(sorted_reference, values, side="left") + 1.0) / (n + 1.0)


class NearestNeighbourNovelty(BaseEstimator):
    """Flags tickets stranger than ``1 - false_alarm_rate`` of held-out ordinary tickets.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(500, 8)) + 3.0
    >>> detector = NearestNeighbourNovelty(false_alarm_rate=0.05).fit(train)
    >>> bool(detector.is_unfamiliar(-train[:1])[0])
    True
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
        "max_reference": [Interval(Integral, 10, None, closed="left")],
        "max_calibration": [Interval(Integral, 10, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        false_alarm_rate: float = 0.05,
        max_reference: int = 20_000,
        max_calibration: int = 3_000,
        random_state: int = 0,
    ) -> None:
        self.false_alarm_rate = false_alarm_rate
        self.max_reference = max_reference
        self.max_calibration = max_calibration
        self.random_state = random_state

    @staticmethod
    def _rows(Z: Any) -> Any:
        """``Z`` with unit rows (cosine similarity as a dot product), as float32: ``normalize(Z)``, bit for bit.
        A CSR matrix (TF-IDF rows) or a C-ordered array (embeddings) is normalised on a copy as ``normalize``
        does it, without its input validation, which cost more than the rest of the call on one ticket."""
        if sparse.isspmatrix_csr(Z) and Z.dtype in (np.float32, np.float64):
            Z = Z.copy()
            inplace_csr_row_normalize_l2(Z)
            return Z.astype(np.float32, copy=False)
        if isinstance(Z, np.ndarray) and Z.ndim == 2 and Z.dtype in (np.float32, np.float64) and Z.flags.c_contiguous:
            norms = row_norms(Z)
            norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0  # a zero row stays zero
            return np.asarray(Z / norms[:, None], dtype=np.float32)
        Z = normalize(Z)
        return Z.astype(np.float32) if sparse.issparse(Z) else np.asarray(Z, dtype=np.float32)

    def fit(
        self, Z: Any, *, confidence: np.ndarray | None = None, calibration_rows: np.ndarray | None = None
    ) -> NearestNeighbourNovelty:
        """Keep (a sample of) the training representation ``Z`` and calibrate on held-out tickets.

        ``confidence``, when given, is the classifier's out-of-fold top probability of the training tickets
        at ``calibration_rows`` (rows of ``Z``); the detector then combines both signals and
        :meth:`score` needs the confidence of the scored tickets too. Without it, calibration uses a random
        sample of the training tickets and the score is the neighbour signal alone.
        """
        self._validate_params()
        rng = np.random.default_rng(self.random_state)
        n = Z.shape[0]
        keep = np.sort(rng.choice(n, self.max_reference, replace=False)) if n > self.max_reference else np.arange(n)
        if confidence is None:
            rows = keep
        else:
            rows = np.asarray(calibration_rows)
            if len(rows) != len(confidence):
                raise ValueError(f"{len(rows)} calibration rows but {len(confidence)} confidences")
        probe = np.sort(rng.choice(len(rows), min(self.max_calibration, len(rows)), replace=False))
        # only the rows kept and probed are normalised (row by row, the same numbers): no copy of all of Z
        needed = np.union1d(keep, rows[probe])
        Z_needed = self._rows(Z if len(needed) == n else Z[needed])
        self.reference_ = Z_needed[np.searchsorted(needed, keep)]
        position = np.full(n, -1)
        position[keep] = np.arange(len(keep))
        distances = self._distances(Z_needed[np.searchsorted(needed, rows[probe])], exclude=position[rows[probe]])
        held_out = None if confidence is None else np.asarray(confidence, dtype=np.float64)[probe]
        self.uses_confidence_ = held_out is not None
        self.neighbour_distances_ = np.sort(distances)
        self.confidences_ = None if held_out is None else np.sort(held_out)
        # each held-out ticket's own pair (distance, confidence): sorting came after, for the p-values only
        self.calibration_statistics_ = np.sort(self._statistic(distances, held_out))
        self.threshold_ = 1.0 - self.false_alarm_rate
        return self

    def _distances(self, Z: Any, exclude: np.ndarray | None = None) -> np.ndarray:
        """``1 - cosine similarity`` to the nearest reference ticket; ``exclude`` (reference positions, -1
        for none) leaves each ticket's own copy out."""
        distances = np.empty(Z.shape[0], dtype=np.float64)
        for start in range(0, Z.shape[0], _CHUNK):
            sims = self._similarities(Z if Z.shape[0] <= _CHUNK else Z[start : start + _CHUNK])
            if exclude is not None:
                own = exclude[start : start + _CHUNK]
                rows = np.flatnonzero(own >= 0)
                sims[rows, own[rows]] = -np.inf
            distances[start : start + _CHUNK] = 1.0 - sims.max(axis=1)
        return distances

    def _similarities(self, Z: Any) -> np.ndarray:
        """Cosine similarity of each (unit) row of ``Z`` to each reference ticket, as a dense array.

        For many TF-IDF rows at once the product is split: the reference's ``_DENSE_WORDS`` most common words
        (a third of its non-zeros on the IT tickets) as a dense block, multiplied by BLAS, and the rest as
        sparse. A sparse product of the whole was nearly dense and paid for its bookkeeping: 0.87 -> 0.16 s
        per 1,024 IT tickets against 20,000 reference tickets (benchmarks/README.md, batch prediction). The
        sums are the same up to float32 rounding (~1e-7); a single ticket keeps the sparse product, cheaper
        than reading the dense block."""
        if sparse.issparse(Z) and Z.shape[0] >= _DENSE_FROM:
            select, common, rest = self._split_reference()
            sims = np.asarray((Z @ select).toarray() @ common)
            sims += (Z @ rest).toarray()
            return sims
        product = Z @ self._reference_t()
        return product.toarray() if sparse.issparse(product) else np.asarray(product)

    def _split_reference(self) -> tuple[Any, np.ndarray, Any]:
        """The transposed sparse reference split, once per detector: a 0/1 matrix selecting its most common
        words, their rows as a dense block, and the other words' rows (sparse, the common ones emptied)."""
        cached = self.__dict__.get("_split_cache")
        if cached is None or cached[0] is not self.reference_:
            reference_t = self._reference_t()
            counts = np.diff(reference_t.indptr)
            common = np.sort(np.argsort(-counts, kind="stable")[: min(_DENSE_WORDS, len(counts))])
            ones = np.ones(len(common), dtype=reference_t.dtype)
            select = sparse.csr_matrix((ones, (common, np.arange(len(common)))), shape=(len(counts), len(common)))
            keep = np.ones(len(counts), dtype=reference_t.dtype)
            keep[common] = 0
            rest = sparse.csr_matrix(sparse.diags(keep) @ reference_t)
            rest.eliminate_zeros()
            cached = (self.reference_, (select, np.ascontiguousarray(reference_t[common].toarray()), rest))
            self.__dict__["_split_cache"] = cached  # a benign race: two threads compute the same
        return cached[1]

    def _reference_t(self) -> Any:
        """The reference tickets transposed, in the layout the product wants (CSR for a sparse one), made
        once: scipy would otherwise convert the transposed (CSC) matrix on every request."""
        cached = self.__dict__.get("_reference_t_cache")
        if cached is None or cached[0] is not self.reference_:
            reference_t = self.reference_.T
            cached = (self.reference_, reference_t.tocsr() if sparse.issparse(reference_t) else reference_t)
            self.__dict__["_reference_t_cache"] = cached  # a benign race: two threads compute the same
        return cached[1]

    def _statistic(self, distances: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
        """Fisher's combination of the p-values of being this far (and this unsure) among ordinary tickets."""
        statistic = -np.log(_at_least(self.neighbour_distances_, distances))
        if confidence is not None and self.confidences_ is not None:
            statistic -= np.log(_at_most(self.confidences_, np.asarray(confidence, dtype=np.float64)))
        return statistic

    def score(self, Z: Any, confidence: np.ndarray | None = None) -> np.ndarray:
        """Novelty in [0, 1]: the share of held-out ordinary tickets that look more familiar than each ticket.
        ``confidence`` (top probability of the classifier) is required when the detector was fitted with it."""
        check_is_fitted(self, "threshold_")
        if self.uses_confidence_ and confidence is None:
            raise ValueError("this detector was calibrated with classifier confidence: pass confidence=")
        if Z.shape[0] == 0:
            return np.zeros(0)
        statistic = self._statistic(self._distances(self._rows(Z)), confidence if self.uses_confidence_ else None)
        calibration = self.calibration_statistics_
        return np.searchsorted(calibration, statistic, side="left") / (len(calibration) + 1.0)

    def is_unfamiliar(self, Z: Any, confidence: np.ndarray | None = None) -> np.ndarray:
        """Whether each ticket is stranger than ``1 - false_alarm_rate`` of ordinary tickets."""
        return self.score(Z, confidence) > self.threshold_
