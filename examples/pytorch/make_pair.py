"""Two seeded models of one architecture, saved as a torchvision or timm user has them.

    python3 make_pair.py resnet18 a.pth b.pth                      # torch.save(model.state_dict())
    python3 make_pair.py vit_tiny_patch16_224 vit-a vit-b          # timm folders: config.json + pytorch_model.bin
    python3 make_pair.py vit --img-size 32 --patch 4 --dim 96 --depth 3 --heads 3 a.pth b.pth

An output ending in .pth, .pt or .bin is one torch.save file; any other is a folder as timm's
push_to_hub writes it (config.json with architecture, num_classes, model_args, pretrained_cfg;
the weights as pytorch_model.bin, since Debian's PyTorch has no safetensors package to write
model.safetensors). The models are untrained: a merge of them shows the path, not an accuracy.
"""
import argparse
import json
from pathlib import Path

import torch
from torch import nn

import timm_vit
import torchvision_resnet

# What torchvision's and timm's evaluation transforms use for these models (timm's pretrained_cfg).
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], interpolation="bilinear", crop_pct=0.875)
VIT = dict(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5], interpolation="bicubic", crop_pct=0.9)


def add_model_args(parser):
    """The architecture options, shared with load_back.py so it rebuilds the same module."""
    parser.add_argument("arch", choices=[*torchvision_resnet.ARCHS, *timm_vit.ARCHS, "vit"],
                        help="a torchvision ResNet, a timm ViT, or 'vit' for a ViT of the options below only")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--blocks", help="ResNet blocks per stage, e.g. 1,1,1,1 (default: the named model's)")
    parser.add_argument("--block", choices=["basic", "bottleneck"], help="ResNet block (default: the named model's)")
    for name, default in (("img-size", 224), ("patch", 16), ("dim", 192), ("depth", 12), ("heads", 3)):
        parser.add_argument(f"--{name}", type=int, help=f"ViT {name} (default: the named model's, or {default})")
    parser.add_argument("--mlp-ratio", type=float, default=4.0)


def vit_args(args):
    """timm's constructor arguments: the named model's, with the options given on top."""
    given = dict(img_size=args.img_size, patch_size=args.patch, embed_dim=args.dim, depth=args.depth, num_heads=args.heads)
    base = dict(img_size=224, patch_size=16, embed_dim=192, depth=12, num_heads=3)
    base.update(timm_vit.ARCHS.get(args.arch, {}))
    base.update({k: v for k, v in given.items() if v is not None})
    return dict(base, mlp_ratio=args.mlp_ratio, num_classes=args.classes)


def build(args):
    if args.arch.startswith("resnet"):
        blocks = [int(b) for b in args.blocks.split(",")] if args.blocks else None
        return torchvision_resnet.build(args.arch, args.classes, blocks, args.block)
    return timm_vit.VisionTransformer(**vit_args(args))


def as_if_trained(model):
    """Moves what initialisation leaves at 1 and 0 (BatchNorm statistics and affine, LayerNorm
    affine, the class token and position embedding) to values a trained model has, so that a
    tool that drops or mixes one of them gives a different output and the round trip notices."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        for name in ("cls_token", "pos_embed"):
            if getattr(model, name, None) is not None:
                getattr(model, name).normal_(0, 0.1)


def timm_config(args, model):
    """config.json as timm's push_to_hub writes it: the registered architecture name, and under
    model_args the arguments create_model was given beyond it (here: the ViT options given on
    the command line). zipit reads the head count from model_args.num_heads or knows it from the
    name, and its preprocessing from pretrained_cfg."""
    if args.arch.startswith("resnet"):
        size, transform, arch, model_args = 224, IMAGENET, args.arch, {}
    else:
        arch = args.arch if args.arch in timm_vit.ARCHS else "vit_tiny_patch16_224"
        given = dict(img_size=args.img_size, patch_size=args.patch, embed_dim=args.dim, depth=args.depth,
                     num_heads=args.heads, mlp_ratio=args.mlp_ratio if args.mlp_ratio != 4.0 else None)
        model_args = {k: v for k, v in given.items() if v is not None}
        size, transform = vit_args(args)["img_size"], VIT
    return {
        "architecture": arch,
        "num_classes": args.classes,
        "num_features": model.fc.in_features if hasattr(model, "fc") else model.head.in_features,
        **({"model_args": model_args} if model_args else {}),
        "pretrained_cfg": {"input_size": [3, size, size], **transform},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_model_args(parser)
    parser.add_argument("outputs", nargs="+", help="one .pth file or timm folder per model")
    parser.add_argument("--seed", type=int, default=1, help="the first model's seed; the next get seed+1, ...")
    args = parser.parse_args()
    for i, out in enumerate(map(Path, args.outputs)):
        torch.manual_seed(args.seed + i)  # a different initialisation per model, as separately trained ones have
        model = build(args)
        as_if_trained(model)
        if out.suffix in (".pth", ".pt", ".bin"):
            torch.save(model.state_dict(), out)
        else:
            out.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), out / "pytorch_model.bin")
            (out / "config.json").write_text(json.dumps(timm_config(args, model), indent=2) + "\n")
        print(f"{out}: {type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} parameters, seed {args.seed + i}")


if __name__ == "__main__":
    main()
