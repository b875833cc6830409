"""mnistlib: the helper package of the MNIST notebook series.

Each module serves one lesson: ``data`` (01), ``plots`` (02 onwards), ``preprocess`` and
``inputs`` (03; ``inputs`` is the one input contract every model follows: shapes, dtypes, value
range, labels, outputs), ``scratch`` (04), ``convolution`` (05), ``recipes``, ``networks`` and
``augment`` (06; ``pens``, the ``cnn`` recipe's pen variants, 03 and 07), ``optim``,
``training``, ``saving`` and ``panels`` (07), ``evaluation`` and ``calibration`` (08),
``imageprep``, ``predict``, ``reading``, ``rejection``, ``runtime`` and ``drawpad`` (09);
``config`` holds the seed, the run-profile switch and the project folder (``MNISTLIB_HOME``);
``cli`` is the ``mnistlib`` command. Importing the package is cheap: TensorFlow is imported
only when a model is built or loaded (``mnistlib``, ``data``, ``inputs``, ``preprocess``,
``imageprep``, ``pens`` and ``predict`` never import it).
"""

from mnistlib.config import DEFAULT_SEED, profile, set_seed
from mnistlib.data import MNIST, load_mnist
from mnistlib.errors import MnistlibError

__version__ = "0.1.0"

__all__ = ["DEFAULT_SEED", "MNIST", "MnistlibError", "load_mnist", "profile", "set_seed", "__version__"]
