"""Fitted objects as inert files: nothing a bundle holds can run code when it is loaded.

- scikit-learn objects (TF-IDF vectorizers, the linear models) with ``skops``, loaded only when every type
  in the file is one skops trusts by default and the object is of the expected class;
- LightGBM boosters as LightGBM's own text model;
- arrays as ``.npz`` read with ``allow_pickle=False`` (object arrays cannot even be written);
- everything else (parameters, labels) as JSON in the manifest.

Each ``save_*`` writes the files of one component and returns the JSON that describes it; each ``load_*``
rebuilds the component from those files and that JSON. File names come from the caller (the bundle
format), never from the files themselves.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from triage.errors import BundleError
from triage.models.head import CalibratedLinearHead
from triage.models.novelty import NearestNeighbourNovelty
from triage.models.trees import WordTrees

LINEAR_MODELS = (LinearSVC, LogisticRegression)


def _name(path: Path) -> str:
    """A file's name relative to its bundle, for messages (the last two parts are enough to locate it)."""
    return "/".join(path.parts[-2:])


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """Numeric and string arrays in one ``.npz``; object arrays (which would be pickled) are refused."""
    for key, value in arrays.items():
        if np.asarray(value).dtype.hasobject:
            raise TypeError(f"array {key!r} holds Python objects and cannot be stored without pickle")
    np.savez(path, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]


