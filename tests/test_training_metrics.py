"""Per-class tile metrics and thresholds, shared by the training recipe and the refit: tiles that
do not know a class (label -1) never count for it."""

from __future__ import annotations

import numpy as np

from models.training.metrics import class_threshold, tile_metrics

SCORES = np.array([[0.9, 0.2], [0.8, 0.9], [0.3, 0.1], [0.6, 0.7], [0.1, 0.95]])
LABELS = np.array([[1, 0], [1, 1], [0, 0], [0, -1], [-1, 1]], dtype=np.int8)


def test_metrics_per_class_leave_out_unknown_tiles() -> None:
    m = tile_metrics(SCORES, LABELS, ("smoke", "flame"), {"smoke": 0.5, "flame": 0.5})
    assert m["smoke"] == {
        "auc": 1.0,
        "positives": 2,
        "negatives": 2,
        "precision": 0.6667,  # 0.9, 0.8 right; 0.6 a false alarm; 0.1 does not know smoke
        "recall": 1.0,
        "f1": 0.8,
        "fpr": 0.5,
    }
    assert m["flame"]["positives"] == 2 and m["flame"]["negatives"] == 2  # 0.7 does not know
    assert m["flame"]["fpr"] == 0.0 and m["flame"]["recall"] == 1.0
    assert set(tile_metrics(SCORES, LABELS, ("smoke", "flame"))["smoke"]) == {
        "auc",
        "positives",
        "negatives",
    }


def test_thresholds_by_f05_or_by_false_positive_rate() -> None:
    assert class_threshold(SCORES, LABELS, 0) == 0.8  # the lowest with no false alarm
    assert class_threshold(SCORES, LABELS, 1) == 0.9
    assert class_threshold(SCORES, LABELS, 0, max_fpr=0.5) <= 0.6
