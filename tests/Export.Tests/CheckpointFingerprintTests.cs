using Condensa.TestSupport;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class CheckpointFingerprintTests
{
    [TestMethod]
    public void Compute_SameCheckpoint_SameFingerprint()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec());

        string a = CheckpointFingerprint.Compute(tmp.Path);
        string b = CheckpointFingerprint.Compute(tmp.Path);

        Assert.AreEqual(a, b);
        Assert.AreEqual(64, a.Length);
    }

    [TestMethod]
    public void Compute_ConfigChanged_DifferentFingerprint()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec());
        string before = CheckpointFingerprint.Compute(tmp.Path);

        File.AppendAllText(Path.Combine(tmp.Path, "config.json"), " ");

        Assert.AreNotEqual(before, CheckpointFingerprint.Compute(tmp.Path));
    }

    [TestMethod]
    public void Compute_WeightsRewritten_DifferentFingerprint()
    {
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec());
        string before = CheckpointFingerprint.Compute(tmp.Path);

        File.SetLastWriteTimeUtc(Path.Combine(tmp.Path, "model.safetensors"), DateTime.UtcNow.AddMinutes(5));

        Assert.AreNotEqual(before, CheckpointFingerprint.Compute(tmp.Path));
    }
}
