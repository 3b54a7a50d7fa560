"""Body: SMPL skeleton, rotations, forward kinematics, motion files."""

from .fk import forward_kinematics, forward_kinematics_matrices
from .motion_file import Motion, load_motion, save_motion
from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, REST_OFFSETS

__all__ = ["JOINT_NAMES", "NUM_JOINTS", "PARENTS", "REST_OFFSETS", "Motion", "load_motion",
           "save_motion", "forward_kinematics", "forward_kinematics_matrices"]
