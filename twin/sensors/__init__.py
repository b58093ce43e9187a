"""Sensors: cameras (RGB, depth, segmentation), point clouds and the perception built on them."""
