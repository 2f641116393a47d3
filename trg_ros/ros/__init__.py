"""The thin ROS 2 layer: the node, message conversions, parameters."""
