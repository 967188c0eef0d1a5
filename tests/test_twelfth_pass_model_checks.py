"""The twelfth hostile pass (issue 17, /tmp/pass12/A.md 1, 3, 4) on the model checks: a
`keras.layers.Pipeline` hid its augmentation from the pixel-range check, layers that use their
value_range only to clip were refused, and a model of two inputs was told its images did not
fit."""

import keras
import pytest
from keras import layers

from cnn_lesson.errors import SettingsError
from cnn_lesson.training import compile_model, train
from tests.helpers import random_images
from tests.test_ninth_pass_model_checks import _softmax_net

needs_pipeline = pytest.mark.skipif(not hasattr(layers, "Pipeline"),
                                    reason="keras.layers.Pipeline is Keras 3.6's")


@needs_pipeline
@pytest.mark.parametrize("inside, match", [
    (lambda: [layers.RandomFlip("horizontal"), layers.RandomBrightness(0.2)],
     r"'random_brightness\w*' inside 'pipeline\w*' works on pixels from 0 to 255"),
    (lambda: [layers.Resizing(40, 40), layers.Rescaling(1 / 255)],
     r"'rescaling\w*' inside 'pipeline\w*' divides the pixels by about 255"),
], ids=["brightness", "rescaling"])
def test_a_pipelines_layers_are_judged(inside, match):
    """Finding 1: accepted and trained, the brightness step making 0..1 pixels up to 33."""
    with pytest.raises(SettingsError, match=match):
        compile_model(_softmax_net(first=[layers.Pipeline(inside())]))


@needs_pipeline
def test_a_pipeline_for_0_to_1_pixels_is_accepted():
    """A guard: the same pipeline made for the lessons' pixels."""
    compile_model(_softmax_net(first=[layers.Pipeline([
        layers.RandomFlip("horizontal"), layers.RandomBrightness(0.2, value_range=(0, 1))])]))


@pytest.mark.parametrize("make", [lambda: layers.RandomContrast(0.2),
                                  lambda: layers.RandomGaussianBlur(),
                                  lambda: layers.RandomElasticTransform()],
                         ids=["contrast", "gaussian blur", "elastic"])
def test_layers_whose_value_range_only_clips_are_accepted(make):
    """Finding 3: refused ("sized for pixels up to 255"), though on 0..1 pixels their
    default range only clips nothing. A Rescaling after them is still seen."""
    compile_model(_softmax_net(first=[make()]))
    with pytest.raises(SettingsError, match=r"divides the pixels by about 255"):
        compile_model(_softmax_net(first=[make(), layers.Rescaling(1 / 255)]))


def test_a_model_of_two_inputs_is_refused_as_such():
    """Finding 4: accepted by compile_model; train then said it "takes images of shape
    ((None, 4),)" of the CIFAR-10 images it was given."""
    image, extra = keras.Input((32, 32, 3)), keras.Input((4,))
    features = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(image))
    merged = layers.Concatenate()([features, extra])
    model = keras.Model([image, extra], layers.Dense(10, activation="softmax")(merged))
    with pytest.raises(SettingsError, match=r"takes one input, the images; this one takes 2 inputs"):
        compile_model(model)


def test_the_tester_model_with_a_pipeline_for_0_to_1_trains():
    """A guard: training goes on as before for an accepted pipeline."""
    if not hasattr(layers, "Pipeline"):
        pytest.skip("keras.layers.Pipeline is Keras 3.6's")
    images, labels = random_images(32, seed=12)
    model = compile_model(_softmax_net(first=[layers.Pipeline([layers.RandomFlip()])]))
    history = train(model, (images[:24], labels[:24]), (images[24:], labels[24:]), epochs=1,
                    verbose=0)
    assert len(history.history["loss"]) == 1
