namespace ZipIt.Engine.Data;

/// <summary>A dataset as its source ships it: a training part and a test part.</summary>
internal sealed record DatasetSplits(ImageSet Train, ImageSet Test) : IDisposable
{
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}
