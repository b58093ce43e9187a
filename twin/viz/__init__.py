"""Seeing a twin: videos along a camera path, KPI reports with plots, and viewers."""
