import numpy as np
import pytest
from scipy import sparse

from triage.models.novelty import NearestNeighbourNovelty


def clusters(n: int, seed: int) -> np.ndarray:
    """Tickets around the same five topics (fixed centres); ``seed`` draws different tickets."""
    centres = np.random.default_rng(0).normal(size=(5, 16)) * 3
    rng = np.random.default_rng(seed)
    return centres[rng.integers(0, 5, n)] + rng.normal(size=(n, 16))


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.2])
def test_false_alarm_rate_on_ordinary_tickets_is_the_configured_one(rate: float) -> None:
    detector = NearestNeighbourNovelty(false_alarm_rate=rate).fit(clusters(3000, seed=0))
    assert detector.is_unfamiliar(np.zeros((0, 16))).shape == (0,)
    alarms = detector.is_unfamiliar(clusters(3000, seed=1))  # new tickets on the same topics
    assert alarms.mean() == pytest.approx(rate, abs=0.03)


def test_tickets_far_from_every_training_ticket_are_unfamiliar() -> None:
    detector = NearestNeighbourNovelty().fit(clusters(2000, seed=0))
    strangers = np.random.default_rng(9).normal(size=(200, 16)) * 3 + 20  # a region with no training ticket
    assert detector.is_unfamiliar(strangers).mean() > 0.95
    assert (detector.score(strangers) > detector.threshold_).all() == detector.is_unfamiliar(strangers).all()


def test_sparse_tfidf_rows_and_leave_one_out() -> None:
    rows = sparse.csr_matrix(np.eye(50)[np.arange(100) % 50])  # every ticket has exactly one twin
    detector = NearestNeighbourNovelty(false_alarm_rate=0.05).fit(rows)
    # the twin, not the ticket itself, is its neighbour: every held-out distance is 0
    assert detector.neighbour_distances_ == pytest.approx(np.zeros(100), abs=1e-6)
    assert detector.is_unfamiliar(sparse.csr_matrix(np.ones((1, 50)))).all()


def test_confidence_and_distance_combine_with_a_calibrated_false_alarm_rate() -> None:
    rng = np.random.default_rng(3)
    train = clusters(3000, seed=0)
    confidence = rng.uniform(0.3, 1.0, size=1500)  # out-of-fold confidences of the held-out half
    rows = np.arange(0, 3000, 2)
    detector = NearestNeighbourNovelty(false_alarm_rate=0.1).fit(train, confidence=confidence, calibration_rows=rows)
    with pytest.raises(ValueError, match="confidence"):
        detector.score(train[:5])
    ordinary = clusters(3000, seed=1)
    alarms = detector.is_unfamiliar(ordinary, rng.uniform(0.3, 1.0, size=3000))
    assert alarms.mean() == pytest.approx(0.1, abs=0.03)
    # a ticket somewhat far and unsure is stranger than one as far but sure, or as unsure but close
    middle = np.quantile(detector.neighbour_distances_, 0.9)
    far_row = _at_distance(train, middle)
    unsure_far, sure_far = detector.score(np.vstack([far_row, far_row]), np.array([0.32, 0.99]))
    assert unsure_far > sure_far
    unsure_close = detector.score(train[:1], np.array([0.32]))[0]
    assert unsure_far > unsure_close
    strangers = rng.normal(size=(50, 16)) * 3 + 20
    assert detector.is_unfamiliar(strangers, np.full(50, 0.9)).all()  # confident but unlike anything


def _at_distance(train: np.ndarray, distance: float) -> np.ndarray:
    """A row whose cosine distance to the nearest training row is about ``distance``."""
    from sklearn.preprocessing import normalize

    unit = normalize(train)
    best = None
    for step in np.linspace(0.0, 3.0, 301):
        row = train[:1] + step * np.random.default_rng(5).normal(size=(1, 16))
        if 1 - (normalize(row) @ unit.T).max() >= distance:
            best = row
            break
    assert best is not None
    return best


def test_many_sparse_rows_use_the_dense_block_of_common_words_with_the_same_distances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch of TF-IDF rows multiplies the reference's most common words densely (the rest sparse); one
    ticket keeps the plain sparse product. Both give the distances of the whole product (float32 rounding)."""
    from triage.models import novelty

    rng = np.random.default_rng(3)
    words = rng.zipf(1.3, size=(400, 30)) % 5000  # a few words in most tickets, most words rare

    def tfidf(rows: np.ndarray) -> sparse.csr_matrix:
        data = rng.random(rows.size).astype(np.float32)
        m = sparse.csr_matrix(
            (data, (np.repeat(np.arange(len(rows)), rows.shape[1]), rows.ravel())), shape=(len(rows), 5000)
        )
        m.sum_duplicates()
        return m

    monkeypatch.setattr(novelty, "_DENSE_WORDS", 50)
    detector = NearestNeighbourNovelty(max_reference=300).fit(tfidf(words[:300]))
    batch = detector._rows(tfidf(words[300:]))
    select, common, rest = detector._split_reference()
    assert common.shape == (50, 300) and select.shape == (5000, 50)
    reference_t = detector._reference_t()
    assert rest.nnz + np.count_nonzero(common) == reference_t.nnz  # every reference weight in one part
    assert set(np.flatnonzero(np.asarray(select.sum(axis=1)).ravel())) == set(
        np.argsort(-np.diff(reference_t.indptr), kind="stable")[:50]
    )  # the commonest words
    plain = 1.0 - (batch @ reference_t).toarray().max(axis=1)
    split = detector._distances(batch)  # 100 rows: the split product
    np.testing.assert_allclose(split, plain, atol=1e-6)
    one = detector._distances(batch[:1])  # one row: the plain product, exactly
    assert one[0] == plain[0]
    calls = []
    monkeypatch.setattr(detector, "_split_reference", lambda: calls.append(1) or (select, common, rest))
    detector._distances(batch[: novelty._DENSE_FROM - 1])
    assert not calls
    detector._distances(batch[: novelty._DENSE_FROM])
    assert calls == [1]
