"""The novelty check's unit rows are ``normalize``'s, bit for bit, on the fast path (CSR) and off it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import sparse
from sklearn.preprocessing import normalize

from triage.models.novelty import NearestNeighbourNovelty


@pytest.mark.parametrize("kind", ["csr32", "csr64", "csc32", "dense32", "dense64", "fortran32"])
def test_rows_are_normalize_as_float32(kind: str) -> None:
    rng = np.random.default_rng(0)
    dense = rng.random((40, 300)) * (rng.random((40, 300)) < 0.05)
    dense[3] = 0.0  # a row without any word stays zero
    dtype = np.float32 if kind.endswith("32") else np.float64
    Z = (sparse.csr_matrix if kind.startswith("csr") else sparse.csc_matrix)(dense.astype(dtype))
    if kind.startswith("dense"):
        Z = dense.astype(dtype)
    elif kind.startswith("fortran"):
        Z = np.asfortranarray(dense.astype(dtype))
    before = Z.copy()
    rows = NearestNeighbourNovelty._rows(Z)
    normalized: Any = normalize(Z)
    expected: Any = normalized.astype(np.float32) if sparse.issparse(normalized) else np.asarray(normalized, np.float32)
    assert rows.dtype == np.float32 and type(rows) is type(expected)
    if sparse.issparse(rows):
        assert np.array_equal(rows.indptr, expected.indptr) and np.array_equal(rows.indices, expected.indices)
        assert np.array_equal(rows.data, expected.data)
        assert (before != Z).nnz == 0  # the caller's matrix is left as it was
    else:
        assert np.array_equal(rows, expected)
        assert np.array_equal(Z, before)
