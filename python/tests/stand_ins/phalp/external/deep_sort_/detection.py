"""Stand-in for phalp.external.deep_sort_.detection.Detection: as the real one, it wraps one
detection_data dict, reads its bbox (x, y, w, h), size ([H, W]) and scale, and writes back the
box centre normalised to the padded square ("xy") and the scale as one float ("scale"), both
of which PHALP's tracker reads from the track history."""
import numpy as np


class Detection:
    def __init__(self, detection_data):
        self.detection_data = detection_data
        self.tlwh = np.asarray(detection_data["bbox"], dtype=np.float64)
        height, width = (float(v) for v in detection_data["size"])
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        self.xy = [((self.tlwh[0] + self.tlwh[2]) / 2.0 + left) / side,
                   ((self.tlwh[1] + self.tlwh[3]) / 2.0 + top) / side]
        detection_data["xy"] = self.xy
        detection_data["scale"] = float(max(detection_data["scale"])) / side
