from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from triage.models import TriageModel, load_bundle, save_bundle


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    topics = {
        "vpn": "vpn tunnel remote disconnect",
        "printer": "printer paper toner jam",
        "email": "outlook mailbox email sync",
    }
    rows = []
    for i in range(150):
        label = list(topics)[i % 3]
        words = [*rng.choice(topics[label].split(), 3).tolist(), "please", "help"]
        rows.append(
            {
                "text": " ".join(words),
                "category": label,
                "tier": "L1" if i % 2 else "L2",
                "priority": "P1" if i == 0 else "P3",
            }
        )
    return pd.DataFrame(rows)


def test_fits_every_learnable_head_and_reports_the_rest() -> None:
    data = frame()
    data.loc[5, "category"] = "rare"
    model = TriageModel(feature_set="tfidf").fit(data["text"].tolist(), data[["category", "priority", "tier"]])
    assert set(model.heads_) == {"category", "tier"}
    assert model.skipped_heads_ == {"priority": "1 learnable class(es); a head needs 2"}
    assert model.excluded_classes_["category"] == {"rare": 1}
    assert model.excluded_classes_["priority"] == {"P1": 1}
    predicted = model.predict(["printer toner jam", "vpn remote disconnect"])
    assert predicted["category"].tolist() == ["printer", "vpn"]
    assert (predicted["category_confidence"] > 0.5).all()


def test_missing_labels_only_leave_out_that_head() -> None:
    data = frame()
    data.loc[:49, "tier"] = None
    model = TriageModel(feature_set="tfidf").fit(data["text"].tolist(), data[["category", "tier"]])
    assert model.heads_["tier"].n_train_ == 100 and model.heads_["category"].n_train_ == 150


def test_predict_before_fit_is_a_clear_error() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        TriageModel().predict(["x"])


def test_model_with_embeddings_saves_its_encoder_into_the_bundle(tiny_encoder: Path, tmp_path: Path) -> None:
    data = frame()
    model = TriageModel(feature_set="tfidf+embedding", encoder_dir=tiny_encoder, cache_path=tmp_path / "c.sqlite")
    model.fit(data["text"].tolist(), data[["category"]])
    bundle = save_bundle(model, tmp_path / "bundle")
    assert (tmp_path / "bundle" / "encoder" / "model.onnx").is_file()
    assert bundle.manifest.encoder is not None and bundle.manifest.encoder["dim"] == 32
    loaded = load_bundle(tmp_path / "bundle").model
    assert Path(str(loaded.encoder_dir)) == tmp_path / "bundle" / "encoder"
    texts = ["printer toner jam", "outlook mailbox"]
    pd.testing.assert_frame_equal(loaded.predict(texts), model.predict(texts))


def test_fast_feature_stacking_equals_the_feature_union() -> None:
    data = frame()
    model = TriageModel(feature_set="tfidf").fit(data["text"].tolist(), data[["category"]])
    texts = ["printer toner jam", "vpn remote"]
    assert (model.transform(texts) != model.features_.transform(texts)).nnz == 0
