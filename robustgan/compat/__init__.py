"""Fronts that let code written for other libraries run on robustgan by changing one import."""
