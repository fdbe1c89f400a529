// Interactive 3D viewer of a BVH motion: three.js BVHLoader for parsing and playback,
// OrbitControls for the camera, a ground grid, the skeleton as lines and a simple body made of
// cylinders along the bones with spheres at the joints.
//
// The BVH files that motiond makes from videos are Y-up centimetres (contract §9.4) and are
// shown as they are, at the performer's size. Other BVH files (the catalog's) come in several
// conventions (Y-up or Z-up, centimetres, inches or metres), so for them the up axis and the
// size are estimated over the whole clip and the figure is turned upright and scaled to a
// person's height. Frame 0 alone would mislead: a get-up starts lying down, a squat crouched.
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { BVHLoader } from 'three/examples/jsm/loaders/BVHLoader.js';

const FIGURE_HEIGHT_M = 1.7;
/**
 * The head joint's greatest distance from the middle of the feet joints in a person of
 * {@link FIGURE_HEIGHT_M}: stretched out, standing or lying, whatever the pose.
 */
const HEAD_TO_FEET_M = 1.55;
/** The body's limbs are this thick, in metres, whatever the file's unit. */
const LIMB_RADIUS_M = 0.037;
const BOUNDS_SAMPLES = 48;

/** The axes and unit of the BVH files that motiond makes (contract §9.4): Y up, centimetres. */
export const MOTIOND_BVH = Object.freeze({ up: Object.freeze({ x: 0, y: 1, z: 0 }), metresPerUnit: 0.01 });

/** The joints of motiond's BVH skeleton, in the order its files list them (contract §9.4). */
const MOTIOND_JOINTS = [
  'Hips', 'Spine', 'Spine1', 'Spine2', 'Neck', 'Head',
  'LeftShoulder', 'LeftArm', 'LeftForeArm', 'LeftHand',
  'RightShoulder', 'RightArm', 'RightForeArm', 'RightHand',
  'LeftUpLeg', 'LeftLeg', 'LeftFoot', 'LeftToeBase',
  'RightUpLeg', 'RightLeg', 'RightFoot', 'RightToeBase',
].join(' ');

/**
 * The axes of a BVH file for {@link prepareMotion}: {@link MOTIOND_BVH} for motiond's own
 * skeleton (every motion it makes, official ones included), null (estimated) for any other,
 * such as an official motion an older version stored before it rebuilt its files.
 */
export function bvhAxes(bvhText) {
  const hierarchy = bvhText.slice(0, Math.max(0, bvhText.indexOf('MOTION')));
  const joints = [...hierarchy.matchAll(/^\s*(?:ROOT|JOINT)\s+(\S+)/gm)].map((m) => m[1]).join(' ');
  return joints === MOTIOND_JOINTS ? MOTIOND_BVH : null;
}

let webgl = null;

/**
 * True when this browser can create a WebGL2 context (three.js needs one). Asked once: the
 * browser keeps only a few contexts per page (Chrome 16) and drops the oldest beyond that, so
 * the probe's own context is released at once rather than left to the garbage collector.
 */
export function webglAvailable() {
  if (webgl !== null) return webgl;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    webgl = Boolean(gl);
    gl?.getExtension('WEBGL_lose_context')?.loseContext();
  } catch {
    webgl = false;
  }
  return webgl;
}

/**
 * three's animation bindings treat `.`, `:`, `/`, `[` and `]` in node names as syntax, and
 * Mixamo rigs name their joints `mixamorig:Hips`; such names are rewritten before parsing.
 */
export function sanitizeBvhJointNames(text) {
  return text.replace(/^(\s*(?:ROOT|JOINT)[ \t]+)(.+?)\s*$/gm, (_, head, name) => {
    return head + THREE.PropertyBinding.sanitizeNodeName(name.trim());
  });
}

/** The middle of the feet joints minus the head joint's position, or null without them. */
function headFromFeet(head, feet) {
  if (!head || !feet.length) return null;
  const footMid = new THREE.Vector3();
  feet.forEach((f) => footMid.add(f.getWorldPosition(new THREE.Vector3())));
  footMid.divideScalar(feet.length);
  return head.getWorldPosition(new THREE.Vector3()).sub(footMid);
}

