"""Writes onecycle-pytorch.json: what PyTorch's OneCycleLR, SGD (Nesterov) and AdamW do, step by step.

Run once with a real PyTorch (Debian's python3-torch 1.13 was used):
    /usr/bin/python3 make-onecycle-fixture.py > onecycle-pytorch.json
Everything is float64 so that the C# side can be compared to ~1e-12.
"""
import json
import torch

torch.set_default_dtype(torch.float64)


def schedule(total, pct, optimizer_name):
    w = torch.nn.Parameter(torch.zeros(1))
    opt = (torch.optim.SGD([w], lr=0.2, momentum=0.9, nesterov=True) if optimizer_name == "sgd"
           else torch.optim.AdamW([w], lr=0.2, betas=(0.9, 0.999)))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=total, pct_start=pct)
    lrs, moms = [], []
    for _ in range(total):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"] if optimizer_name == "sgd" else g["betas"][0])
        opt.step()
        sched.step()
    return {"total": total, "pctStart": pct, "optimizer": optimizer_name, "lr": lrs, "momentum": moms}


def training(optimizer_name, steps, clip):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, generator=g)
    y = torch.randn(16, 2, generator=g)
    w0 = torch.randn(3, 2, generator=g)
    w = torch.nn.Parameter(w0.clone())
    if optimizer_name == "sgd":
        opt = torch.optim.SGD([w], lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4)
    else:
        opt = torch.optim.AdamW([w], lr=0.2, betas=(0.9, 0.99), weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=steps, pct_start=0.2)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([w], clip)
        opt.step()
        sched.step()
    return {"optimizer": optimizer_name, "steps": steps, "clip": clip, "x": x.tolist(), "y": y.tolist(),
            "w0": w0.tolist(), "w": w.detach().tolist()}


print(json.dumps({
    "torch": torch.__version__,
    "schedules": [schedule(50, 0.2, "sgd"), schedule(7, 0.3, "sgd"), schedule(40, 0.25, "adamw")],
    "training": [training("sgd", 20, None), training("sgd", 20, 0.5), training("adamw", 20, None)],
}, indent=1))
