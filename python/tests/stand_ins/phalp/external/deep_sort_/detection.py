class Detection:
    """As in PHALP: a wrapper around one detection_data dict."""

    def __init__(self, detection_data):
        self.detection_data = detection_data
