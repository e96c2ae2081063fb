"""Candidate categories: clusters of the tickets the model could not place (unfamiliar, or corrected to a
category it does not have), named by their distinctive terms, with size, growth and examples.

``find_topics`` works on texts and vectors alone (tests, benchmarks); ``store_topics`` reads a desk's store and
embeds with the bundle's own encoder (``triage topics``, the desk's admin page).
"""

from triage.topics.candidates import Candidate, candidate_tickets
from triage.topics.clusters import METHODS, cluster_vectors
from triage.topics.proposals import Example, Topic, find_topics
from triage.topics.report import TopicReport, store_topics
from triage.topics.terms import top_terms
from triage.topics.vectors import ticket_vectors

__all__ = [
    "METHODS",
    "Candidate",
    "Example",
    "Topic",
    "TopicReport",
    "candidate_tickets",
    "cluster_vectors",
    "find_topics",
    "store_topics",
    "ticket_vectors",
    "top_terms",
]
