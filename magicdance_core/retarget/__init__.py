"""Retargeting a take onto another humanoid armature (bpy-free math).

- :mod:`.bone_names`: which of the character's bones plays which SMPL joint (naming schemes of
  Mixamo, Rigify, the SMPL-X add-on, Unreal, CMU and MakeHuman, a fuzzy fallback), presets as JSON.
- :mod:`.solve`: the per-frame bone rotations and root motion of the character from the SMPL
  take: rest poses aligned bone by bone in world space, root motion scaled by leg length, planted
  feet held by a two-bone IK on the legs.

The Blender side (reading the character's rest pose, writing the Action) is
``blender_addon/retarget.py``.
"""
