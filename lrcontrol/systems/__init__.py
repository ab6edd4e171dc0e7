"""Learning systems: each module owns its dynamics and its known closed forms."""

from ._base import AbstractContinuousSystem as AbstractContinuousSystem
from ._base import AbstractDiscreteSystem as AbstractDiscreteSystem
from ._base import AbstractSystem as AbstractSystem
from .fsl import FSL as FSL
from ._law import AbstractLossCurveLaw as AbstractLossCurveLaw
from .last_iterate import LastIterateBound as LastIterateBound
from .law_schedule import LawSchedule as LawSchedule
from .mlp import MLP as MLP
from .perceptron import LinearPerceptron as LinearPerceptron
from .quadratic import Quadratic as Quadratic
from .random_features import RandomFeatures as RandomFeatures
from .random_features_batch import RandomFeaturesBatch as RandomFeaturesBatch
from .random_features_momentum import RandomFeaturesMomentum as RandomFeaturesMomentum
from .mpl import MultiPowerLaw as MultiPowerLaw
from .teacher_student import TeacherStudent as TeacherStudent

# The other loss-curve laws (issue 16), where their modules import cleanly.
_other_laws = []
try:
    from .bound_law import BoundLaw as BoundLaw
    from .fsl_law import FSLLaw as FSLLaw
    from .momentum_law import MomentumLaw as MomentumLaw

    _other_laws = ["BoundLaw", "FSLLaw", "MomentumLaw"]
except ImportError:  # pragma: no cover
    pass

__all__ = ["AbstractSystem", "AbstractContinuousSystem", "AbstractDiscreteSystem", "FSL", "LinearPerceptron",
           "LastIterateBound", "MLP", "RandomFeatures", "RandomFeaturesBatch", "RandomFeaturesMomentum",
           "Quadratic", "TeacherStudent", "AbstractLossCurveLaw", "LawSchedule", "MultiPowerLaw", *_other_laws]
