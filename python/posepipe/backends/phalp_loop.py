"""One chunk through PHALP, driven here frame by frame: decode -> detect -> HMR2 -> tracker update.

Person crops are gathered across frames and sent through HMR2 in batches of at most `cap` crops;
the tracker then steps through the gathered frames in order, so its results do not depend on the
batch size. On an out-of-memory error the cap is halved (and stays lowered for the life of the
process) and the same crops are retried; at a cap of 1 the error becomes MemoryError, which the
worker reports as kind "oom" and posepipe answers by splitting the chunk. Every other exception
propagates unchanged.
"""

from typing import Any, Dict, Iterable, List, Sequence, Tuple

import numpy as np

from .batch_cap import BatchCap
from .phalp_output import Rows


class CropCap(BatchCap):
    """Person crops per HMR2 batch, shared by every chunk the process serves."""

    def lowered(self, size: int) -> str:
        return f"phalp: out of memory with {size} crops per batch; retrying with {self.cap}"

    def single(self, detail: str) -> str:
        return f"out of memory running HMR2 on a single person crop ({detail}); the chunk must be split"


class ChunkLoop:
    """State for one request; `run(frames)` returns the worker's five columns."""

    def __init__(self, tracker: Any, api: Any, cap: CropCap, frames_window: int) -> None:
        self._t = tracker  # the PHALP instance (models loaded once, reused)
        self._api = api    # torch, Detection, smpl_to_pose_camera_vector
        self._cap = cap
        self._window = frames_window
        self._cfg = tracker.cfg
        self._rows = Rows()
        self._pending: List[Dict[str, Any]] = []
        self._crops = 0

    def run(self, frames: Iterable[Any]) -> Tuple[Any, Any, Any, Any, Dict[str, Any]]:
        self._t.setup_deepsort()  # a fresh tracker: ids restart at 1 for every request
        self._frames = frames
        for index, image in enumerate(frames):
            self._pending.append(self._detect(index, image))
            if self._crops >= self._cap.cap or len(self._pending) >= self._window:
                self._flush()
        self._flush()
        return self._rows.columns(float(self._cfg.EXTRA.FOCAL_LENGTH), int(self._cfg.render.res))

    def _detect(self, index: int, image: Any) -> Dict[str, Any]:
        height, width = int(image.shape[0]), int(image.shape[1])
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        measurements = [height, width, side, left, top]
        name = f"frame{index:06d}"  # an internal name: PHALP never sees a user's path
        bbox, bbox_pad, masks, scores, classes, gt_tids, gt_annots = self._t.get_detections(
            image, name, index, {}, measurements)
        small_w, small_h = self._cfg.phalp.small_w, self._cfg.phalp.small_h
        people = []
        for p in range(len(scores)):
            if bbox[p][2] - bbox[p][0] < small_w or bbox[p][3] - bbox[p][1] < small_h:
                continue
            crop, _, _, rles, center_pad, scale_pad = self._t.get_croped_image(image, bbox[p], bbox_pad[p], masks[p])
            people.append({"crop": crop, "bbox": np.asarray(bbox[p], dtype=np.float64), "rles": rles,
                           "center": np.asarray(center_pad, dtype=np.float64),
                           "scale": np.asarray(scale_pad, dtype=np.float64), "score": float(scores[p]),
                           "class": classes[p], "gt": gt_tids[p], "ann": gt_annots[p],
                           "extra": p})  # as PHALP.track's run_additional_models: the detector's index
        self._crops += len(people)
        return {"index": index, "name": name, "measurements": measurements, "people": people}

    def _flush(self) -> None:
        people = [(frame, person) for frame in self._pending for person in frame["people"]]
        features = self._features(people)
        at = 0
        for frame in self._pending:
            count = len(frame["people"])
            detections = [self._api.Detection(data) for data in features[at:at + count]]
            at += count
            self._t.tracker.predict()
            self._t.tracker.update(detections, frame["index"], frame["name"], 0)
            self._rows.observe(self._t.tracker.tracks, int(self._cfg.phalp.n_init))
        self._pending, self._crops = [], 0

    def _features(self, people: List[Tuple[Dict[str, Any], Dict[str, Any]]]) -> List[Dict[str, Any]]:
        heartbeat = getattr(self._frames, "heartbeat", None)

        def batch(part: Sequence[Tuple[Dict[str, Any], Dict[str, Any]]]) -> List[Dict[str, Any]]:
            out = self._batch(part)
            if heartbeat is not None:
                heartbeat()
            return out

        return self._cap.run(people, batch)

    def _batch(self, people: List[Tuple[Dict[str, Any], Dict[str, Any]]]) -> List[Dict[str, Any]]:
        """PHALP's get_human_features for crops from several frames at once."""
        torch, hmar, res = self._api.torch, self._t.HMAR, int(self._cfg.render.res)
        centers, scales = [], []
        for frame, person in people:
            _, _, side, left, top = frame["measurements"]
            ratio = res / side
            centers.append((person["center"] + [left, top]) * ratio)
            scales.append([max(person["scale"]) * ratio])
        with torch.no_grad():
            x = torch.stack([person["crop"] for _, person in people]).to(self._t.device)
            hmar_out = hmar(x)
            uv = hmar_out["uv_vector"]
            appe = hmar.autoencoder_hmar(uv, en=True).view(len(people), -1)
            smpl, joints2d, joints3d, cam = hmar.get_3d_parameters(
                hmar_out["pose_smpl"], hmar_out["pred_cam"], center=np.array(centers), img_size=res,
                scale=np.array(scales))
        result = []
        for i, (frame, person) in enumerate(people):
            params = {k: v[i].float().cpu().numpy() for k, v in smpl.items()}
            pose = np.asarray(self._api.smpl_to_pose_camera_vector(params, cam[i:i + 1].float().cpu()))[0]
            j2d = (joints2d[i].float().reshape(-1) / res).cpu().numpy()
            cam_i = cam[i].float().reshape(-1).cpu().numpy()
            loca = np.concatenate([j2d, cam_i, cam_i, cam_i])
            appe_i = appe[i].float().cpu().numpy()
            x1, y1, x2, y2 = person["bbox"][:4]
            height, width = frame["measurements"][:2]
            result.append({
                "bbox": np.array([x1, y1, x2 - x1, y2 - y1]), "mask": person["rles"], "conf": person["score"],
                "appe": appe_i, "pose": pose, "loca": loca, "uv": uv[i].float().cpu().numpy(),
                # As PHALP builds it: a CPU tensor row (the tracker never reads it).
                "embedding": torch.from_numpy(np.concatenate([appe_i, pose, loca])), "center": person["center"],
                "scale": person["scale"], "smpl": params, "camera": cam_i,
                "camera_bbox": hmar_out["pred_cam"][i].float().cpu().numpy(),
                "3d_joints": joints3d[i].float().cpu().numpy(), "2d_joints": j2d,
                "size": [height, width], "img_path": frame["name"], "img_name": frame["name"],
                "class_name": person["class"], "time": frame["index"], "ground_truth": person["gt"],
                "annotations": person["ann"], "extra_data": person["extra"],
            })
        return result
