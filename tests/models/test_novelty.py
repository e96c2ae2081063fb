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
    assert detector.threshold_ == pytest.approx(0.0, abs=1e-6)  # the twin, not the ticket itself, is its neighbour
    assert detector.is_unfamiliar(sparse.csr_matrix(np.ones((1, 50)))).all()
