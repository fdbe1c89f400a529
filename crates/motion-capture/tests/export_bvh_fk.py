"""Reads a BVH with the independent PyPI `bvh` package and prints every joint's world
position per frame (forward kinematics with R = Rz*Ry*Rx in the file's channel order).

Usage: python export_bvh_fk.py motion.bvh  ->  JSON {"joints": [...], "frames": [[[x,y,z],...],...]}
"""
import json
import math
import sys

from bvh import Bvh


def rot(axis, deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    if axis == "X":
        return [[1, 0, 0], [0, c, -s], [0, s, c]]
    if axis == "Y":
        return [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    return [[c, -s, 0], [s, c, 0], [0, 0, 1]]


def matmul(a, b):
    return [[sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)] for i in range(3)]


def apply(m, v):
    return [sum(m[i][k] * v[k] for k in range(3)) for i in range(3)]


def main():
    with open(sys.argv[1]) as f:
        mocap = Bvh(f.read())
    names = mocap.get_joints_names()
    out = []
    for frame in range(mocap.nframes):
        world_rot, world_pos = {}, {}
        for name in names:
            channels = mocap.joint_channels(name)
            values = mocap.frame_joint_channels(frame, name, channels)
            local = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
            pos = [0.0, 0.0, 0.0]
            for ch, v in zip(channels, values):
                if ch.endswith("rotation"):
                    local = matmul(local, rot(ch[0], v))
                else:
                    pos["XYZ".index(ch[0])] = v
            offset = list(mocap.joint_offset(name))
            parent = mocap.joint_parent(name)
            if parent is None:
                world_pos[name] = [pos[i] + offset[i] for i in range(3)]
                world_rot[name] = local
            else:
                p = parent.name
                world_pos[name] = [a + b for a, b in zip(world_pos[p], apply(world_rot[p], offset))]
                world_rot[name] = matmul(world_rot[p], local)
        out.append([world_pos[n] for n in names])
    print(json.dumps({"joints": names, "frames": out}))


main()
