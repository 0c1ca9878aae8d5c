using TorchSharp;
using ZipIt.Engine.Evaluate;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Tests.Engine;

/// <summary>ZipIt!'s accuracy rules (§7.3–7.4) on hand-made outputs whose answers were worked out by hand.</summary>
public sealed class AccuracyCounterTests
{
    private static readonly IReadOnlyList<EvaluationTask> Tasks = EvaluationTask.Parse(["a=0,1", "b=2-3"]);
    private static readonly Tensor Labels = tensor(new long[] { 0, 1, 2, 3 });

    [Fact]
    public void Single_head_logits_use_a_softmax_within_each_task_for_the_joint_answer()
    {
        var counter = new AccuracyCounter(Tasks, HeadKind.Logits, null);
        counter.Add([tensor(new float[,] { { 5, 1, 0, 9 }, { 0, 3, 1, 0 }, { 0, 0, 4, 0 }, { 0, 0, 2, 1 } })], Labels);
        var (joint, tasks, avg) = counter.Result();
        // img0: task a right (5 > 1) but jointly class 3 wins (softmax 0.9999 in b); img3: wrong both ways.
        Assert.Equal(0.5, joint);
        Assert.Equal(1.0, tasks["a"]);
        Assert.Equal(0.5, tasks["b"]);
        Assert.Equal(0.75, avg);
    }

    [Fact]
    public void One_head_per_task_answers_its_task_and_the_most_confident_head_wins_jointly()
    {
        var counter = new AccuracyCounter(Tasks, HeadKind.Logits, null);
        var headA = tensor(new float[,] { { 3, 0 }, { 0, 1 }, { 5, 0 }, { 0, 0 } });   // logits over task a's classes
        var headB = tensor(new float[,] { { 0, 2 }, { 0, 0 }, { 1, 0 }, { 0, 3 } });   // logits over task b's classes
        counter.Add([headA, headB], Labels);
        var (joint, tasks, _) = counter.Result();
        Assert.Equal(1.0, tasks["a"]);
        Assert.Equal(1.0, tasks["b"]);
        Assert.Equal(0.75, joint); // img2: head a's 0.993 beats head b's 0.731
    }

    [Fact]
    public void Clip_heads_compare_normalised_outputs_with_class_embeddings()
    {
        var counter = new AccuracyCounter(Tasks, HeadKind.Clip, eye(4) * 3);
        counter.Add([tensor(new float[,] { { 1, 0, 0.5f, 0 }, { 0, 0, 2, 1 } })], tensor(new long[] { 0, 3 }));
        var (joint, tasks, _) = counter.Result();
        Assert.Equal(1.0, tasks["a"]);
        Assert.Equal(0.0, tasks["b"]);
        Assert.Equal(0.5, joint);
    }

    [Fact]
    public void Images_outside_every_task_are_not_counted()
    {
        var tasks = EvaluationTask.Parse(["a=0"]);
        var counter = new AccuracyCounter(tasks, HeadKind.Logits, null);
        counter.Add([tensor(new float[,] { { 1, 0, 0 }, { 1, 0, 0 } })], tensor(new long[] { 0, 2 }));
        Assert.Equal(1, counter.Images);
        Assert.Equal(1.0, counter.Result().Joint);
    }

    [Theory]
    [InlineData("a", "NAME=CLASSES")]
    [InlineData("a=0-4,3", "already in task 'a'")]
    [InlineData("a=4-2", "not a class id or range")]
    public void Bad_task_specs_are_usage_errors(string spec, string message)
    {
        var e = Assert.Throws<ZipIt.Engine.Core.ZipItException>(() => EvaluationTask.Parse([spec]));
        Assert.Equal(ZipIt.Engine.Core.ExitCode.Usage, e.Code);
        Assert.Contains(message, e.Message);
    }
}
