"""The built-in learners. Named by the `nevis.learners` entry point, exactly as a plug-in would be.

Declared, not imported: each module (and JAX) is imported when one of its learners is used, so that
listing them (`nevis learners`) is fast. Each declaration names the class its module registers.
"""
from nevis.registry import declare_learner

declare_learner("dynamic_knn", "nevis.learners.dynamic_knn:DynamicKnnLearner")
declare_learner("icl", "nevis.learners.icl:IclLearner")
declare_learner("independent", "nevis.learners.finetuning:IndependentLearner")
declare_learner("knn", "nevis.learners.knn:KnnLearner")
declare_learner("linear", "nevis.learners.linear:LinearLearner")
declare_learner("pretrained", "nevis.learners.pretrained:PretrainedLearner")
declare_learner("previous", "nevis.learners.finetuning:PreviousLearner")
