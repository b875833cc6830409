"""Every figure of the course, one call each, in one style (notebooks 02-09).

Each function takes data (arrays, lists, dicts, DataFrames, Keras models), never loads any,
draws a new figure (or into ``ax=`` where one axes makes sense) and returns the matplotlib
``Figure``; none calls ``plt.show()``. The style lives in :data:`STYLE` and is applied only while
a figure is drawn; without a display (and outside Jupyter) matplotlib's Agg backend is used.
:func:`save_fig` writes ``figures/NN_name.png``.

* 02_visualize: :func:`sample_grid`, :func:`class_examples`, :func:`class_distribution`,
  :func:`pixel_histogram`, :func:`mean_images`, :func:`ink_frequency`
* 03_preprocess: :func:`before_after_scaling`, :func:`augmentation_preview`
* 04_from_scratch: :func:`nearest_mean_demo`, :func:`lr_sweep`, :func:`scratch_training`, :func:`weight_images`
* 05_convolution: :func:`hand_kernels`, :func:`padding_stride_pooling`, :func:`receptive_field`, :func:`param_shares`
* 07_train: :func:`learning_curves`, :func:`learning_rate_schedules`, :func:`cv_boxplot`,
  :func:`recipe_comparison`
* 08_evaluate: :func:`confusion_heatmap`, :func:`precision_recall_bars`, :func:`misclassified_gallery`,
  :func:`prediction_grid`, :func:`conv_filters`, :func:`feature_maps`
* 09_predict: :func:`probability_bars`, :func:`pipeline_steps`, :func:`number_reading`
"""

from mnistlib.config import FIGURES_DIR
from mnistlib.plots._style import STYLE, save_fig
from mnistlib.plots.cnn import conv_filters, feature_maps
from mnistlib.plots.convolution import hand_kernels, padding_stride_pooling, param_shares, receptive_field
from mnistlib.plots.evaluate import confusion_heatmap, misclassified_gallery, precision_recall_bars, prediction_grid
from mnistlib.plots.predict import number_reading, pipeline_steps, probability_bars
from mnistlib.plots.scratch import lr_sweep, nearest_mean_demo, scratch_training, weight_images
from mnistlib.plots.preprocess import augmentation_preview, before_after_scaling
from mnistlib.plots.train import cv_boxplot, learning_curves, learning_rate_schedules, recipe_comparison
from mnistlib.plots.visualize import (
    class_distribution, class_examples, ink_frequency, mean_images, pixel_histogram, sample_grid,
)

__all__ = [
    "FIGURES_DIR", "STYLE", "save_fig",
    "sample_grid", "class_examples", "class_distribution", "pixel_histogram", "mean_images", "ink_frequency",
    "before_after_scaling", "augmentation_preview",
    "nearest_mean_demo", "lr_sweep", "scratch_training", "weight_images",
    "hand_kernels", "padding_stride_pooling", "receptive_field", "param_shares",
    "learning_curves", "learning_rate_schedules", "cv_boxplot", "recipe_comparison",
    "confusion_heatmap", "precision_recall_bars", "misclassified_gallery", "prediction_grid",
    "conv_filters", "feature_maps",
    "probability_bars", "pipeline_steps", "number_reading",
]
