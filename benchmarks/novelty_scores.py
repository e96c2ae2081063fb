"""Novelty scores compared on leave-classes-out rounds and on the real hidden classes (in process).

    python benchmarks/novelty_scores.py b77 4      # Banking77, every fourth intent hidden; 4 simulation rounds
    python benchmarks/novelty_scores.py it 8       # IT tickets (80/20 split, seed 0), two categories hidden

Prints the AUROC (new kinds vs ordinary held-out tickets) of each signal and of Fisher combinations of their
p-values: nearest training ticket (d1), mean distance to the 5 nearest of the predicted class (dk), nearest
of the predicted class (dc1), 5 nearest of any class (dkall), top probability, max-logit and energy. Needs the
embeddings in .triage-cache (run benchmarks/accuracy.py banking77_open first).
"""

import glob
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC
from sklearn.utils.extmath import softmax

from triage.data import load_tickets
from triage.features import build_features
from triage.models.head import as_logits, fit_temperature
from triage.models.novelty_rate import _hidden_sets, _split
from triage.models.triage_model import TriageModel
from triage.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / get_settings().shared_data
enc = max(glob.glob(str(ROOT / ".triage-cache/encoders/*/")), key=lambda p: Path(p).stat().st_mtime)
cache = str(ROOT / ".triage-cache/embeddings.sqlite")
data = sys.argv[1]
if data == "b77":
    tr = load_tickets([str(SHARED / "banking77/train.csv")]).frame
    te = load_tickets([str(SHARED / "banking77/test.csv")]).frame
    hidden_real = sorted(tr.category.unique())[::4]
    fs = "tfidf+embedding"
else:
    d = pd.read_csv(SHARED / "it_tickets/tickets.csv.gz")
    a, b = train_test_split(d, test_size=0.2, random_state=0, stratify=d.category)
    a.to_csv("/tmp/novelty_scores_it_train.csv", index=False)
    b.to_csv("/tmp/novelty_scores_it_test.csv", index=False)
    tr = load_tickets(["/tmp/novelty_scores_it_train.csv"]).frame
    te = load_tickets(["/tmp/novelty_scores_it_test.csv"]).frame
    hidden_real = sorted(d.category.unique())[::4]
    fs = "tfidf"
tr = tr[~tr.category.isin(hidden_real)]
t = time.time()
fu = build_features(fs, encoder_dir=enc, cache_path=cache)
blocks = {n: u.fit_transform(tr.text.tolist()) for n, u in fu.transformer_list}
tblocks = {n: u.transform(te.text.tolist()) for n, u in fu.transformer_list}
X = TriageModel._stack(blocks)
Xt = TriageModel._stack(tblocks)
Z = normalize(blocks["embedding"] if "embedding" in blocks else blocks["word"])
Zt = normalize(tblocks["embedding"] if "embedding" in tblocks else tblocks["word"])
y = tr.category.to_numpy().astype(str)
print("features", time.time() - t, X.shape, flush=True)


def pvals_hi(ref, v):  # share of ref >= v
    ref = np.sort(ref)
    return (len(ref) - np.searchsorted(ref, v, "left") + 1) / (len(ref) + 1)


def signals(clf, beta, ref_rows, Zr, yr, Zq, Xq, k=5, exclude=False):
    lg = as_logits(clf.decision_function(Xq))
    p = softmax(beta * lg)
    pred = np.asarray(clf.classes_)[p.argmax(1)]
    sims = Zq @ Zr.T
    sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
    if exclude is not False:
        sims[np.arange(len(exclude)), exclude] = -np.inf
    d1 = 1 - sims.max(1)
    dk = np.empty(len(pred))
    dkall = 1 - np.sort(sims, 1)[:, -k:].mean(1)
    for c in np.unique(pred):
        m = pred == c
        cols = yr == c
        s = np.sort(sims[np.ix_(m, cols)], 1)[:, -k:]
        dk[m] = 1 - s.mean(1)
    dc1 = np.empty(len(pred))
    for c in np.unique(pred):
        m = pred == c
        cols = yr == c
        dc1[m] = 1 - sims[np.ix_(m, cols)].max(1)
    return dict(
        d1=d1, dk=dk, dc1=dc1, dkall=dkall, unconf=-p.max(1), maxlogit=-lg.max(1), energy=-logsumexp(beta * lg, axis=1)
    )


def combos(cal, q):
    out = {}
    for name in cal:
        out[name] = q[name]
    P = {n: -np.log(pvals_hi(cal[n], q[n])) for n in cal}
    out["d1+conf"] = P["d1"] + P["unconf"]
    out["dk+conf"] = P["dk"] + P["unconf"]
    out["dc1+conf"] = P["dc1"] + P["unconf"]
    out["d1+dk+conf"] = P["d1"] + P["dk"] + P["unconf"]
    out["dk+energy"] = P["dk"] + P["energy"]
    out["d1+maxlogit"] = P["d1"] + P["maxlogit"]
    out["dk+conf+maxlogit"] = P["dk"] + P["unconf"] + P["maxlogit"]
    return out


def evaluate(fit_rows, cal_rows, q_ord, q_nov, Xq_ord, Xq_nov, Zq_ord, Zq_nov):
    clf = LinearSVC(C=0.5, class_weight="balanced").fit(X[fit_rows], y[fit_rows])
    idx = {c: i for i, c in enumerate(clf.classes_)}
    lc = as_logits(clf.decision_function(X[cal_rows]))
    beta = fit_temperature(lc, np.array([idx[c] for c in y[cal_rows]]))
    ref = np.concatenate([fit_rows, cal_rows])
    excl = np.arange(len(fit_rows), len(ref))
    cal = signals(clf, beta, ref, Z[ref], y[ref], Z[cal_rows], X[cal_rows], exclude=excl)
    so = combos(cal, signals(clf, beta, ref, Z[ref], y[ref], Zq_ord, Xq_ord))
    sn = combos(cal, signals(clf, beta, ref, Z[ref], y[ref], Zq_nov, Xq_nov))
    return {n: roc_auc_score(np.r_[np.ones(len(sn[n])), np.zeros(len(so[n]))], np.r_[sn[n], so[n]]) for n in so}, (
        so,
        sn,
    )


classes = np.unique(y)
per = max(1, round(0.1 * len(classes)))
res = []
for r, hid in enumerate(_hidden_sets(classes, per, int(sys.argv[2]), 0)):
    known = np.flatnonzero(~np.isin(y, hid))
    nov = np.flatnonzero(np.isin(y, hid))
    rng = np.random.default_rng(r)
    if len(known) > 10000:
        known = np.sort(rng.choice(known, 10000, replace=False))
    if len(nov) > 2500:
        nov = np.sort(rng.choice(nov, 2500, replace=False))
    fit_rows, rest = _split(known, y, 0.4, r)
    cal, ordi = _split(rest, y, 0.5, r)
    au, _ = evaluate(fit_rows, cal, None, None, X[ordi], X[nov], Z[ordi], Z[nov])
    res.append(au)
    print(r, {k: round(v, 3) for k, v in au.items()}, flush=True)
print("SIM mean", {k: round(np.mean([a[k] for a in res]), 3) for k in res[0]})
# real: fit on 80% of known train, calibrate on 20%, test on real test
fit_rows, cal = _split(np.arange(len(y)), y, 0.2, 0)
is_nov = te.category.isin(hidden_real).to_numpy()
au, _ = evaluate(fit_rows, cal, None, None, Xt[~is_nov], Xt[is_nov], Zt[~is_nov], Zt[is_nov])
print("REAL", {k: round(v, 3) for k, v in au.items()})
