"""Stand-in for phalp/visualize/visualizer.py: importing it imports py_renderer (as PHALP.py does)."""
from phalp.visualize.py_renderer import Renderer


class Visualizer:
    def __init__(self, cfg, hmar):
        self.renderer = Renderer(focal_length=cfg.EXTRA.FOCAL_LENGTH, img_res=cfg.render.res)
