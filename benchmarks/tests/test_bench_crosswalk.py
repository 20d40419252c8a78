"""The crosswalk bench's measure: the share of voters a crosswalk misplaces."""

import pandas as pd

from benchmarks.experiments.crosswalk import misplaced


def test_misplaced_is_zero_for_the_true_flows_and_counts_each_voter_once():
    truth = pd.DataFrame({"old_id": ["a", "a", "a", "b"], "new_id": ["x", "x", "y", "y"]})
    right = pd.DataFrame({"old_id": ["a", "a", "b"], "new_id": ["x", "y", "y"], "share_of_old": [2 / 3, 1 / 3, 1]})
    assert misplaced(right, truth) == 0
    wrong = pd.DataFrame({"old_id": ["a", "b"], "new_id": ["y", "x"], "share_of_old": [1.0, 1.0]})
    assert misplaced(wrong, truth) == 0.75  # all of a to y: right for the one of a in y only
    half = right.assign(share_of_old=[1 / 3, 2 / 3, 1])  # one of a's three voters misplaced
    assert abs(misplaced(half, truth) - 0.25) < 1e-12
