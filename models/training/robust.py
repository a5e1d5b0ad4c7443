"""The consistency term of ``train.py --robust``: the network should score a tile and its
degraded copy (:func:`models.training.degrade.degrade`) alike.

Both copies carry the tile's labels, and :func:`consistency_loss` (a symmetric Kullback-Leibler
divergence between the two per-class Bernoulli scores) is added to the loss, weighted by
``--consistency``.
"""

from __future__ import annotations

import torch
from torch import nn


def consistency_loss(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Mean symmetric KL divergence between the per-class Bernoulli scores of two views of the
    same tiles (N x C logits each): 0 when they agree, growing as the scores part."""
    log_p, log_q = nn.functional.logsigmoid(logits_a), nn.functional.logsigmoid(logits_b)
    log_not_p, log_not_q = nn.functional.logsigmoid(-logits_a), nn.functional.logsigmoid(-logits_b)
    p, q = log_p.exp(), log_q.exp()
    kl_pq = p * (log_p - log_q) + (1 - p) * (log_not_p - log_not_q)
    kl_qp = q * (log_q - log_p) + (1 - q) * (log_not_q - log_not_p)
    return (kl_pq + kl_qp).mean()
