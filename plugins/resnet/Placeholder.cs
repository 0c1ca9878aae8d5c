namespace ZipIt.Plugins.ResNet;
internal static class Placeholder {}
