"""Face detection: the FaceDetector protocol and the bundled BlazeFace."""
