using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Evaluate;

/// <summary>
/// Counts per-task and joint hits over batches, with ZipIt!'s rules (zipit-method.md §7.3–7.4):
/// <list type="bullet">
/// <item>per task: the true task's head (or the only head), argmax over that task's classes;</item>
/// <item>joint, one head: CLIP-style, argmax of the cosine over every task class; logits, a softmax
/// within each task's classes, then argmax over all task classes;</item>
/// <item>joint, one head per task: each head's softmax over its own task's classes (CLIP-style
/// scores scaled by 100), then argmax over the concatenation, so the most confident head wins.</item>
/// </list>
/// Images whose label is in no task are not counted.
/// </summary>
internal sealed class AccuracyCounter
{
    private const double ClipScale = 100;
    private readonly IReadOnlyList<EvaluationTask> _tasks;
    private readonly HeadKind _kind;
    private readonly Tensor? _embeddings;
    private readonly long _classes;
    private readonly long[] _hits;
    private readonly long[] _counts;
    private long _jointHits;

    public AccuracyCounter(IReadOnlyList<EvaluationTask> tasks, HeadKind kind, Tensor? classEmbeddings)
    {
        _tasks = tasks;
        _kind = kind;
        _classes = tasks.SelectMany(t => t.Classes).Max() + 1;
        if (kind == HeadKind.Clip)
        {
            if (classEmbeddings is null) throw ZipItException.Usage("--head clip needs --class-embeddings");
            if (classEmbeddings.dim() != 2 || classEmbeddings.shape[0] < _classes)
                throw ZipItException.Input($"class embeddings [{string.Join(",", classEmbeddings.shape)}] must be [K, D] with K ≥ {_classes} (the largest task class + 1)");
            _embeddings = nn.functional.normalize(classEmbeddings.to(ScalarType.Float32).narrow(0, 0, _classes), dim: 1);
            _classes = _embeddings.shape[0];
        }
        _hits = new long[tasks.Count];
        _counts = new long[tasks.Count];
    }

    public long Images => _counts.Sum();

    /// <summary>Counts one batch: <paramref name="heads"/> holds one output per head ([B, ...] each).</summary>
    public void Add(IReadOnlyList<Tensor> heads, Tensor labels)
    {
        using var scope = torch.NewDisposeScope();
        if (heads.Count != 1 && heads.Count != _tasks.Count)
            throw ZipItException.Input($"the model has {heads.Count} heads but {_tasks.Count} tasks were given; a multi-head model needs one task per head, in order");
        var scores = heads.Select((h, i) => Scores(h, heads.Count == 1 ? -1 : i)).ToList();
        var joint = heads.Count == 1 ? JointSingle(scores[0]) : JointMulti(scores);
        var jointPrediction = joint.argmax(1);
        for (var t = 0; t < _tasks.Count; t++)
        {
            var classes = torch.tensor(_tasks[t].Classes.ToArray());
            var inTask = torch.isin(labels, classes);
            var n = inTask.sum().item<long>();
            if (n == 0) continue;
            var taskScores = scores[heads.Count == 1 ? 0 : t].index_select(1, classes);
            var predicted = classes.index_select(0, taskScores.argmax(1));
            _hits[t] += (predicted.eq(labels) & inTask).sum().item<long>();
            _jointHits += (jointPrediction.eq(labels) & inTask).sum().item<long>();
            _counts[t] += n;
        }
    }

    public (double Joint, IReadOnlyDictionary<string, double> Tasks, double Average) Result()
    {
        if (Images == 0) throw ZipItException.Input("no image has a label in any task");
        var tasks = _tasks.Select((t, i) => (t.Name, Accuracy: _counts[i] == 0 ? double.NaN : (double)_hits[i] / _counts[i]))
            .ToDictionary(x => x.Name, x => x.Accuracy);
        return ((double)_jointHits / Images, tasks, tasks.Values.Where(double.IsFinite).Average());
    }

    public IReadOnlyDictionary<string, long> Counts() => _tasks.Select((t, i) => (t.Name, _counts[i])).ToDictionary(x => x.Name, x => x.Item2);

    /// <summary>Scores [B, K] over global class ids; -inf where a per-task head says nothing.</summary>
    private Tensor Scores(Tensor output, int head)
    {
        if (_kind == HeadKind.Clip)
        {
            var e = nn.functional.normalize(output.flatten(1), dim: 1);
            if (e.shape[1] != _embeddings!.shape[1])
                throw ZipItException.Input($"the model outputs {e.shape[1]} features per image, the class embeddings have {_embeddings.shape[1]}");
            return torch.mm(e, _embeddings.t());
        }
        var logits = output.flatten(1);
        if (logits.shape[1] >= _classes) return logits.narrow(1, 0, _classes);
        if (head >= 0 && logits.shape[1] == _tasks[head].Classes.Count)
        {
            var full = torch.full(logits.shape[0], _classes, double.NegativeInfinity);
            full.index_copy_(1, torch.tensor(_tasks[head].Classes.ToArray()), logits);
            return full;
        }
        throw ZipItException.Input($"a head outputs {logits.shape[1]} logits; expected {_classes} (all classes) or its task's {(head >= 0 ? _tasks[head].Classes.Count : 0)}");
    }

    private Tensor JointSingle(Tensor scores)
    {
        var joint = torch.full(scores.shape[0], _classes, double.NegativeInfinity);
        foreach (var task in _tasks)
        {
            var classes = torch.tensor(task.Classes.ToArray());
            var part = scores.index_select(1, classes);
            joint.index_copy_(1, classes, _kind == HeadKind.Clip ? part : part.softmax(1));
        }
        return joint;
    }

    private Tensor JointMulti(IReadOnlyList<Tensor> scores)
    {
        var joint = torch.full(scores[0].shape[0], _classes, double.NegativeInfinity);
        for (var t = 0; t < _tasks.Count; t++)
        {
            var classes = torch.tensor(_tasks[t].Classes.ToArray());
            var part = scores[t].index_select(1, classes);
            joint.index_copy_(1, classes, (_kind == HeadKind.Clip ? part * ClipScale : part).softmax(1));
        }
        return joint;
    }
}
