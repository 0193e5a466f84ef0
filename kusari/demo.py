"""``python -m kusari demo``: the seed's MNIST CNN shape trained on the bundled 8x8 digits, offline.

Conv 32 -> pool -> Conv 64 -> pool -> Dense, ``padding="same"`` so it fits 8x8 images; a progress bar, the test
accuracy, the saved model, and a training-curve PNG when matplotlib is installed.
"""
import os
import time


def build_model(num_classes=10):
    import kusari
    from kusari import layers
    return kusari.Sequential([
        kusari.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, (3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="digits_cnn")


def load_digits():
    import kusari
    (x_train, y_train), (x_test, y_test) = kusari.datasets.digits.load_data()
    x_train = (x_train / 16.0).astype("float32")[..., None]
    x_test = (x_test / 16.0).astype("float32")[..., None]
    return (x_train, kusari.utils.to_categorical(y_train, 10)), (x_test, kusari.utils.to_categorical(y_test, 10))


def run(epochs=None, quick=False, out="kusari_demo", seed=0, verbose=1):
    """Train, evaluate, save; returns ``(test_accuracy, history)``."""
    import kusari
    kusari.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load_digits()
    if quick:
        x_train, y_train = x_train[:256], y_train[:256]
    epochs = epochs if epochs is not None else (2 if quick else 15)
    model = build_model()
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f}, {epochs} epochs in {seconds:.1f} s)")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "digits_cnn.kusari")
    model.save(path)
    print(f"Saved the model to {path}")
    _plot(history, os.path.join(out, "training_curve.png"))
    return accuracy, history


def _plot(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a training-curve PNG: pip install 'kusari[viz]')")
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(history.history[key], label=f"train {key}")
        if f"val_{key}" in history.history:
            ax.plot(history.history[f"val_{key}"], label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"Wrote the training curve to {path}")
