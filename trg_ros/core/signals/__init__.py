"""Driver-monitoring signals per face: eyes, blinks, PERCLOS, gaze, yawns and attention.

From FaceMesh v2's 478 points (``Head.face_landmarks``) and MediaPipe's blendshape network:
:mod:`.blendshapes` (the network), :mod:`.geometry` (one frame: aspect ratios, gaze, validity),
:mod:`.state` (per track over time: the event rules), :mod:`.stage` (the pipeline stage).
"""
