using TorchSharp;
Console.WriteLine(torch.randn(2,3).sum().item<float>());
