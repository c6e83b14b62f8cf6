"""posepipe.smpl_model on the stand-in SMPL model (stand_ins/smpl_stand_in.py): the file read as the
real one is (chumpy and scipy objects without chumpy or scipy), rest joints for given betas, and
SMPL's forward kinematics checked against hand-computed chains."""

import contextlib
import io
import json
import os
import pickle
import pickletools
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "stand_ins"))

from posepipe import smpl_model  # noqa: E402
from posepipe.backends import test_fixture_smpl  # noqa: E402
import smpl_stand_in  # noqa: E402


class _Expression:
    """Pickled under a chumpy expression's name (renamed in the bytes)."""

    def __init__(self) -> None:
        self.a, self.b = np.zeros(2), np.ones(2)


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class StandInModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.dir.name, "SMPL_NEUTRAL.pkl")
        smpl_stand_in.write(cls.path, seed=3)
        cls.model = smpl_model.load(cls.path)
        cls.arrays = smpl_stand_in.model_arrays(seed=3)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.dir.cleanup()

    def test_pickled_like_the_real_file(self) -> None:
        with open(self.path, "rb") as f:
            ops = [(op.name, arg) for op, arg, _ in pickletools.genops(f.read())]
        globals_ = {arg for name, arg in ops if name == "GLOBAL"}
        self.assertIn("chumpy.ch Ch", globals_)
        self.assertIn("scipy.sparse._csc csc_matrix", globals_)
        m = self.model
        self.assertEqual((m.v_template.shape, m.shapedirs.shape, m.J_regressor.shape, m.weights.shape, m.posedirs.shape, m.faces.shape),
                         ((6890, 3), (6890, 3, 10), (24, 6890), (6890, 24), (6890, 3, 207), (13776, 3)))
        self.assertEqual(tuple(m.parents), smpl_model.PARENTS)
        # The sparse regressor comes back dense and equal; chumpy's shapedirs as its value.
        np.testing.assert_array_equal(m.J_regressor, self.arrays["J_regressor_dense"])
        np.testing.assert_array_equal(m.shapedirs, self.arrays["shapedirs"])

    def test_rest_joints_follow_betas_linearly(self) -> None:
        m = self.model
        base = m.rest_joints()
        np.testing.assert_allclose(base, smpl_stand_in.REST, atol=1e-12)
        np.testing.assert_allclose(m.rest_joints(np.zeros(10)), base)
        betas = np.linspace(-2, 2, 10)
        expected = self.arrays["J_regressor_dense"] @ (self.arrays["v_template"] + self.arrays["shapedirs"] @ betas)
        np.testing.assert_allclose(m.rest_joints(betas), expected, atol=1e-12)
        self.assertGreater(np.abs(m.rest_joints(betas) - base).max(), 0.005)
        with self.assertRaisesRegex(ValueError, "11 betas, but .* has 10"):
            m.rest_joints(np.zeros(11))

    def test_zero_pose_is_the_rest_pose_moved_by_trans(self) -> None:
        rest = self.model.rest_joints(np.ones(10) * 0.5)
        trans = np.array([[0.1, 2.0, 5.0], [0.0, 0.0, 0.0]])
        joints, rotations = smpl_model.forward_kinematics(rest, np.zeros((2, 72)), trans)
        np.testing.assert_allclose(joints, rest[None] + trans[:, None], atol=1e-12)
        np.testing.assert_allclose(rotations, np.broadcast_to(np.eye(3), (2, 24, 3, 3)), atol=1e-12)

    def test_chains_compose_parent_rotations(self) -> None:
        rest = self.model.rest_joints()
        poses = np.zeros(72)
        poses[0:3] = [0, 0, np.pi / 2]  # the whole body a quarter turn about z, around the pelvis
        poses[18 * 3:18 * 3 + 3] = [0, 0, 0.3]  # left elbow
        joints, rotations = smpl_model.forward_kinematics(rest, poses, [1.0, 0.0, 0.0])
        r0, r18 = rot_z(np.pi / 2), rot_z(0.3)
        pelvis = rest[0]
        # Joints above the elbow only turn with the body.
        for j in (3, 9, 13, 16, 18):
            np.testing.assert_allclose(joints[0, j], pelvis + r0 @ (rest[j] - pelvis) + [1, 0, 0], atol=1e-12)
        # Below it, the elbow's turn is applied first, in the parent's frame.
        for j in (20, 22):
            expected = pelvis + r0 @ (rest[18] - pelvis) + r0 @ r18 @ (rest[j] - rest[18]) + [1, 0, 0]
            np.testing.assert_allclose(joints[0, j], expected, atol=1e-12)
        np.testing.assert_allclose(rotations[0, 22], r0 @ r18, atol=1e-12)
        # Bone lengths never change.
        for j, p in enumerate(smpl_model.PARENTS):
            if p >= 0:
                self.assertAlmostEqual(np.linalg.norm(joints[0, j] - joints[0, p]), np.linalg.norm(rest[j] - rest[p]), places=12)
        np.testing.assert_allclose(self.model.joints(poses, None, [1.0, 0.0, 0.0]), joints, atol=1e-12)

    def test_rodrigues_matches_the_fixture_rotations(self) -> None:
        q = test_fixture_smpl.quaternions()[::97]
        np.testing.assert_allclose(smpl_model.rodrigues(test_fixture_smpl.axis_angle(q)), test_fixture_smpl.matrix(q), atol=1e-12)
        np.testing.assert_allclose(smpl_model.rodrigues(np.zeros(3)), np.eye(3))
        np.testing.assert_allclose(smpl_model.rodrigues([0, 0, 1e-9]), rot_z(1e-9), atol=1e-15)

    def test_command_line_gives_a_tracks_joints(self) -> None:
        poses = np.zeros((2, 72))
        poses[1, 3 * 4 + 2] = 0.7  # left knee
        betas, trans = np.linspace(0, 1, 10), np.array([[0.0, 0.0, 3.0], [0.5, 0.0, 3.0]])
        track = os.path.join(self.dir.name, "track.npz")
        np.savez(track, poses=poses, betas=betas, trans=trans)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(smpl_model.main([self.path, track]), 0)
        result = json.loads(out.getvalue())
        self.assertEqual(result["names"][4], "left_knee")
        expected = smpl_model.forward_kinematics(self.model.rest_joints(betas), poses, trans)[0]
        np.testing.assert_allclose(np.array(result["joints"]), expected, atol=1e-8)

    def test_errors_name_the_file(self) -> None:
        missing = os.path.join(self.dir.name, "nothing.pkl")
        with self.assertRaisesRegex(smpl_model.SmplModelError, "nothing.pkl: no such file .*SMPL_NEUTRAL.pkl"):
            smpl_model.load(missing)
        hostile = os.path.join(self.dir.name, "hostile.pkl")
        with open(hostile, "wb") as f:
            f.write(b"cos\nsystem\n(S'echo pwned'\ntR.")
        with self.assertRaisesRegex(smpl_model.SmplModelError, "hostile.pkl: .*unexpected global os.system"):
            smpl_model.load(hostile)
        partial = os.path.join(self.dir.name, "partial.pkl")
        with open(partial, "wb") as f:
            pickle.dump({"v_template": np.zeros((6890, 3))}, f)
        with self.assertRaisesRegex(smpl_model.SmplModelError, "partial.pkl: not an SMPL model \\(no 'shapedirs'\\)"):
            smpl_model.load(partial)

    def test_reads_python2_style_arrays_and_tells_chumpy_expressions_apart(self) -> None:
        # Protocol 2 (the real file's) passes raw bytes through _codecs.encode.
        raw = pickle.dumps({"v": np.arange(6.0).reshape(2, 3)}, protocol=2)
        np.testing.assert_array_equal(smpl_model._Unpickler(io.BytesIO(raw), encoding="latin1").load()["v"], np.arange(6.0).reshape(2, 3))
        # A chumpy expression loads inert; only asking for its value fails, naming the key and class.
        raw = pickle.dumps({"J": _Expression()}, protocol=3).replace(f"c{__name__}\n_Expression\n".encode(), b"cchumpy.ch_ops\nadd\n")
        loaded = smpl_model._Unpickler(io.BytesIO(raw), encoding="latin1").load()
        with self.assertRaisesRegex(ValueError, r"J is a chumpy expression \(chumpy.ch_ops.add\)"):
            smpl_model._dense(loaded["J"], "J")

    def test_uses_the_first_betas_of_a_model_with_300_shape_components(self) -> None:
        # SMPLify's SMPL_NEUTRAL.pkl has 300 components (built from arrays: the file path is tested above).
        a = smpl_stand_in.model_arrays(seed=1, betas=300)
        wide = smpl_model.SmplModel({**a, "J_regressor": a["J_regressor_dense"]}, "wide.pkl")
        self.assertEqual(wide.shapedirs.shape, (6890, 3, 300))
        betas = np.linspace(1, -1, 10)
        np.testing.assert_allclose(wide.rest_joints(betas), a["J_regressor_dense"] @ (a["v_template"] + a["shapedirs"][:, :, :10] @ betas), atol=1e-12)

if __name__ == "__main__":
    unittest.main()
