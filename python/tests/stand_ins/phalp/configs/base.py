"""The fields of PHALP's FullConfig that the backend and the stand-ins read, with the real defaults."""
import os
from dataclasses import dataclass, field

CACHE_DIR = os.path.join(os.environ.get("HOME", ""), ".cache")


@dataclass
class VideoConfig:
    source: str = "???"
    output_dir: str = "outputs/"
    start_frame: int = -1
    end_frame: int = 1300


@dataclass
class PHALPConfig:
    low_th_c: float = 0.8
    track_history: int = 7
    max_age_track: int = 50
    n_init: int = 5
    detector: str = "vitdet"
    shot: int = 0
    start_frame: int = -1
    end_frame: int = 10
    small_w: int = 50
    small_h: int = 100


@dataclass
class HMRConfig:
    hmar_path: str = f"{CACHE_DIR}/phalp/weights/hmar_v2_weights.pth"


@dataclass
class RenderConfig:
    enable: bool = True
    res: int = 256


@dataclass
class ExtraConfig:
    FOCAL_LENGTH: int = 5000


@dataclass
class FullConfig:
    device: str = "cuda"
    detect_shots: bool = False
    video: VideoConfig = field(default_factory=VideoConfig)
    phalp: PHALPConfig = field(default_factory=PHALPConfig)
    hmr: HMRConfig = field(default_factory=HMRConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    EXTRA: ExtraConfig = field(default_factory=ExtraConfig)
