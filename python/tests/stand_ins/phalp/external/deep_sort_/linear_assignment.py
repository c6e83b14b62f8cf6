"""Stand-in for phalp.external.deep_sort_.linear_assignment, from its contract.

linear_assignment(cost) -> (K, 2) int array of (row, column) pairs: the cheapest one-to-one
assignment, found exhaustively for small matrices (at most 6 rows and columns) and greedily
(cheapest pair first) beyond, since neither scipy, sklearn nor lap may be installed.
min_cost_matching(distance_metric, max_distance, tracks, detections, track_indices,
detection_indices) -> (matches [(track index, detection index)], unmatched tracks, unmatched
detections, cost matrix) with costs above max_distance capped to max_distance + 1e-5 and refused;
matching_simple(distance_metric, max_distance, cascade_depth, tracks, detections, track_indices,
detection_indices) is the single round PHALP's Tracker._match runs.
"""
import itertools

import numpy as np

INFTY_COST = 1e+5


def linear_assignment(cost_matrix):
    cost = np.asarray(cost_matrix, dtype=np.float64)
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if max(rows, cols) <= 6:
        if rows <= cols:
            options = ([(r, c) for r, c in enumerate(perm)] for perm in itertools.permutations(range(cols), rows))
        else:
            options = ([(r, c) for c, r in enumerate(perm)] for perm in itertools.permutations(range(rows), cols))
        best = min(options, key=lambda pairs: sum(cost[r, c] for r, c in pairs))
        return np.array(sorted(best), dtype=np.int64)
    pairs, used_rows, used_cols = [], set(), set()
    for flat in np.argsort(cost, axis=None, kind="stable"):
        r, c = divmod(int(flat), cols)
        if r not in used_rows and c not in used_cols:
            pairs.append((r, c))
            used_rows.add(r)
            used_cols.add(c)
    return np.array(sorted(pairs), dtype=np.int64)


def min_cost_matching(distance_metric, max_distance, tracks, detections, track_indices=None, detection_indices=None):
    if track_indices is None:
        track_indices = np.arange(len(tracks))
    if detection_indices is None:
        detection_indices = np.arange(len(detections))
    if len(detection_indices) == 0 or len(track_indices) == 0:
        return [], track_indices, detection_indices, 0
    cost_matrix = distance_metric(tracks, detections, track_indices, detection_indices)
    assert np.shape(cost_matrix) == (len(track_indices), len(detection_indices)), \
        f"cost matrix {np.shape(cost_matrix)} for {len(track_indices)} tracks x {len(detection_indices)} detections"
    cost_matrix[cost_matrix > max_distance] = max_distance + 1e-5
    indices = linear_assignment(cost_matrix)
    matches, unmatched_tracks, unmatched_detections = [], [], []
    unmatched_detections = [d for col, d in enumerate(detection_indices) if col not in indices[:, 1]]
    unmatched_tracks = [t for row, t in enumerate(track_indices) if row not in indices[:, 0]]
    for row, col in indices:
        if cost_matrix[row, col] > max_distance:
            unmatched_tracks.append(track_indices[row])
            unmatched_detections.append(detection_indices[col])
        else:
            matches.append((track_indices[row], detection_indices[col]))
    return matches, unmatched_tracks, unmatched_detections, cost_matrix


def matching_simple(distance_metric, max_distance, cascade_depth, tracks, detections, track_indices=None,
                    detection_indices=None):
    if track_indices is None:
        track_indices = list(range(len(tracks)))
    if detection_indices is None:
        detection_indices = list(range(len(detections)))
    matches, _, unmatched_detections, cost = min_cost_matching(distance_metric, max_distance, tracks, detections,
                                                               track_indices, detection_indices)
    unmatched_tracks = sorted(set(track_indices) - {t for t, _ in matches})
    return matches, unmatched_tracks, unmatched_detections, cost
