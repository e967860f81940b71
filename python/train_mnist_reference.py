"""The default `vqvae train` run, in PyTorch: the same reference model (DESIGN §4, the `mnist` preset
of vqvae_torch.py: PyTorch's default conv initialisation, which is ours, and the codebook
U(−1/K, 1/K), then by default set by k-means on the encoder's outputs for the first batch, as our
CLI does: k-means++ seeding and 10 Lloyd steps), the same data (the repo's built-in MNIST: 8,000 training digits in
data/mnist/train-*.gz, 2,000 held out in data/mnist/t10k-*.gz), the same optimiser (Adam, lr 1e-3,
betas 0.9/0.999, eps 1e-8), batch 64 reshuffled each epoch with the last partial batch dropped,
600 steps, and by default the same dead-code restart as our trainer (every 20 steps, each code
chosen by fewer rows over the last epoch's steps, 125 here, than a tenth of an even share of them,
rows / K, is moved onto a random encoder output of the current batch, computed after that step's
update; DeadCodePolicy.Default). Then it prints the held-out figures of
`vqvae eval` over all 2,000 digits: MSE, MSE / variance, PSNR, perplexity, codes used.

    /usr/bin/python3 python/train_mnist_reference.py [--steps 600] [--seed 0] [--threads 2] [--no-kmeans-init]
                                                     [--no-dead-code-restart] [--json]

Needs only torch (Debian's python3-torch 1.13) and the standard library. The shuffling and the
initial weights come from torch's generator, not ours, so runs agree in distribution, not bitwise.

Speed: Debian's torch runs ConvTranspose2d and plain matmuls on the reference (Netlib) BLAS, about
0.8 s a step on two cores. By default this script sends those two paths to oneDNN instead, as
../shared/bench/torch_vqvae_onednn.py does (the transposed convolution as oneDNN's backward-data of
the adjoint convolution; the nearest-code distances through mkldnn_linear): the same arithmetic
up to rounding, ~10x faster. `--stock` keeps PyTorch's own paths.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vqvae_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _ConvTransposeOneDnn(torch.autograd.Function):
    """conv_transpose2d(x, w) + b through oneDNN: forward = backward-data of the adjoint conv2d,
    backward = conv2d forward (grad x) and backward-weights (grad w)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, out_hw):
        like = x.new_empty(1).expand(x.shape[0], w.shape[1], out_hw[0], out_hw[1])
        y = torch.ops.aten.convolution_backward(x, like, w, None, [stride] * 2, [padding] * 2, [1, 1],
                                                False, [0], 1, (True, False, False))[0]
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.padding = stride, padding
        return y + b.view(1, -1, 1, 1)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        gy = gy.contiguous()
        gx = torch.nn.functional.conv2d(gy, w, None, ctx.stride, ctx.padding)
        gw = torch.ops.aten.convolution_backward(x, gy, w, None, [ctx.stride] * 2, [ctx.padding] * 2,
                                                 [1, 1], False, [0], 1, (False, True, False))[1]
        return gx, gw, gy.sum(dim=(0, 2, 3)), None, None, None


class ConvTransposeOneDnn(torch.nn.ConvTranspose2d):
    """nn.ConvTranspose2d (same parameters and state_dict names) computed by _ConvTransposeOneDnn."""

    def forward(self, x):
        s, p, k = self.stride[0], self.padding[0], self.kernel_size[0]
        out_hw = ((x.shape[2] - 1) * s - 2 * p + k, (x.shape[3] - 1) * s - 2 * p + k)
        return _ConvTransposeOneDnn.apply(x, self.weight, self.bias, s, p, out_hw)


def nearest_codes_onednn(rows, codebook):
    """argmin_k ‖row − e_k‖² (ties → lowest index), the dot products by oneDNN; no gradient flows through it."""
    with torch.no_grad():
        dot = torch._C._nn.mkldnn_linear(rows.detach().contiguous().to_mkldnn(),
                                         codebook.detach().contiguous().to_mkldnn(), None).to_dense()
        return ((rows.detach() ** 2).sum(1, keepdim=True) + (codebook.detach() ** 2).sum(1) - 2 * dot).argmin(1)


def quantize(model, z_e, nearest):
    """VectorQuantizer.forward of vqvae_torch with a chosen nearest-code search:
    (decoder input, codes [B, H, W], codebook loss, commitment loss)."""
    B, D, H, W = z_e.shape
    rows = z_e.permute(0, 2, 3, 1).reshape(-1, D)
    e = model.vq.embedding.weight
    codes = nearest(rows, e)
    z_q = e[codes].reshape(B, H, W, D).permute(0, 3, 1, 2)
    codebook = ((z_q - z_e.detach()) ** 2).mean()
    commitment = ((z_e - z_q.detach()) ** 2).mean()
    return z_e + (z_q - z_e).detach(), codes.reshape(B, H, W), codebook, commitment


