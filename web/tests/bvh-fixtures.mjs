// Synthetic BVH clips for the tests: a small skeleton posed as a test needs (lying down,
// crouched, standing), in motiond's own convention (contract §9.4: Y up, centimetres).

/**
 * A BVH of a 1.6 m person in centimetres, Y up, facing +Z: Hips, Spine, Neck, Head and two legs
 * down to the toes. Each frame is `{ hips: [x, y, z], tilt, roll, knees }`: `tilt` turns the
 * whole body about X (90: lying face down along +Z), `roll` about Z (90: lying along -X),
 * `knees` bends both knees (degrees).
 */
export function syntheticBvh(frames, frameTime = 1 / 30) {
  const leg = (side, x) => `
  JOINT ${side}UpLeg
  {
    OFFSET ${x} 0 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT ${side}Leg
    {
      OFFSET 0 -45 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT ${side}Foot
      {
        OFFSET 0 -45 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        JOINT ${side}ToeBase
        {
          OFFSET 0 -5 12
          CHANNELS 3 Zrotation Yrotation Xrotation
          End Site
          {
            OFFSET 0 0 5
          }
        }
      }
    }
  }`;
  const hierarchy = `HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Spine
  {
    OFFSET 0 20 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Neck
    {
      OFFSET 0 25 0
      CHANNELS 3 Zrotation Yrotation Xrotation
      JOINT Head
      {
        OFFSET 0 15 0
        CHANNELS 3 Zrotation Yrotation Xrotation
        End Site
        {
          OFFSET 0 12 0
        }
      }
    }
  }${leg('Left', 10)}${leg('Right', -10)}
}`;
  const lines = frames.map(({ hips, tilt = 0, roll = 0, knees = 0 }) => {
    // Thighs forward, shins back, feet level again: a crouch with the feet flat.
    const legPose = [0, 0, -knees / 2, 0, 0, knees, 0, 0, -knees / 2, 0, 0, 0];
    return [...hips, roll, 0, tilt, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...legPose, ...legPose].join(' ');
  });
  return `${hierarchy}\nMOTION\nFrames: ${frames.length}\nFrame Time: ${frameTime}\n${lines.join('\n')}\n`;
}

export const STANDING = Object.freeze({ hips: [0, 95, 0] });
export const LYING = Object.freeze({ hips: [0, 12, 0], tilt: 90 });

/** Push-ups seen from the side: level from the first frame to the last, the hips going up and down. */
export function pushUps(frames = 40, { roll = 0, tilt = 85 } = {}) {
  return syntheticBvh(Array.from({ length: frames }, (_, i) => ({ hips: [0, 12 + 8 * Math.sin(i / 4), 0], tilt, roll })));
}
