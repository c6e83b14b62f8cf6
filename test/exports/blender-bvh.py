"""Run by Blender (blender -b --factory-startup --python blender-bvh.py -- SPEC.json RESULT.json):
import each BVH of the spec with Blender's own importer and report, per file, its bones, its
action's frame range, the scene's rate after the import, and the largest distance between a bone's
head, by Blender's forward kinematics at a frame, and the joint the spec expects there (Y-up BVH
coordinates, turned by the importer's default axes as Blender turns them)."""
import builtins
import json
import sys

import bpy
from bpy_extras.io_utils import axis_conversion
from mathutils import Vector

spec_path, out_path = sys.argv[sys.argv.index("--") + 1:]
_open = builtins.open
spec = json.load(_open(spec_path))


def open_without_u(file, mode="r", *args, **kwargs):
    # Blender 3.4's importer opens with mode 'rU', which Python 3.11 refuses.
    return _open(file, mode.replace("U", ""), *args, **kwargs)


to_blender = axis_conversion(from_forward="-Z", from_up="Y").to_4x4()
results = []
for item in spec["files"]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    builtins.open = open_without_u
    try:
        bpy.ops.import_anim.bvh(filepath=item["bvh"], update_scene_duration=True, update_scene_fps=True)
    finally:
        builtins.open = _open
    scene = bpy.context.scene
    arm = [o for o in scene.objects if o.type == "ARMATURE"][0]
    worst = 0.0
    for k, frame in enumerate(item["frames"]):
        scene.frame_set(scene.frame_start + frame)
        for j, name in enumerate(spec["names"]):
            got = arm.matrix_world @ arm.pose.bones[name].head
            worst = max(worst, (got - to_blender @ Vector(item["joints"][k][j])).length)
    results.append({"bones": [b.name for b in arm.data.bones], "action": list(arm.animation_data.action.frame_range),
                    "fps": scene.render.fps / scene.render.fps_base, "worst": worst})
_open(out_path, "w").write(json.dumps(results))