def nearest_codes_stock(rows, codebook):
    with torch.no_grad():
        return ((rows ** 2).sum(1, keepdim=True) + (codebook ** 2).sum(1) - 2 * rows @ codebook.t()).argmin(1)


def use_onednn(model):
    """Swaps the decoder's transposed convolutions for oneDNN ones, keeping their weights."""
    for i, layer in enumerate(model.decoder):
        if isinstance(layer, torch.nn.ConvTranspose2d):
            new = ConvTransposeOneDnn(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
            new.load_state_dict(layer.state_dict())
            model.decoder[i] = new


def read_idx_images(path):
    """[N, 1, H, W] float32 pixels in [0, 1] from an IDX3 file (gzipped)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    if magic != 0x803:
        raise ValueError(f"{path}: magic {magic:#x}, expected 0x803 (IDX3 unsigned bytes)")
    pixels = torch.frombuffer(bytearray(data[16:16 + n * h * w]), dtype=torch.uint8)
    return pixels.reshape(n, 1, h, w).float() / 255.0


def evaluate(model, x, nearest, batch=250):
    """The figures of our Evaluator over the whole set (sums over all pixels and positions, not batch means)."""
    K = model.config["codebook"]
    counts = torch.zeros(K, dtype=torch.float64)
    sq = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            xb = x[i:i + batch]
            dec_in, codes, _, _ = quantize(model, model.encoder(xb), nearest)
            x_hat = model.decoder(dec_in)
            sq += ((x_hat.double() - xb.double()) ** 2).sum().item()
            counts += torch.bincount(codes.reshape(-1), minlength=K).double()
    model.train()
    mse = sq / x.numel()
    var = x.double().var(unbiased=False).item()
    p = counts[counts > 0] / counts.sum()
    return {"count": x.shape[0], "mse": mse, "mse_over_var": mse / var, "psnr": 10 * math.log10(1 / mse),
            "perplexity": math.exp(-(p * p.log()).sum().item()), "codes_used": int((counts > 0).sum().item()),
            "codebook_size": K}


def kmeans_init(model, rows, gen, iterations=10):
    """Our CodebookOps.KMeansInit, the CLI's default start: k-means++ seeding (the first centre a uniformly
    drawn row, each next one drawn with probability proportional to its squared distance, in float64, to the
    nearest centre so far), then Lloyd steps in float32; a cluster left without rows keeps its centre."""
    K = model.vq.embedding.weight.shape[0]
    x = rows.double()
    n = x.shape[0]
    pick = torch.randint(n, (1,), generator=gen).item()
    centres = [pick]
    best = ((x - x[pick]) ** 2).sum(1)
    for _ in range(1, K):
        pick = (torch.multinomial(best, 1, generator=gen).item() if best.sum() > 0
                else torch.randint(n, (1,), generator=gen).item())
        centres.append(pick)
        best = torch.minimum(best, ((x - x[pick]) ** 2).sum(1))
    c = rows[centres].clone()
    for _ in range(iterations):
        nearest = nearest_codes_stock(rows, c)
        counts = torch.bincount(nearest, minlength=K)
        sums = torch.zeros_like(c).index_add_(0, nearest, rows)
        c = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None].to(sums.dtype), c)
    with torch.no_grad():
        model.vq.embedding.weight.copy_(c)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-dead-code-restart", action="store_true")
    ap.add_argument("--no-kmeans-init", action="store_true", help="keep the codebook's U(-1/K, 1/K) start")
    ap.add_argument("--stock", action="store_true", help="PyTorch's own ConvTranspose2d and matmul (slow here)")
    ap.add_argument("--metrics", help="also write per-step metrics to this CSV (metrics.csv's first columns)")
    ap.add_argument("--json", action="store_true", help="print the held-out figures as one JSON object only")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    train = read_idx_images(os.path.join(ROOT, "data/mnist/train-images-idx3-ubyte.gz"))
    held = read_idx_images(os.path.join(ROOT, "data/mnist/t10k-images-idx3-ubyte.gz"))
    assert train.shape[0] == 8000 and held.shape[0] == 2000, (train.shape, held.shape)
    model = vqvae_torch.build("mnist")
    nearest = nearest_codes_stock if args.stock else nearest_codes_onednn
    if not args.stock:
        use_onednn(model)
    K = model.config["codebook"]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    per_epoch = train.shape[0] // args.batch
    window = min(args.steps, per_epoch)        # our trainer's usage window: the last epoch's steps
    recent = []                                # per-step code counts over the window
    restarted = 0
    gen = torch.Generator().manual_seed(args.seed + 1)
    t0 = time.time()
    step = 0
    log = open(args.metrics, "w") if args.metrics else None
    if log:
        log.write("step,recon,codebook,commitment,total,perplexity,used_codes,window_used_codes\n")
    order = torch.randperm(train.shape[0], generator=gen)
    if not args.no_kmeans_init:
        # As our trainer: encoder outputs of the first batches until they hold 4·K rows (one batch of 64 × 7×7 here).
        taken = []
        while len(taken) < per_epoch and len(taken) * args.batch * 49 < 4 * K:
            b = len(taken)
            taken.append(train[order[b * args.batch:(b + 1) * args.batch]])
        with torch.no_grad():
            z = model.encoder(torch.cat(taken))
        kmeans_init(model, z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]), gen)
    epoch = 0
    while step < args.steps:
        if epoch > 0:
            order = torch.randperm(train.shape[0], generator=gen)
        epoch += 1
        for b in range(per_epoch):
            if step == args.steps:
                break
            x = train[order[b * args.batch:(b + 1) * args.batch]]
            # The reference loss (DESIGN §4), spelled out to keep the codes the forward pass chose.
            z_e = model.encoder(x)
            dec_in, codes, codebook, commitment = quantize(model, z_e, nearest)
            recon = ((model.decoder(dec_in) - x) ** 2).mean()
            total = recon + codebook + model.config["beta"] * commitment
            opt.zero_grad()
            total.backward()
            opt.step()
            step += 1
            recent.append(torch.bincount(codes.reshape(-1), minlength=K))
            recent = recent[-window:]
            if log:
                p = recent[-1][recent[-1] > 0].double() / codes.numel()
                log.write(f"{step},{recon.item():.7g},{codebook.item():.7g},{commitment.item():.7g},{total.item():.7g},"
                          f"{math.exp(-(p * p.log()).sum().item()):.4f},{(recent[-1] > 0).sum().item()},"
                          f"{(torch.stack(recent).sum(0) > 0).sum().item()}\n")
            if not args.no_dead_code_restart and step % 20 == 0:
                usage = torch.stack(recent).sum(0)
                # DeadCodePolicy.ThresholdFor: fewer than max(1, ceil(0.1 * rows / K)) rows over the window.
                below = max(1, math.ceil(0.1 * usage.sum().item() / K))
                dead = (usage < below).nonzero().reshape(-1)
                if dead.numel() > 0:
                    with torch.no_grad():   # encoder outputs of this batch after the update, as our trainer takes them
                        z = model.encoder(x)
                    rows = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                    pick = torch.randperm(rows.shape[0], generator=gen)[:dead.numel()]
                    if pick.numel() < dead.numel():
                        pick = torch.cat([pick, torch.randint(rows.shape[0], (dead.numel() - pick.numel(),), generator=gen)])
                    with torch.no_grad():
                        model.vq.embedding.weight[dead] = rows[pick]
                    restarted += dead.numel()
            if step % 50 == 0 and not args.json:
                usage = torch.stack(recent).sum(0)
                print(f"step {step:4d}  total {total.item():.4f}  recon {recon.item():.4f}  "
                      f"window codes {(usage > 0).sum().item()}/{K}  {time.time() - t0:.0f} s", flush=True)
    if log:
        log.close()
    report = evaluate(model, held, nearest)
    report["train_seconds"] = round(time.time() - t0, 1)
    report["dead_code_restart"] = not args.no_dead_code_restart
    report["kmeans_init"] = not args.no_kmeans_init
    report["restarted_codes"] = restarted
    report["oneDNN"] = not args.stock
    if args.json:
        print(json.dumps(report))
        return
    print(f"done: {args.steps} steps in {report['train_seconds']} s"
          + (f", {restarted} dead-code restarts" if report["dead_code_restart"] else ", no dead-code restart"))
    print(f"held-out images   {report['count']}")
    print(f"MSE               {report['mse']:.5f}")
    print(f"MSE / variance    {report['mse_over_var']:.4f}")
    print(f"PSNR              {report['psnr']:.2f} dB")
    print(f"perplexity        {report['perplexity']:.1f}")
    print(f"codes used        {report['codes_used']} of {K}")


if __name__ == "__main__":
    main()
