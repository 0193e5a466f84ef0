"""PyTorch eager with ``torch.optim.Adam`` (default settings: foreach on CPU). Prints one JSON line."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from common import BETA_1, BETA_2, D_MODEL, EPS, FF, HEADS, LR, batches, data, emit, init_weights, now, \
    parse_args  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


class _NHWCFlatten(nn.Module):
    """Flatten NCHW activations in NHWC order so the Dense kernel shared with Keras layouts lines up."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


class _LSTMHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


class _Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True,
                                                                layer_norm_eps=1e-3) for _ in range(2)])
        self.fc = nn.Linear(D_MODEL, 10)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.fc(x.mean(dim=1))


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    if model == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), _NHWCFlatten(), nn.Linear(576, 64),
                             nn.ReLU(), nn.Linear(64, 10))
    if model == "lstm":
        return _LSTMHead()
    return _Transformer()


def load(model, net, weights):
    """Copy the Keras-layout initial weights in (the transformer keeps torch's own initialisation)."""
    if model == "transformer":
        return "torch's own initialisation"
    with torch.no_grad():
        if model == "lstm":
            k, r, b, dk, db = weights
            net.lstm.weight_ih_l0.copy_(torch.from_numpy(k.T.copy()))
            net.lstm.weight_hh_l0.copy_(torch.from_numpy(r.T.copy()))
            net.lstm.bias_ih_l0.copy_(torch.from_numpy(b))
            net.lstm.bias_hh_l0.zero_()
            net.fc.weight.copy_(torch.from_numpy(dk.T.copy()))
            net.fc.bias.copy_(torch.from_numpy(db))
            return ""
        layers = [m for m in net if isinstance(m, (nn.Linear, nn.Conv2d))]
        for layer, (k, b) in zip(layers, zip(weights[::2], weights[1::2])):
            k = k.T if k.ndim == 2 else k.transpose(3, 2, 0, 1)
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(k)))
            layer.bias.copy_(torch.from_numpy(b))
    return ""


def main():
    args = parse_args()
    x, y, source = data(args.model, args.batch, max(args.steps, args.warmup))
    if args.model == "cnn":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    net = build(args.model)
    note = load(args.model, net, init_weights(args.model))
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(BETA_1, BETA_2), eps=EPS)
    loss_fn = nn.CrossEntropyLoss()
    bs = [(torch.from_numpy(xb), torch.from_numpy(yb.astype(np.int64))) for xb, yb in batches(x, y, args.batch)]

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss

    def eval_loss():
        with torch.no_grad():
            return loss_fn(net(bs[0][0]), bs[0][1]).item()

    before = eval_loss()
    t0 = now()
    step(*bs[0]).item()
    first = now() - t0
    for xb, yb in bs[1:args.warmup]:
        step(xb, yb)
    t0 = now()
    for xb, yb in bs[:args.steps]:
        loss = step(xb, yb)
    loss.item()
    elapsed = now() - t0
    emit("torch", args, source=source, first_step_s=first, elapsed_s=elapsed, loss_before=before,
         loss_after=eval_loss(), note=note, threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
