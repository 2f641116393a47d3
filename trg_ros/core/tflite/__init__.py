"""TFLite models (BlazeFace, FaceMesh): a flatbuffer reader, a converter to PyTorch and the
choice of runtime, shared by every network that comes as a ``.tflite`` file."""
