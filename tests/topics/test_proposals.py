"""Candidate categories from texts and vectors: two planted new kinds of request among unrelated tickets are
found by both methods, named by their own words, counted week by week, and shown by their own tickets."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.topics.planted import NOW, WALLET, planted
from triage.topics import METHODS, cluster_vectors, find_topics, top_terms
from triage.topics.proposals import shorten


def test_the_planted_topics_are_found_named_and_counted() -> None:
    texts, vectors, ids, times = planted()
    topics = find_topics(texts, vectors, ids=ids, times=times, now=NOW, min_size=5)
    assert [t.size for t in topics] == [12, 9]
    wallet, parking = topics
    assert sorted(wallet.ticket_ids) == sorted(f"W{i}" for i in range(12))
    assert sorted(parking.ticket_ids) == sorted(f"P{i}" for i in range(9))
    assert wallet.terms[0] == "crypto wallet" and parking.terms[0] == "parking permit"
    assert not {"crypto", "wallet"} & {w for term in wallet.terms[1:] for w in term.split()}  # shown once
    assert (wallet.this_week, wallet.previous_week, wallet.growth, wallet.growth_text) == (8, 4, 1.0, "+100%")
    assert (parking.this_week, parking.previous_week, parking.growth_text) == (0, 6, "-100%")
    assert len(wallet.examples) == 3 and all(e.text in WALLET for e in wallet.examples)
    assert all(e.ticket_id.startswith("P") for e in parking.examples)
    assert wallet.cohesion > 0.9


@pytest.mark.parametrize("method", METHODS)
def test_each_method_keeps_a_planted_topic_together(method: str) -> None:
    """HDBSCAN (density-based) also finds both; but it measures density relative to the data, so the evenly
    spread unrelated tickets may join a cluster too: why the average-linkage cut is the default."""
    _, vectors, ids, _ = planted()
    labels = cluster_vectors(vectors, min_size=5, method=method)
    for prefix in ("W", "P"):
        planted_labels = {labels[i] for i, name in enumerate(ids) if name.startswith(prefix)}
        assert len(planted_labels) == 1 and planted_labels != {-1}


def test_unrelated_tickets_make_no_topic() -> None:
    texts, vectors, ids, _ = planted()
    others = [i for i, name in enumerate(ids) if name.startswith("O")]
    assert find_topics([texts[i] for i in others], vectors[others], min_size=3) == []
    labels = cluster_vectors(vectors, min_size=5)
    assert (labels[others] == -1).all()


def test_a_small_group_is_not_proposed() -> None:
    texts, vectors, ids, times = planted()
    topics = find_topics(texts, vectors, ids=ids, times=times, now=NOW, min_size=10)
    assert [t.size for t in topics] == [12]


def test_growth_for_a_topic_new_this_week() -> None:
    texts, vectors, ids, times = planted()
    recent = [NOW - timedelta(hours=3)] * len(times)
    topic = find_topics(texts, vectors, ids=ids, times=recent, now=NOW)[0]
    assert (topic.this_week, topic.previous_week, topic.growth, topic.growth_text) == (12, 0, None, "new this week")
    assert topic.as_dict()["growth"] is None and topic.as_dict()["examples"][0]["ticket_id"].startswith("W")


def test_examples_are_cut_short_on_one_line() -> None:
    texts, vectors, ids, _ = planted()
    long = [
        t + "\n" + " and more words" * 20 if name.startswith("W") else t for t, name in zip(texts, ids, strict=True)
    ]
    topic = find_topics(long, vectors, ids=ids, max_chars=60)[0]
    assert all(len(e.text) <= 60 and e.text.endswith("…") and "\n" not in e.text for e in topic.examples)
    assert shorten("a short one", 60) == "a short one"
    assert shorten("word " * 30, 20) == "word word word word…"
    assert shorten("card declined abroad again", 17) == "card declined…"


def test_terms_weigh_what_sets_a_cluster_apart() -> None:
    texts = ["card declined abroad", "card declined in a shop", "declined card again", "refund please", "refund late"]
    terms = top_terms(texts, np.array([0, 0, 0, 1, 1]), n=3)
    assert {"card", "declined"} <= {word for term in terms[0][:2] for word in term.split()}
    assert terms[1] == ["refund"]
    assert top_terms(texts, np.array([-1] * 5)) == {}


def test_bad_input_names_the_field() -> None:
    texts, vectors, ids, times = planted()
    with pytest.raises(ValueError, match="method: 'kmeans'"):
        cluster_vectors(vectors, method="kmeans")
    with pytest.raises(ValueError, match="min_size: 1"):
        cluster_vectors(vectors, min_size=1)
    with pytest.raises(ValueError, match="41 texts but 40 vectors"):
        find_topics(texts, vectors[:-1])
    with pytest.raises(ValueError, match="ids: 2 values"):
        find_topics(texts, vectors, ids=ids[:2])
    with pytest.raises(ValueError, match="now: needed"):
        find_topics(texts, vectors, times=times)


def test_tickets_without_a_direction_are_left_out() -> None:
    _, vectors, ids, _ = planted()
    vectors[ids.index("W0")] = 0.0
    labels = cluster_vectors(vectors, min_size=5)
    assert labels[ids.index("W0")] == -1 and (labels >= 0).sum() == 20
    assert find_topics([], np.zeros((0, 4))) == []
