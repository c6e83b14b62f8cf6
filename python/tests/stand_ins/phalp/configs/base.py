"""The part of PHALP's FullConfig (phalp/configs/base.py) that posepipe and these stand-ins touch,
with the real names, types and defaults. Fields posepipe never reads are left out; the strict
omegaconf stand-in refuses any key that is not declared here, as the real structured config does.
"""
import os
from dataclasses import dataclass, field

CACHE_DIR = os.path.join(os.environ.get("HOME", ""), ".cache")
MISSING = "???"


@dataclass
class VideoConfig:
    source: str = MISSING
    output_dir: str = "outputs/"
    extract_video: bool = True
    start_frame: int = -1
    end_frame: int = 1300


@dataclass
class PHALPConfig:
    predict: str = "TPL"
    pose_distance: str = "smpl"
    distance_type: str = "EQ_019"
    alpha: float = 0.1
    low_th_c: float = 0.8
    hungarian_th: float = 100.0
    track_history: int = 7
    max_age_track: int = 50
    n_init: int = 5
    encode_type: str = "4c"
    past_lookback: int = 1
    detector: str = "vitdet"
    shot: int = 0
    start_frame: int = -1
    end_frame: int = 10
    small_w: int = 50
    small_h: int = 100


@dataclass
class PosePredictorConfig:
    weights_path: str = f"{CACHE_DIR}/phalp/weights/pose_predictor.pth"


@dataclass
class HMRConfig:
    hmar_path: str = f"{CACHE_DIR}/phalp/weights/hmar_v2_weights.pth"


@dataclass
class RenderConfig:
    enable: bool = True
    res: int = 256
    fps: int = 30


@dataclass
class SMPLConfig:
    MODEL_PATH: str = f"{CACHE_DIR}/phalp/3D/models/smpl/"


@dataclass
class ExtraConfig:
    FOCAL_LENGTH: int = 5000


@dataclass
class FullConfig:
    track_dataset: str = "demo"
    device: str = "cuda"
    train: bool = False
    debug: bool = False
    use_gt: bool = False
    overwrite: bool = True
    verbose: bool = False
    detect_shots: bool = False
    video: VideoConfig = field(default_factory=VideoConfig)
    phalp: PHALPConfig = field(default_factory=PHALPConfig)
    pose_predictor: PosePredictorConfig = field(default_factory=PosePredictorConfig)
    hmr: HMRConfig = field(default_factory=HMRConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    SMPL: SMPLConfig = field(default_factory=SMPLConfig)
    EXTRA: ExtraConfig = field(default_factory=ExtraConfig)
