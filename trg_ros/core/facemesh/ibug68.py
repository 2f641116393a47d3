"""The 68 iBUG / 300-W landmarks as vertices of MediaPipe's 468-vertex canonical face mesh.

``FACEMESH_TO_IBUG68[j]`` is the FaceMesh vertex standing for iBUG point ``j`` (0-based), so
``landmarks[FACEMESH_TO_IBUG68]`` turns (468 or 478, k) FaceMesh output into (68, k) iBUG points.
"Right" and "left" are the subject's; the canonical frame has x toward the subject's left.

The indices were derived from the canonical mesh (vertices and triangles of the bundle's
geometry metadata) by the rules below, then frozen; ``test/unit/test_facemesh_ibug68.py``
re-derives them with these rules and checks the iBUG structure. Anchors are vertices whose
meaning MediaPipe's topology fixes: chin 152, nose tip 4 (most forward), sellion 168, upper-lip
top 0, eye corners 33/133 (right outer/inner) and 263/362 (left), mouth corners 61/291, inner
mouth corners 78/308, alar creases 129/358. "Arc fraction" picks the path vertex nearest that
fraction of the path's length; paths are shortest paths along mesh edges.

- Jaw 0-16: the mesh's only open boundary is the 36-vertex face oval. From the chin (8 = 152)
  it is walked both ways up to the oval vertex at the height of the outer eye corners (127 on
  the right, 356 on the left) and sampled at eighths of arc length: 0 = right ear end.
- Brows 17-26: the upper brow edge is the 4th ring of vertices (edge hops) around each eye's
  lid margins; its five highest vertices off the midline, by x: 17-21 right brow outer to
  inner, 22-26 left brow inner to outer.
- Nose 27-35: 27-30 the midline from the sellion (27) to the nose tip (30) at thirds of arc
  length. 33 the subnasale: the sharpest concave bend of the midline profile between the nose
  tip and the upper lip (vertex 2). 31-32 and 34-35: the shortest paths from the subnasale to
  the alar creases, without the crease vertex, right to left.
- Eyes 36-47: each lid margin is the shortest path between the eye corners through vertices
  above (upper lid) or below (lower lid) the corner line. Right eye 36 outer corner, 37-38 upper
  lid at 1/3 and 2/3 from the outer corner, 39 inner corner, 40-41 lower lid back outward; left
  eye 42 inner corner, 43-44 upper lid outward, 45 outer corner, 46-47 lower lid back inward
  (clockwise on the image for a face looking at the camera, as in iBUG).
- Outer lips 48-59: the outer lip contour is the 3rd vertex ring around the inner lip contour
  (the lip is four rings deep), split at the mouth corners 48 = 61 and 54 = 291. 51 and 57 the
  midline vertices of its upper and lower halves; 50/52 the cupid's bow peaks (highest upper
  vertex each side), 49/53 at half arc between corner and peak; 55-56 and 58-59 at thirds of
  the lower half's arc from each corner to the midline.
- Inner lips 60-67: the inner contour is the shortest paths between the inner corners 60 = 78
  and 64 = 308 above and below them; 62/66 its midline vertices, 61/63/65/67 at half arc
  between a corner and the midline.

iBUG mirror pairs map to mirror vertices exactly (the canonical mesh is symmetric in x).
"""

from __future__ import annotations

import numpy as np

FACEMESH_TO_IBUG68 = np.array(
    [
        # jaw 0-16, right ear -> chin (8) -> left ear
        *(127, 234, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 454, 356),
        *(70, 63, 105, 66, 107),  # right brow 17-21, outer -> inner
        *(336, 296, 334, 293, 300),  # left brow 22-26, inner -> outer
        *(168, 197, 195, 4),  # nose bridge 27-30, sellion -> tip
        *(98, 97, 2, 326, 327),  # nostrils 31-35, right -> left, 33 subnasale
        *(33, 160, 158, 133, 153, 144),  # right eye 36-41
        *(362, 385, 387, 263, 373, 380),  # left eye 42-47
        *(61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91),  # outer lips 48-59
        *(78, 81, 13, 311, 308, 402, 14, 178),  # inner lips 60-67
    ]
)
"""(68,) int: the FaceMesh vertex of each iBUG point, derived as the module docstring says."""
FACEMESH_TO_IBUG68.flags.writeable = False
