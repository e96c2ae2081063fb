from triage.features import build_features, char_tfidf, word_tfidf


def test_word_tfidf_uses_bigrams() -> None:
    features = word_tfidf().fit(["vpn keeps dropping", "printer keeps jamming"])
    assert "keeps dropping" in features.vocabulary_


def test_char_tfidf_matches_typos_to_the_right_word() -> None:
    vectorizer = char_tfidf().fit(["password reset", "password expired", "printer offline", "printer jam"])
    typo, right, wrong = vectorizer.transform(["pasword", "password", "printer"])
    assert (typo @ right.T).toarray()[0, 0] > (typo @ wrong.T).toarray()[0, 0]


def test_tfidf_feature_set_has_word_and_char_units() -> None:
    union = build_features("tfidf")
    assert [name for name, _ in union.transformer_list] == ["word", "char"]