/** The axis (±X, ±Y or ±Z) nearest to `dir`, as a unit vector. */
function nearestAxis(dir) {
  const ax = Math.abs(dir.x);
  const ay = Math.abs(dir.y);
  const az = Math.abs(dir.z);
  if (ay >= ax && ay >= az) return new THREE.Vector3(0, Math.sign(dir.y) || 1, 0);
  if (az >= ax) return new THREE.Vector3(0, 0, Math.sign(dir.z) || 1);
  return new THREE.Vector3(Math.sign(dir.x) || 1, 0, 0);
}

/**
 * Estimates, over the sampled times, the file's up axis (the sum of the feet-to-head
 * directions: a motion that starts lying down and stands up, or the reverse, is upright most
 * of the time) and the file units of the figure's {@link HEAD_TO_FEET_M} (the longest
 * feet-to-head distance: a crouch or a bow is shorter than the person). A skeleton without a
 * head or feet falls back on the bounding box of all sampled poses.
 */
function estimateUpAndSize(figure, mixer, bones, times) {
  const head = bones.find((b) => /head/i.test(b.name));
  const feet = bones.filter((b) => /(foot|toe|ankle)/i.test(b.name));
  const sum = new THREE.Vector3();
  let longest = 0;
  for (const t of times) {
    mixer.setTime(t);
    figure.updateMatrixWorld(true);
    const dir = headFromFeet(head, feet);
    if (!dir) break;
    sum.add(dir);
    longest = Math.max(longest, dir.length());
  }
  if (longest > 1e-6) return { up: nearestAxis(sum), headToFeet: longest };
  const size = boundsAt(figure, mixer, bones, times).getSize(new THREE.Vector3());
  const up = size.z > size.y ? new THREE.Vector3(0, 0, 1) : new THREE.Vector3(0, 1, 0);
  // The box's extent along up is the whole figure; scaled as the head-to-feet distance.
  const height = Math.max(up.z ? size.z : size.y, 1e-6);
  return { up, headToFeet: (height * HEAD_TO_FEET_M) / FIGURE_HEIGHT_M };
}

/** World-space bounding box of all bones of `figure` over the given times. */
function boundsAt(figure, mixer, bones, times) {
  const box = new THREE.Box3();
  const p = new THREE.Vector3();
  for (const t of times) {
    mixer.setTime(t);
    figure.updateMatrixWorld(true);
    for (const bone of bones) box.expandByPoint(bone.getWorldPosition(p));
  }
  return box;
}

/**
 * The times at which a clip is sampled for its size and bounds; a pose (one frame) is one
 * time. The last is just before the end: the mixer shows frame 0 again at the end itself.
 */
function sampleTimes(duration) {
  if (!(duration > 0)) return [0];
  const last = Math.max(duration - 1e-4, 0);
  return Array.from({ length: BOUNDS_SAMPLES + 1 }, (_, i) => (i / BOUNDS_SAMPLES) * last);
}

/**
 * Parses BVH text into a figure that stands upright on the ground (Y up, the lowest point of
 * the clip at y = 0), centred over the origin across the whole clip. `axes` gives the file's
 * up axis and unit when they are known ({@link MOTIOND_BVH}); otherwise they are estimated
 * and the figure is made about 1.7 units tall. A one-frame file is a pose: its duration is 0.
 * Needs no WebGL.
 */
export function prepareMotion(bvhText, axes = null) {
  const result = new BVHLoader().parse(sanitizeBvhJointNames(bvhText));
  const bones = result.skeleton.bones;
  if (!bones.length || !result.clip || !(result.clip.duration >= 0)) {
    throw new Error('The BVH file has no skeleton or no motion.');
  }
  const boneRoot = new THREE.Group();
  boneRoot.add(bones[0]);
  const figure = new THREE.Group();
  figure.add(boneRoot);
  const mixer = new THREE.AnimationMixer(boneRoot);
  const action = mixer.clipAction(result.clip);
  action.play();
  const duration = result.clip.duration;
  const samples = sampleTimes(duration);

  let up;
  let scale;
  if (axes) {
    up = new THREE.Vector3(axes.up.x, axes.up.y, axes.up.z);
    scale = axes.metresPerUnit;
  } else {
    const estimate = estimateUpAndSize(figure, mixer, bones, samples);
    up = estimate.up;
    scale = HEAD_TO_FEET_M / estimate.headToFeet;
  }
  figure.quaternion.setFromUnitVectors(up, new THREE.Vector3(0, 1, 0));
  figure.scale.setScalar(scale);
  figure.updateMatrixWorld(true);

  const all = boundsAt(figure, mixer, bones, samples);
  const center = all.getCenter(new THREE.Vector3());
  figure.position.set(-center.x, -all.min.y, -center.z);
  figure.updateMatrixWorld(true);
  const bounds = boundsAt(figure, mixer, bones, samples);
  mixer.setTime(0);
  figure.updateMatrixWorld(true);
  return { figure, boneRoot, bones, mixer, action, duration, scale, bounds, samples };
}

