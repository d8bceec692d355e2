"""The built-in learners. Named by the `nevis.learners` entry point, exactly as a plug-in would be."""
from nevis.learners import dynamic_knn, finetuning, icl, knn, linear, pretrained  # noqa: F401  (importing registers them)
