"""mnistlib: the helper package of the MNIST notebook series.

Each module serves one lesson: ``data`` (01), ``plots`` (02 onwards), ``preprocess`` (03),
``models`` and ``augment`` (04), ``train`` (05), ``evaluate`` (06), ``imageprep`` and
``predict`` (07); ``config`` holds the seed and run-profile switch; ``cli`` is the
``mnistlib`` command. Importing the package is cheap: TensorFlow is imported only
when a model is built or loaded.
"""

from mnistlib.config import DEFAULT_SEED, profile, set_seed
from mnistlib.data import MNIST, load_mnist
from mnistlib.errors import MnistlibError

__version__ = "0.1.0"

__all__ = ["DEFAULT_SEED", "MNIST", "MnistlibError", "load_mnist", "profile", "set_seed", "__version__"]
