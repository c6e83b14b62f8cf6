"""The tracker builtin and keypoints share (posepipe/sort.py), on hand-made detections: weak
detections continue tracks but never start them, lead up to a new track, a hidden person is found
where they were last seen, and the appearance cue keeps two crossing people apart."""
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from posepipe.sort import Sort, appearance_distance  # noqa: E402

RED, BLUE = np.array([1.0, 0.0]), np.array([0.0, 1.0])


def box(x, y=100.0, w=40.0, h=80.0):
    return [x, y, w, h]


def feed(tracker, frames):
    """frames: one list per frame of (box, score, weak, feature)."""
    for index, dets in enumerate(frames):
        boxes = np.array([d[0] for d in dets], dtype=np.float64).reshape(-1, 4)
        scores = np.array([d[1] for d in dets], dtype=np.float64)
        low = np.array([d[2] for d in dets], dtype=bool)
        features = np.array([d[3] for d in dets]).reshape(len(dets), -1) if dets and dets[0][3] is not None else None
        tracker.step(index, boxes, scores, low=low, features=features)
    frame, track, bbox, score = tracker.rows()
    return [(int(f), int(t), float(b[0]), float(s)) for f, t, b, s in zip(frame, track, bbox, score)]


def ids_by_frame(rows):
    out = {}
    for f, t, x, _ in rows:
        out.setdefault(t, []).append(f)
    return out


class WeakDetectionsTest(unittest.TestCase):
    def test_weak_detections_carry_a_track_through_a_dip_but_never_start_one(self):
        walk = [[(box(100 + 2 * f), 0.125 if 6 <= f <= 8 else 0.8, 6 <= f <= 8, None)] for f in range(13)]
        # A weak box far from anyone, in every frame: nobody.
        frames = [dets + [(box(400), 0.1, True, None)] for dets in walk]
        rows = feed(Sort(0.3, 2, 3), frames)
        self.assertEqual(ids_by_frame(rows), {1: list(range(13))})
        self.assertEqual([s for f, _, _, s in rows if 6 <= f <= 8], [0.125] * 3)

    def test_without_the_weak_ones_the_track_breaks(self):
        frames = [[] if 6 <= f <= 8 else [(box(100 + 2 * f), 0.8, False, None)] for f in range(13)]
        # max_age 2: three frames without a match end it; the person comes back with a new id.
        self.assertEqual(ids_by_frame(feed(Sort(0.3, 2, 3), frames)), {1: list(range(6)), 2: list(range(9, 13))})

    def test_a_new_track_takes_the_weak_detections_that_lead_up_to_it(self):
        # Faint in frames 0 and 2 (nothing in 1), confident from frame 3 on.
        frames = [[(box(100 + 2 * f), 0.8 if f >= 3 else 0.1, f < 3, None)] if f != 1 else [] for f in range(8)]
        rows = feed(Sort(0.3, 5, 3), frames)
        self.assertEqual(ids_by_frame(rows), {1: [0, 2, 3, 4, 5, 6, 7]})

    def test_the_confident_detection_goes_first(self):
        # The track's own confident box and a weak box that overlaps its prediction better.
        frames = [[(box(100 + 4 * f), 0.8, False, None)] for f in range(5)]
        frames.append([(box(112), 0.8, False, None), (box(120), 0.1, True, None)])
        rows = feed(Sort(0.3, 5, 3), frames)
        self.assertEqual([(f, x) for f, _, x, _ in rows if f == 5], [(5, 112.0)])


class RecoveryTest(unittest.TestCase):
    def test_a_person_hidden_for_a_while_is_found_where_they_were_last_seen(self):
        # Walks right 5 px a frame, stops behind something at frame 9 (hidden 10..29), steps out
        # at frame 30 where they went in: the Kalman prediction has gone on walking without them.
        frames = [[(box(100 + 5 * min(f, 9)), 0.8, False, None)] if f < 10 or f >= 30 else [] for f in range(35)]
        self.assertEqual(ids_by_frame(feed(Sort(0.3, 30, 3), frames)), {1: list(range(10)) + list(range(30, 35))})


class AppearanceTest(unittest.TestCase):
    def crossing(self, appearance):
        # Red stands at x 100 and blue at x 120 for ten frames; then they step past each other:
        # red to 112, blue to 108, where each box overlaps the other's old place more.
        frames = [[(box(100), 0.8, False, RED), (box(120), 0.8, False, BLUE)] for _ in range(10)]
        frames += [[(box(108), 0.8, False, BLUE), (box(112), 0.8, False, RED)] for _ in range(3)]
        rows = feed(Sort(0.2, 5, 3, appearance), frames)
        red_id = next(t for f, t, x, _ in rows if f == 0 and x == 100)
        return [x for f, t, x, _ in rows if t == red_id and f >= 10]

    def test_the_appearance_cue_keeps_two_people_apart_where_their_boxes_cannot(self):
        self.assertEqual(self.crossing(0.5), [112.0] * 3)

    def test_iou_alone_swaps_them(self):
        self.assertEqual(self.crossing(0.0), [108.0] * 3)

    def test_the_distance_is_bhattacharyyas(self):
        d = appearance_distance(np.array([RED, [0.5, 0.5]]), np.array([RED, BLUE]))
        np.testing.assert_allclose(d, [[0.0, 1.0], [np.sqrt(1 - np.sqrt(0.5)), np.sqrt(1 - np.sqrt(0.5))]])


if __name__ == "__main__":
    unittest.main()
