"""The networks of the course, written with Keras layers (notebook 06_build_models).

Every builder has the same form, ``builder(x, **options) -> outputs``: it takes the input
tensor (``(N, 28, 28, 1)`` images, possibly already augmented) and returns the output tensor of
:data:`~mnistlib.inputs.NUM_CLASSES` probabilities. :func:`mnistlib.recipes.build_model` adds the
``keras.Input``, the recipe's augmentation, and compiles; a recipe names a builder and its
options, so a new network is one function here and one :class:`~mnistlib.recipes.Recipe`.

From the tutorials this course replaces: :func:`tutorial_dense` and :func:`tutorial_cnn` (with
``dropout=0.5`` it is the Keras "simple MNIST convnet", the speed reference). This course's own: :func:`dense`
(a dense network with BatchNorm and dropout) and :func:`convnet` (``cnn_fast`` and ``cnn``).
"""

from __future__ import annotations

from mnistlib.config import keras as _keras
from mnistlib.inputs import NUM_CLASSES

keras = _keras()
layers = keras.layers


def classifier(x, activation: str = "softmax"):
    """The output layer: one unit per digit (softmax probabilities, or independent sigmoids); float32 even in a
    mixed-precision network, so the probabilities keep their precision."""
    return layers.Dense(NUM_CLASSES, activation=activation, name="probabilities", dtype="float32")(x)


def _tutorial_convs(x):
    """Conv32 -> MaxPool -> Conv64 -> MaxPool -> Flatten: the trunk the tutorial CNNs share."""
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    return layers.Flatten()(x)


def tutorial_dense(x, units: int = 128, depth: int = 2, output: str = "softmax"):
    """Flatten, ``depth`` x Dense(``units``, ReLU), then the output layer (``"softmax"`` or ``"sigmoid"``;
    a sigmoid output is trained one-vs-rest: the recipe's ``loss="one_vs_rest"``)."""
    x = layers.Flatten()(x)
    for _ in range(depth):
        x = layers.Dense(units, activation="relu")(x)
    return classifier(x, output)


def tutorial_cnn(x, convs: int = 2, dense_units: int = 0, dropout: float = 0.0):
    """The tutorial CNNs: ``convs == 1``: Conv32 (He init)-Pool, Flatten, Dense(``dense_units``, He init);
    ``convs == 2``: the Conv32-Pool-Conv64-Pool trunk, then Dense(``dense_units``) and/or Dropout."""
    if convs == 1:
        x = layers.Conv2D(32, 3, activation="relu", kernel_initializer="he_uniform")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
        init = "he_uniform"
    else:
        x = _tutorial_convs(x)
        init = "glorot_uniform"
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", kernel_initializer=init)(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return classifier(x)


def dense_bn_relu(x, units: int, momentum: float = 0.99):
    """Dense without bias -> BatchNorm -> ReLU (the BatchNorm shift replaces the bias)."""
    x = layers.Dense(units, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=momentum)(x)
    return layers.Activation("relu")(x)


def dense(x, units: int = 512, depth: int = 2, dropout: float = 0.2):
    """Flatten, ``depth`` x (Dense-BatchNorm-ReLU, Dropout), softmax: the course's dense network."""
    x = layers.Flatten()(x)
    for _ in range(depth):
        x = layers.Dropout(dropout)(dense_bn_relu(x, units))
    return classifier(x)


def conv_block(x, filters: int, kernel: int = 3, batch_norm: bool = False, momentum: float = 0.9, stride: int = 1,
               padding: str = "same", trainable: bool = True, name: str | None = None):
    """Conv -> [BatchNorm] -> ReLU -> MaxPool 2x2 (BatchNorm on conv maps is slow on a CPU). ``stride=2``: the
    convolution itself halves the map (a quarter of the multiplications) and there is no pooling.
    ``padding="valid"``: no zeros around the map, so a k x k kernel shrinks it by k - 1 (LeNet's way: fewer
    multiplications in the next layer). ``trainable=False``: the convolution keeps the filters it is given.
    ``name``: the convolution's layer name."""
    if batch_norm:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False, trainable=trainable,
                          name=name)(x)
        x = layers.BatchNormalization(momentum=momentum)(x)
        x = layers.Activation("relu")(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=stride, padding=padding, activation="relu", trainable=trainable,
                          name=name)(x)
    return x if stride > 1 else layers.MaxPooling2D(2)(x)


def convnet(x, widths=(32, 64), kernel: int = 3, dense_units: int = 128, dropout: float = 0.0,
            conv_batch_norm: bool = False, momentum: float = 0.9, strides=None, padding: str = "same",
            pca_first: bool = False):
    """One :func:`conv_block` per width (``strides``: one per width, default all 1), Flatten, Dense-BatchNorm-ReLU,
    [Dropout], softmax (``cnn_fast``, ``cnn``).

    ``pca_first``: the first convolution (layer ``"pca_filters"``) is not trained. Its filters are set from the
    training images (:func:`mnistlib.convolution.pca_filters`, by :func:`mnistlib.recipes.build_model`) and stay
    fixed, so training computes no gradient for them, and, since nothing before the second convolution learns,
    none for that convolution's input either: two of the five big convolution passes of a training step are gone.
    """
    for i, (width, stride) in enumerate(zip(widths, strides or (1,) * len(widths), strict=True)):
        fixed = pca_first and i == 0
        x = conv_block(x, width, kernel, conv_batch_norm, momentum, stride, padding, trainable=not fixed,
                       name="pca_filters" if fixed else None)
    x = dense_bn_relu(layers.Flatten()(x), dense_units, momentum)
    if dropout:
        x = layers.Dropout(dropout)(x)
    return classifier(x)


__all__ = ["classifier", "conv_block", "convnet", "dense", "dense_bn_relu", "tutorial_cnn",
           "tutorial_dense"]
