class NearestNeighborDistanceMetric:
    def __init__(self, cfg, matching_threshold, budget=None):
        self.cfg, self.matching_threshold, self.budget = cfg, matching_threshold, budget
