class NearestNeighborDistanceMetric:
    """Stand-in: the real constructor's arguments (cfg, matching_threshold, budget), no metric."""

    def __init__(self, cfg, matching_threshold, budget=None):
        self.cfg, self.matching_threshold, self.budget = cfg, matching_threshold, budget
        self.samples = {}
