"""trg_ros: TRG 6-DoF head pose for ROS 2."""

from __future__ import annotations

import pkgutil

# The generated message modules (trg_ros.msg) may live in another copy of this package
# directory, e.g. the venv site-packages when the package itself is installed in editable mode.
__path__ = pkgutil.extend_path(__path__, __name__)
__version__ = "0.2.0"
