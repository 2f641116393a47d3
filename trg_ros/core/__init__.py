"""ROS-free core: model, camera geometry, detection, tracking and the pipeline."""
