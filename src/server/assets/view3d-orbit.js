// posepipe job page, 3D view: turning, moving and zooming the camera around a target. A small
// stand-in for three.js's OrbitControls, which imports the bare name 'three': that needs an import
// map, an inline script the page's CSP does not allow.
import * as THREE from '/static/three/three.module.js';

/** Drag to turn, right-drag or Shift+drag to move, wheel to zoom; a click without a drag is handed to `clicked`. */
export class Orbit {
  constructor(camera, canvas, changed, clicked) {
    this.camera = camera;
    this.canvas = canvas;
    this.changed = changed;
    this.clicked = clicked;
    this.target = null; // none until aim()
    this.radius = 1;
    this.theta = 0;
    this.phi = 0;
    this.placed = false; // true while the camera was placed from outside (the video camera's view)
    this.listen();
  }

  /** Look at `target` from `radius` away, turned `theta` about the vertical and raised `phi` (radians). */
  aim(target, radius, theta, phi) {
    this.target = target.clone();
    this.radius = radius;
    this.theta = theta;
    this.phi = phi;
    this.placed = false;
    this.apply();
  }

  apply() {
    const c = Math.cos(this.phi);
    const t = this.target;
    this.camera.position.set(t.x + this.radius * Math.sin(this.theta) * c, t.y + this.radius * Math.sin(this.phi), t.z + this.radius * Math.cos(this.theta) * c);
    this.camera.up.set(0, 1, 0);
    this.camera.lookAt(t);
    this.camera.updateProjectionMatrix();
    this.changed();
  }

  /** A camera placed from outside: turn around the target from where it stands. */
  takeOver() {
    if (!this.placed) return;
    const d = new THREE.Vector3().subVectors(this.camera.position, this.target);
    this.radius = Math.max(0.1, d.length());
    this.theta = Math.atan2(d.x, d.z);
    this.phi = Math.asin(Math.max(-1, Math.min(1, d.y / this.radius)));
    this.placed = false;
  }

  listen() {
    const canvas = this.canvas;
    let drag = null;
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    canvas.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY, pan: e.button === 2 || e.shiftKey, moved: false };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (!drag || !this.target) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      drag.x = e.clientX;
      drag.y = e.clientY;
      if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) > 3) drag.moved = true;
      if (!drag.moved) return;
      this.takeOver();
      if (drag.pan) {
        // Move the target with the pointer: a pixel is this many metres at the target's distance.
        const k = (2 * this.radius * Math.tan(THREE.MathUtils.degToRad(this.camera.fov) / 2)) / canvas.clientHeight;
        const right = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 0);
        const up = new THREE.Vector3().setFromMatrixColumn(this.camera.matrixWorld, 1);
        this.target.addScaledVector(right, -dx * k).addScaledVector(up, dy * k);
      } else {
        this.theta -= (dx / canvas.clientWidth) * Math.PI * 1.5;
        this.phi = Math.max(-1.5, Math.min(1.5, this.phi + (dy / canvas.clientHeight) * Math.PI));
      }
      this.apply();
    });
    canvas.addEventListener('pointerup', (e) => {
      if (drag && !drag.moved) this.clicked(e);
      drag = null;
    });
    canvas.addEventListener('pointercancel', () => {
      drag = null;
    });
    canvas.addEventListener(
      'wheel',
      (e) => {
        if (!this.target) return;
        e.preventDefault();
        this.takeOver();
        this.radius = Math.max(0.1, this.radius * Math.exp(Math.max(-100, Math.min(100, e.deltaY)) * 0.002));
        this.apply();
      },
      { passive: false },
    );
  }
}