def load_arrays(path: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz``, read without pickle; a pickled array or a missing one is a :class:`BundleError`."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (ValueError, OSError, EOFError) as exc:  # a pickled array raises ValueError here
        raise BundleError(f"{_name(path)}: not a plain array file ({exc})") from exc
    missing = [key for key in required if key not in arrays]
    if missing:
        raise BundleError(f"{_name(path)}: missing arrays {missing}")
    return arrays


def _skops_io() -> Any:
    """``skops.io``, imported without torch. Its import lists scikit-learn's estimators, and the package walk
    behind that imports ``sklearn.externals.array_api_compat.torch``, which imports torch wherever it is
    installed: 6 s and 170 MB more for a service that never uses it. The walk skips a package that cannot be
    imported, and scikit-learn's estimators do not live there: skops trusts the same types either way."""
    if "skops.io" in sys.modules or "torch" in sys.modules:
        import skops.io as sio

        return sio
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import skops.io as sio
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return sio


def save_skops(obj: Any, path: Path) -> None:
    _skops_io().dump(obj, path)


def load_skops(path: Path, expected: tuple[type, ...]) -> Any:
    """A scikit-learn object from a skops file: refused if the file names any type outside skops' default
    trusted set (so no function or class of an attacker's choosing is ever called), or if the object is
    not one of ``expected``."""
    sio = _skops_io()
    try:
        untrusted = sio.get_untrusted_types(file=path)
        if untrusted:
            raise BundleError(f"{_name(path)}: refers to untrusted types {sorted(untrusted)[:5]}; not loaded")
        obj = sio.load(path, trusted=[])
    except BundleError:
        raise
    except Exception as exc:  # not a skops archive, a corrupt schema, a type skops cannot rebuild
        raise BundleError(f"{_name(path)}: not a loadable skops file ({type(exc).__name__}: {exc})") from exc
    if type(obj) not in expected:
        names = ", ".join(t.__name__ for t in expected)
        raise BundleError(f"{_name(path)}: holds a {type(obj).__name__}, expected {names}")
    return obj


def save_vectorizer(vectorizer: TfidfVectorizer, path: Path) -> None:
    """A fitted TF-IDF vectorizer as ``<name>.skops`` (parameters, idf weights) and ``<name>.vocabulary.json``
    (its terms in column order). skops writes a dictionary entry by entry, which takes minutes for a
    vocabulary of 300,000 terms; a JSON list takes a second."""
    state = copy.copy(vectorizer)
    del state.vocabulary_
    save_skops(state, path)
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    path.with_suffix(".vocabulary.json").write_text(json.dumps(terms, ensure_ascii=False))


def load_vectorizer(path: Path) -> TfidfVectorizer:
    """The vectorizer written by :func:`save_vectorizer`."""
    vectorizer = load_skops(path, (TfidfVectorizer,))
    vocabulary_path = path.with_suffix(".vocabulary.json")
    try:
        terms = json.loads(vocabulary_path.read_text())
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise BundleError(f"{_name(vocabulary_path)}: not a JSON list of terms ({exc})") from exc
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise BundleError(f"{_name(vocabulary_path)}: expected a JSON list of strings")
    if len(terms) != len(vectorizer.idf_):
        raise BundleError(f"{_name(vocabulary_path)}: {len(terms)} terms for {len(vectorizer.idf_)} idf weights")
    vectorizer.vocabulary_ = {term: i for i, term in enumerate(terms)}
    return vectorizer


# --- heads -------------------------------------------------------------------------------------------------

_HEAD_ARRAYS = (
    "beta",
    "tree_weight",
    "conformal_scores",
    "heldout_index",
    "heldout_top",
    "heldout_pred",
    "heldout_correct",
    "n_train",
)


def save_head(head: CalibratedLinearHead, folder: Path, name: str) -> dict[str, Any]:
    """Write a head as ``<name>.skops`` (its linear model), ``<name>.npz`` (calibration and held-out arrays)
    and ``<name>.trees-<k>.txt`` (its tree models); returns the head's parameters and tree count."""
    save_skops(head.estimator_, folder / f"{name}.skops")
    arrays = {
        "beta": np.float64(head.beta_),
        "tree_weight": np.float64(head.tree_weight_),
        "conformal_scores": head.conformal_scores_,
        "heldout_index": head.heldout_index_,
        "heldout_top": head.heldout_top_,
        "heldout_pred": head.heldout_pred_,
        "heldout_correct": head.heldout_correct_,
        "n_train": np.int64(head.n_train_),
    }
    for k, trees in enumerate(head.trees_):
        (folder / f"{name}.trees-{k}.txt").write_text(trees.booster_.model_to_string())
        arrays[f"trees_{k}_words"] = trees.words_
        arrays[f"trees_{k}_classes"] = trees.classes_
    save_arrays(folder / f"{name}.npz", arrays)
    return {"params": head.get_params(), "n_trees": len(head.trees_)}


def load_head(folder: Path, name: str, params: dict[str, Any], n_trees: int) -> CalibratedLinearHead:
    """Rebuild a head written by :func:`save_head`."""
    try:
        head = CalibratedLinearHead(**params)
        head._validate_params()
    except (TypeError, ValueError) as exc:
        raise BundleError(f"heads/{name}: invalid head parameters ({exc})") from exc
    head.estimator_ = load_skops(folder / f"{name}.skops", LINEAR_MODELS)
    required = _HEAD_ARRAYS + tuple(f"trees_{k}_{part}" for k in range(n_trees) for part in ("words", "classes"))
    arrays = load_arrays(folder / f"{name}.npz", required)
    head.beta_ = float(arrays["beta"])
    head.tree_weight_ = float(arrays["tree_weight"])
    head.conformal_scores_ = arrays["conformal_scores"]
    head.heldout_index_ = arrays["heldout_index"]
    head.heldout_top_ = arrays["heldout_top"]
    head.heldout_pred_ = arrays["heldout_pred"]
    head.heldout_correct_ = arrays["heldout_correct"]
    head.n_train_ = int(arrays["n_train"])
    head.classes_ = head.estimator_.classes_
    head.trees_ = [
        _load_trees(folder / f"{name}.trees-{k}.txt", arrays[f"trees_{k}_words"], arrays[f"trees_{k}_classes"], head)
        for k in range(n_trees)
    ]
    return head


def _load_trees(path: Path, words: np.ndarray, classes: np.ndarray, head: CalibratedLinearHead) -> WordTrees:
    import lightgbm

    trees = WordTrees(columns=head.tree_columns, random_state=head.random_state, n_jobs=1)
    try:
        trees.booster_ = lightgbm.Booster(model_str=path.read_text())
    except (lightgbm.basic.LightGBMError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{_name(path)}: not a LightGBM text model ({exc})") from exc
    trees.words_, trees.classes_ = words, classes
    return trees


# --- novelty -----------------------------------------------------------------------------------------------


def save_novelty(detector: NearestNeighbourNovelty, folder: Path) -> dict[str, Any]:
    """Write the detector's reference tickets and calibration as ``novelty.npz`` (plus
    ``novelty-reference.npz`` when the reference is sparse); returns its parameters."""
    arrays = {
        "neighbour_distances": detector.neighbour_distances_,
        "calibration_statistics": detector.calibration_statistics_,
        "threshold": np.float64(detector.threshold_),
    }
    if detector.confidences_ is not None:
        arrays["confidences"] = detector.confidences_
    is_sparse = sparse.issparse(detector.reference_)
    if is_sparse:
        sparse.save_npz(folder / "novelty-reference.npz", sparse.csr_matrix(detector.reference_))
    else:
        arrays["reference"] = detector.reference_
    save_arrays(folder / "novelty.npz", arrays)
    return {"params": detector.get_params(), "sparse_reference": is_sparse}


def load_novelty(folder: Path, params: dict[str, Any], sparse_reference: bool) -> NearestNeighbourNovelty:
    """Rebuild the detector written by :func:`save_novelty`."""
    try:
        detector = NearestNeighbourNovelty(**params)
        detector._validate_params()
    except (TypeError, ValueError) as exc:
        raise BundleError(f"novelty: invalid parameters ({exc})") from exc
    required: tuple[str, ...] = ("neighbour_distances", "calibration_statistics", "threshold")
    required += () if sparse_reference else ("reference",)
    arrays = load_arrays(folder / "novelty.npz", required)
    if sparse_reference:
        try:
            detector.reference_ = sparse.load_npz(folder / "novelty-reference.npz").tocsr()  # never pickles
        except (ValueError, OSError) as exc:
            raise BundleError(f"novelty-reference.npz: not a sparse matrix file ({exc})") from exc
    else:
        detector.reference_ = arrays["reference"]
    detector.neighbour_distances_ = arrays["neighbour_distances"]
    detector.calibration_statistics_ = arrays["calibration_statistics"]
    detector.threshold_ = float(arrays["threshold"])
    detector.confidences_ = arrays.get("confidences")
    detector.uses_confidence_ = detector.confidences_ is not None
    return detector
