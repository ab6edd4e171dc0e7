"""Learning systems: each module owns its dynamics and its known closed forms."""

from ._base import AbstractContinuousSystem as AbstractContinuousSystem
from ._base import AbstractDiscreteSystem as AbstractDiscreteSystem
from ._base import AbstractSystem as AbstractSystem
from .fsl import FSL as FSL
from .last_iterate import LastIterateBound as LastIterateBound
from .mlp import MLP as MLP
from .perceptron import LinearPerceptron as LinearPerceptron
from .quadratic import Quadratic as Quadratic
from .random_features import RandomFeatures as RandomFeatures
from .random_features_batch import RandomFeaturesBatch as RandomFeaturesBatch
from .random_features_momentum import RandomFeaturesMomentum as RandomFeaturesMomentum
from .teacher_student import TeacherStudent as TeacherStudent

__all__ = ["AbstractSystem", "AbstractContinuousSystem", "AbstractDiscreteSystem", "FSL", "LinearPerceptron",
           "LastIterateBound", "MLP", "RandomFeatures", "RandomFeaturesBatch", "RandomFeaturesMomentum",
           "Quadratic", "TeacherStudent"]
