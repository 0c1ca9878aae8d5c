"""Loads a merged model that zipit wrote with `convert -o merged.pt` back into PyTorch.

    python3 load_back.py merged.pt resnet18 --io io.pt
    dotnet zipit predict <zipit's output folder> -i io.pt -o zipit-out.safetensors --compare io.pt

torch.load(weights_only=True) takes only tensors (zipit writes nothing else), and
load_state_dict(strict=True) refuses a missing or extra key, so a clean load means the merged
file has exactly the module's key names and shapes. The architecture options are make_pair.py's.
--io saves a seeded input batch and this module's output on it; `zipit predict --compare` runs
zipit's own forward on the same input and prints the largest difference, which shows that zipit
and PyTorch compute the same function from the same file.
"""
import argparse

import torch

from make_pair import add_model_args, build


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="the merged .pt (or any state_dict file of this architecture)")
    add_model_args(parser)
    parser.add_argument("--io", help="write {'input', 'output'} here (torch.save) for zipit predict --compare")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, help="input height and width (default: the ViT's img-size, 224 for a ResNet)")
    args = parser.parse_args()

    state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    model = build(args)
    model.load_state_dict(state, strict=True)
    model.eval()  # BatchNorm from its running statistics, as zipit's predict and evaluate run it

    # A ViT takes only its own size (the position embedding is per patch); a ResNet any.
    size = args.size or (model.patch_embed.img_size if hasattr(model, "patch_embed") else 224)
    x = torch.randn(args.batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = model(x)
    print(f"{args.checkpoint}: load_state_dict(strict=True) took all {len(state)} tensors; output {tuple(y.shape)}, "
          f"first row {[round(v, 4) for v in y[0, :4].tolist()]}")
    if args.io:
        torch.save({"input": x, "output": y}, args.io)
        print(f"{args.io}: input {tuple(x.shape)} and PyTorch's output, for zipit predict --compare")


if __name__ == "__main__":
    main()