export class MotionViewer {
  /**
   * @param {HTMLElement} container element that receives the canvas; its size drives the view
   * @param {{onTime?: (t: number, duration: number) => void, onState?: (playing: boolean) => void}} hooks
   */
  constructor(container, hooks = {}) {
    this.container = container;
    this.hooks = hooks;
    this.time = 0;
    this.duration = 0;
    this.speed = 1;
    this.loop = true;
    this.playing = false;
    this.bodyVisible = true;
    this.lastTick = performance.now();

    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.domElement.className = 'viewer-canvas';
    this.renderer.domElement.setAttribute('role', 'img');
    this.renderer.domElement.setAttribute(
      'aria-label',
      '3D view of the motion. Drag to orbit, scroll or pinch to zoom; from the keyboard, Shift and the arrow keys orbit, the arrow keys move, plus and minus zoom.',
    );
    this.renderer.domElement.tabIndex = 0;
    container.appendChild(this.renderer.domElement);

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x1b2230);
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.01, 200);
    this.camera.position.set(2.5, 1.8, 3.5);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = true;
    this.controls.target.set(0, 0.9, 0);
    this.controls.listenToKeyEvents(this.renderer.domElement);
    this.renderer.domElement.addEventListener('keydown', (event) => this.zoomKey(event));

    this.scene.add(new THREE.HemisphereLight(0xdde6ff, 0x303030, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    sun.position.set(3, 6, 4);
    this.scene.add(sun);
    this.grid = new THREE.GridHelper(12, 24, 0x8899aa, 0x3a4555);
    this.scene.add(this.grid);

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
    this.frame = requestAnimationFrame(() => this.tick());
  }

  resize() {
    const width = Math.max(1, this.container.clientWidth);
    const height = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
  }

  /** Parses BVH text and shows it, replacing any previous motion; `axes` as in prepareMotion. */
  load(bvhText, axes = null) {
    this.clearFigure();
    const motion = prepareMotion(bvhText, axes);
    Object.assign(this, motion);
    this.scene.add(this.figure);
    this.buildBody(this.bones, LIMB_RADIUS_M / motion.scale);
    this.fitCamera(motion.bounds);
    this.setTime(0);
  }

  /** Whether there is anything to play: a one-frame motion is a pose, shown still. */
  get playable() {
    return Boolean(this.mixer) && this.duration > 0;
  }

  /** `radius`: of the limbs, in the file's units (the bones are in them). */
  buildBody(bones, radius) {
    const limbMaterial = new THREE.MeshStandardMaterial({ color: 0x5b9cf6, roughness: 0.55 });
    const jointMaterial = new THREE.MeshStandardMaterial({ color: 0xf0f4fa, roughness: 0.4 });
    this.cylinder = new THREE.CylinderGeometry(radius, radius, 1, 14);
    this.sphere = new THREE.SphereGeometry(radius * 1.25, 16, 12);
    this.materials = [limbMaterial, jointMaterial];
    this.limbs = [];
    this.joints = [];
    for (const bone of bones) {
      const joint = new THREE.Mesh(this.sphere, jointMaterial);
      joint.visible = this.bodyVisible;
      bone.add(joint);
      this.joints.push(joint);
      for (const child of [...bone.children]) {
        if (!child.isBone) continue;
        const limb = new THREE.Mesh(this.cylinder, limbMaterial);
        bone.add(limb);
        this.limbs.push({ limb, child });
      }
    }
    this.skeletonLines = new THREE.SkeletonHelper(this.boneRoot);
    this.skeletonLines.material.depthTest = false;
    this.skeletonLines.material.transparent = true;
    this.skeletonLines.renderOrder = 2;
    this.scene.add(this.skeletonLines);
    this.updateLimbs();
  }

  /** Bone offsets may animate (position channels on any joint), so limbs follow every frame. */
  updateLimbs() {
    const yAxis = new THREE.Vector3(0, 1, 0);
    const dir = new THREE.Vector3();
    for (const { limb, child } of this.limbs) {
      const length = child.position.length();
      limb.visible = this.bodyVisible && length > 1e-6;
      if (!limb.visible) continue;
      limb.position.copy(child.position).multiplyScalar(0.5);
      limb.quaternion.setFromUnitVectors(yAxis, dir.copy(child.position).divideScalar(length));
      limb.scale.set(1, length, 1);
    }
  }

  fitCamera(box) {
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(size.length() / 2, 1);
    const distance = radius / Math.sin(THREE.MathUtils.degToRad(this.camera.fov / 2)) * 0.9;
    // The middle of the whole clip: a motion done lying down (push-ups) is low, not hip-high.
    this.home = {
      target: center.clone(),
      position: new THREE.Vector3(center.x + distance * 0.55, center.y + distance * 0.35, center.z + distance * 0.8),
    };
    this.resetCamera();
  }

  resetCamera() {
    if (!this.home) return;
    this.controls.target.copy(this.home.target);
    this.camera.position.copy(this.home.position);
    this.controls.update();
  }

  setBodyVisible(visible) {
    this.bodyVisible = visible;
    for (const joint of this.joints || []) joint.visible = visible;
    this.updateLimbs();
  }

  setSkeletonVisible(visible) {
    if (this.skeletonLines) this.skeletonLines.visible = visible;
  }

  play() {
    if (!this.playable) return;
    if (!this.loop && this.time >= this.duration) this.time = 0;
    this.playing = true;
    this.elapsed();
    this.hooks.onState?.(true);
  }

  pause() {
    this.playing = false;
    this.hooks.onState?.(false);
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  setSpeed(speed) {
    this.speed = speed;
  }

  setLoop(loop) {
    this.loop = loop;
  }

  setTime(t) {
    if (!this.mixer) return;
    this.time = Math.min(Math.max(t, 0), this.duration);
    // A time exactly at the end would wrap to frame 0 with LoopRepeat; stay just before it.
    this.mixer.setTime(Math.min(this.time, Math.max(this.duration - 1e-4, 0)));
    this.updateLimbs();
    this.hooks.onTime?.(this.time, this.duration);
  }

  /** Seconds since the last call (the animation clock). */
  elapsed() {
    const now = performance.now();
    const seconds = (now - this.lastTick) / 1000;
    this.lastTick = now;
    return seconds;
  }

  /** `+` and `-` zoom towards and away from the orbit's centre, as the mouse wheel does. */
  zoomKey(event) {
    // With Ctrl, Cmd or Alt the keys belong to the browser (page zoom).
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const factor = { '+': 0.85, '=': 0.85, '-': 1 / 0.85, _: 1 / 0.85 }[event.key];
    if (!factor) return;
    event.preventDefault();
    const offset = this.camera.position.clone().sub(this.controls.target).multiplyScalar(factor);
    this.camera.position.copy(this.controls.target).add(offset);
    this.controls.update();
  }

  tick() {
    this.frame = requestAnimationFrame(() => this.tick());
    const dt = this.elapsed();
    if (this.playing && this.mixer) {
      let t = this.time + dt * this.speed;
      if (t >= this.duration) {
        if (this.loop && this.duration > 0) {
          t %= this.duration;
        } else {
          t = this.duration;
          this.pause();
        }
      }
      this.setTime(t);
    }
    this.controls.update();
    this.renderer.render(this.scene, this.camera);
  }

  clearFigure() {
    if (this.figure) this.scene.remove(this.figure);
    if (this.skeletonLines) {
      this.scene.remove(this.skeletonLines);
      this.skeletonLines.dispose();
    }
    this.cylinder?.dispose();
    this.sphere?.dispose();
    this.materials?.forEach((m) => m.dispose());
    this.mixer?.stopAllAction();
    this.figure = null;
    this.skeletonLines = null;
    this.mixer = null;
    this.limbs = [];
    this.joints = [];
  }

  dispose() {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.clearFigure();
    this.controls.dispose();
    this.grid.geometry.dispose();
    this.grid.material.dispose();
    this.renderer.dispose();
    // Without this the context lives on until garbage collection, and after a few motion pages
    // the browser drops the oldest live one (Chrome keeps 16 per page).
    this.renderer.forceContextLoss();
    this.renderer.domElement.remove();
  }
}
