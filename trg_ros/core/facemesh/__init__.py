"""The bundled FaceMesh estimator: landmarks from MediaPipe's FaceMesh v2, metric pose from
the canonical face."""
