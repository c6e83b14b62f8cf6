// posepipe job page, 3D view: one person's skeleton, drawn with three.js from phalp's 45 joints.
import * as THREE from '/static/three/three.module.js';

// phalp's 45 points: OpenPose BODY_25 first (the player's 2D edges), then 19 joints of other
// datasets (25..36 repeat the limbs' joints and are not drawn twice), then the model's origin (44).
// From the extras: pelvis 39, spine 41, thorax 40, neck 37, jaw 42, head 43, top of the head 38.
const BODY_25 = [[1, 8], [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [8, 9], [9, 10], [10, 11], [8, 12], [12, 13], [13, 14], [1, 0], [0, 15], [15, 17], [0, 16], [16, 18], [14, 19], [19, 20], [14, 21], [11, 22], [22, 23], [11, 24]];
const SPINE_AND_HEAD = [[39, 41], [41, 40], [40, 37], [37, 42], [42, 43], [43, 38]];
/** The bones drawn for a person with n joints: those whose both ends exist. */
const edgesFor = (n) => BODY_25.concat(SPINE_AND_HEAD).filter((e) => e[0] < n && e[1] < n);

export const JOINT_RADIUS = 0.035; // metres
const BONE_RADIUS = 0.016;
export const MIN_PIXELS = { joint: 2.2, bone: 0.8 }; // radii: a far skeleton is drawn thicker than life, so that it stays visible
export const BACKGROUND = 0x14181f;
const DIM = 0.25; // how much of their colour the tracks not selected keep, while one is
export const BACKGROUND_COLOUR = new THREE.Color(BACKGROUND);
const BACKGROUND_SRGB = BACKGROUND_COLOUR.clone().convertLinearToSRGB();

/** Where a joint is in three.js's axes: the camera's x right, y down, z forward become x, -y, -z (three looks down -z, y up). */
function scenePoint(j, t) {
  const x = j[0] + t[0];
  const y = j[1] + t[1];
  const z = j[2] + t[2];
  return Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(z) ? new THREE.Vector3(x, -y, -z) : null;
}

/** A person's joints in scene axes (null where a value is missing), or null when the person has no 3D. */
export function personPoints(p) {
  const j = p.joints3d;
  const t = p.camera_translation;
  if (!Array.isArray(j) || !Array.isArray(t) || t.length < 3) return null;
  return j.map((v) => (Array.isArray(v) && v.length >= 3 ? scenePoint(v, t) : null));
}

export function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** One drawn person: instanced spheres for the joints and cylinders for the bones, reused frame after frame for whoever is k-th. */
export class Skeleton {
  constructor(scene, box, sphere, cylinder) {
    this.material = new THREE.MeshBasicMaterial();
    this.joints = new THREE.InstancedMesh(sphere, this.material, 64);
    this.bones = new THREE.InstancedMesh(cylinder, this.material, 64);
    for (const m of [this.joints, this.bones]) {
      m.frustumCulled = false; // the instances move every frame; their bounds are not kept up to date
      m.userData.skeleton = this;
      scene.add(m);
    }
    this.label = el('span', { class: 'v3-label' });
    box.appendChild(this.label);
    this.track = null;
    this.head = null;
  }

  /** Show person p (its points in scene axes) in its track's colour, full or dimmed. */
  set(p, points, colour, dim, selected) {
    this.points = points;
    this.selected = selected;
    this.centre = new THREE.Vector3();
    let n = 0;
    let head = null;
    for (const v of points) {
      if (!v) continue;
      this.centre.add(v);
      n += 1;
      if (!head || v.y > head.y) head = v;
    }
    this.centre.divideScalar(Math.max(1, n));
    // Dimmed: the colour mixed into the background, opaque (see-through parts would add up where they overlap).
    this.material.color.setStyle(colour);
    // Mixed as the eye sees it (sRGB), not in three's linear space, where a quarter of a colour still looks bright.
    if (dim) this.material.color.convertLinearToSRGB().lerp(BACKGROUND_SRGB, 1 - DIM).convertSRGBToLinear();
    this.track = p.track;
    this.head = head;
    this.label.textContent = '#' + p.track;
    this.label.style.color = colour;
    this.label.style.opacity = dim ? '0.4' : '1';
    this.visible(true);
  }

  /** Place the spheres and cylinders, at least this many metres thick (so a far skeleton stays a few pixels thick). */
  place(least) {
    const points = this.points;
    const m = new THREE.Matrix4();
    const q = new THREE.Quaternion();
    const up = new THREE.Vector3(0, 1, 0);
    const r = Math.max(JOINT_RADIUS, least.joint) * (this.selected ? 1.35 : 1);
    const br = Math.max(BONE_RADIUS, least.bone);
    let n = 0;
    for (const v of points.slice(0, 64)) {
      if (v) this.joints.setMatrixAt(n++, m.makeScale(r, r, r).setPosition(v));
    }
    this.joints.count = n;
    n = 0;
    for (const [a, b] of edgesFor(points.length)) {
      const pa = points[a];
      const pb = points[b];
      if (!pa || !pb) continue;
      const d = new THREE.Vector3().subVectors(pb, pa);
      const len = d.length();
      if (len < 1e-6) continue;
      q.setFromUnitVectors(up, d.divideScalar(len));
      m.compose(new THREE.Vector3().addVectors(pa, pb).multiplyScalar(0.5), q, new THREE.Vector3(br, len, br));
      this.bones.setMatrixAt(n++, m);
    }
    this.bones.count = n;
    this.joints.instanceMatrix.needsUpdate = true;
    this.bones.instanceMatrix.needsUpdate = true;
  }

  visible(on) {
    this.joints.visible = on;
    this.bones.visible = on;
    if (!on) {
      this.track = null;
      this.label.style.display = 'none';
    }
  }
}

