"""Learning systems: each module owns its dynamics and its known closed forms."""

from ._base import AbstractContinuousSystem as AbstractContinuousSystem
from ._base import AbstractDiscreteSystem as AbstractDiscreteSystem
from ._base import AbstractSystem as AbstractSystem
from .mlp import MLP as MLP
from .perceptron import LinearPerceptron as LinearPerceptron
from .random_features import RandomFeatures as RandomFeatures
from .teacher_student import TeacherStudent as TeacherStudent

__all__ = ["AbstractSystem", "AbstractContinuousSystem", "AbstractDiscreteSystem", "LinearPerceptron",
           "MLP", "RandomFeatures", "TeacherStudent"]
