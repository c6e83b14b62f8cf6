"""Stand-in for hmr2.configs: CACHE_DIR_4DHUMANS and get_config, as in 4D-Humans."""
import os

# As in 4D-Humans' hmr2/configs: $HOME/.cache/4DHumans.
CACHE_DIR_4DHUMANS = os.path.join(os.path.expanduser("~"), ".cache", "4DHumans")


class CfgNode(dict):
    """yacs' CfgNode as HMR2 uses it: a dict with attribute access, frozen until defrost()."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        if name != "_frozen" and getattr(self, "_frozen", False):
            raise AttributeError(f"Attempted to set {name} to {value}, but CfgNode is immutable")
        if name == "_frozen":
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def freeze(self):
        for value in self.values():
            if isinstance(value, CfgNode):
                value.freeze()
        object.__setattr__(self, "_frozen", True)

    def defrost(self):
        for value in self.values():
            if isinstance(value, CfgNode):
                value.defrost()
        object.__setattr__(self, "_frozen", False)


def get_config(config_file, merge=True, update_cachedir=False):
    """The released model_config.yaml as far as posepipe and the stand-ins read it (the file must exist)."""
    if not os.path.isfile(config_file):
        raise FileNotFoundError(config_file)
    cfg = CfgNode(MODEL=CfgNode(IMAGE_SIZE=256, BACKBONE=CfgNode(TYPE="vit")), EXTRA=CfgNode(FOCAL_LENGTH=5000),
                  SMPL=CfgNode(MODEL_PATH="data/smpl", JOINT_REGRESSOR_EXTRA="data/SMPL_to_J19.pkl",
                               MEAN_PARAMS="data/smpl_mean_params.npz"))
    if update_cachedir:
        for key in ("MODEL_PATH", "JOINT_REGRESSOR_EXTRA", "MEAN_PARAMS"):
            if not os.path.isabs(cfg.SMPL[key]):
                cfg.SMPL[key] = os.path.join(CACHE_DIR_4DHUMANS, cfg.SMPL[key])
    cfg.freeze()
    return cfg
