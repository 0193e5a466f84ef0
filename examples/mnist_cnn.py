"""The Keras 3 MNIST CNN from the seed post, with only the import changed.

Run:  python examples/mnist_cnn.py            (downloads MNIST once, to ~/.kusari/datasets)
      python examples/mnist_cnn.py --quick    (a few steps on the bundled digits, no network: used by the tests)
"""
import os
import sys

os.environ["KERAS_BACKEND"] = "numpy"

import kusari as keras  # the only line that differs from the Keras script
from kusari.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D

QUICK = "--quick" in sys.argv

if QUICK:
    import numpy as np
    (train_images, train_labels), (test_images, test_labels) = keras.datasets.digits.load_data()
    # upsample the 8x8 digits to 28x28 so the seed's architecture applies unchanged
    idx = np.arange(28) * 8 // 28
    train_images = train_images[:, idx][:, :, idx][:256] * 16
    test_images = test_images[:, idx][:, :, idx][:128] * 16
    train_labels, test_labels = train_labels[:256], test_labels[:128]
else:
    (train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()

# パラメータ (parameters)
classes = 10
batch_size = len(train_images) // 16
epochs = 2 if QUICK else 20

# 簡単なモデルを作成 (a simple model)
model = keras.Sequential(
    [
        Input(shape=(28, 28, 1)),
        Conv2D(32, (3, 3), activation="relu"),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation="relu"),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation="relu"),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(classes, activation="softmax"),
    ]
)

# 前処理 (preprocessing)
train_images = train_images / 255.0
test_images = test_images / 255.0
train_labels = keras.utils.to_categorical(train_labels, classes)
test_labels = keras.utils.to_categorical(test_labels, classes)

model.compile(
    optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"]
)

# 学習開始 (train)
model.fit(train_images, train_labels, epochs=epochs, batch_size=batch_size)

# 結果をもとに評価 (evaluate)
test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print("Test accuracy:", test_acc)
