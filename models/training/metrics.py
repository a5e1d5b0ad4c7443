"""Binary metrics on score arrays (no scikit-learn in the training extra)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tie handling); None without both classes."""
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order), dtype=np.float64)
    ranks[order] = np.arange(1, len(order) + 1)
    allv = np.concatenate([pos, neg])
    # average ranks of ties
    _, inverse, counts = np.unique(allv, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = sums[inverse] / counts[inverse]
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def prf(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall, F1 and false-positive rate at ``threshold`` (score >= threshold)."""
    pred = scores >= threshold
    tp = int(np.sum(pred & (labels == 1)))
    fp = int(np.sum(pred & (labels == 0)))
    fn = int(np.sum(~pred & (labels == 1)))
    tn = int(np.sum(~pred & (labels == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
    }


def pick_threshold(scores: np.ndarray, labels: np.ndarray, beta: float = 0.5) -> float:
    """Threshold maximising F-beta on (``scores``, ``labels``). beta < 1 favours precision:
    a false alarm costs an operator's attention, a missed tile is usually caught a frame later."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(scores, 3)):
        m = prf(scores, labels, float(t))
        p, r = m["precision"], m["recall"]
        if p + r == 0:
            continue
        f = (1 + beta**2) * p * r / (beta**2 * p + r)
        if f > best:
            best, best_t = f, float(t)
    return best_t


def pick_threshold_fpr(scores: np.ndarray, labels: np.ndarray, max_fpr: float) -> float:
    """The lowest threshold (6 decimals: scores saturate near 1) whose false-positive rate on
    the negatives of (``scores``, ``labels``) is at most ``max_fpr``: the highest recall that
    keeps false alarms on negative tiles that rare."""
    neg = np.sort(scores[labels == 0])[::-1]
    if len(neg) == 0:
        return 0.5
    kth = float(neg[min(int(np.floor(max_fpr * len(neg))), len(neg) - 1)])
    # strictly above the (allowed+1)-th highest negative: at most `allowed` negatives pass
    t = np.ceil(kth * 1e6) / 1e6
    return float(min(t + 1e-6 if t <= kth else t, 1.0))


def class_threshold(
    scores: np.ndarray, labels: np.ndarray, c: int, max_fpr: float | None = None
) -> float:
    """Threshold of class ``c`` over the tiles that know it (labels ``[N, C]``, -1 unknown):
    F0.5 (3 decimals), or the lowest with a false-positive rate within ``max_fpr`` (6)."""
    known = labels[:, c] >= 0
    s, y = scores[known, c], labels[known, c]
    if max_fpr is None:
        return round(pick_threshold(s, y), 3)
    return round(pick_threshold_fpr(s, y, max_fpr), 6)


def tile_metrics(
    scores: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str],
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, dict[str, float | int | None]]:
    """Per class over the tiles that know it: AUC and counts, and with ``thresholds``
    precision, recall, F1 and false-positive rate at the class's threshold (4 decimals)."""
    result: dict[str, dict[str, float | int | None]] = {}
    for c, name in enumerate(classes):
        known = labels[:, c] >= 0
        s, y = scores[known, c], labels[known, c]
        result[name] = {
            "auc": roc_auc(s, y),
            "positives": int(np.sum(y == 1)),
            "negatives": int(np.sum(y == 0)),
        }
        if thresholds is not None:
            result[name].update({k: round(v, 4) for k, v in prf(s, y, thresholds[name]).items()})
    return result
