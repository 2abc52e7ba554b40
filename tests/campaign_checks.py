"""What every campaign leaves in its store, checked the same way on each backend."""

from __future__ import annotations

from alphaalgo import tensors


def assert_one_campaign_persisted(store, backend: str, shape=(2, 2, 2), ring: str = "Z"
                                  ) -> tuple[dict, list]:
    """The store holds one campaign, run on ``backend``, with verified schemes of
    ``shape`` over ``ring``, self-play examples and a checkpoint; returns the
    campaign and its stored schemes."""
    (camp,) = store.campaigns()
    assert camp["config"]["spec"]["backend"] == backend
    stored = store.list_schemes(shape, ring, camp["id"])
    assert stored and all(tensors.verify(r.scheme).valid for r in stored)
    assert store.count_examples(camp["id"], "selfplay") > 0
    assert store.latest_checkpoint(camp["id"]) is not None
    return camp, stored
