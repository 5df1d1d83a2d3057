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

    [TestMethod]
    public void Compute_TokenizerSharedThroughTokenizerFrom_SameAsWithCopies()
    {
        // Moving a tokenizer into a shared folder must not invalidate exports: the same bytes are read and exported.
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Sub("ckpt"), new TinyModelSpec());
        Directory.CreateDirectory(tmp.Sub("shared"));
        File.WriteAllText(Path.Combine(tmp.Sub("ckpt"), "tokenizer.json"), """{"model": 1}""");
        string withCopy = CheckpointFingerprint.Compute(tmp.Sub("ckpt"));

        File.Move(Path.Combine(tmp.Sub("ckpt"), "tokenizer.json"), Path.Combine(tmp.Sub("shared"), "tokenizer.json"));
        string without = CheckpointFingerprint.Compute(tmp.Sub("ckpt"));
        File.WriteAllText(Path.Combine(tmp.Sub("ckpt"), SharedTokenizer.FileName), "../shared\n");

        Assert.AreNotEqual(withCopy, without);
        Assert.AreEqual(withCopy, CheckpointFingerprint.Compute(tmp.Sub("ckpt")));
    }

    [TestMethod]
    [DataRow("tokenizer.json")]
    [DataRow("tokenizer.model")]
    [DataRow("tokenizer_config.json")]
    [DataRow("special_tokens_map.json")]
    public void Compute_TokenizerFileAdded_DifferentFingerprint(string file)
    {
        // The export copies these files; a checkpoint exported before they were added must not keep its old export.
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec());
        string before = CheckpointFingerprint.Compute(tmp.Path);

        File.WriteAllText(Path.Combine(tmp.Path, file), "{}");

        Assert.AreNotEqual(before, CheckpointFingerprint.Compute(tmp.Path));
    }

    [TestMethod]
    public void Compute_GenerationConfigEosChanged_DifferentFingerprint()
    {
        // The export reads the stop tokens from generation_config.json; a same-length edit keeps size and may keep the time.
        using var tmp = new TempDir();
        TinyCheckpoint.Write(tmp.Path, new TinyModelSpec());
        string path = Path.Combine(tmp.Path, "generation_config.json");
        File.WriteAllText(path, """{"eos_token_id": 2}""");
        var written = File.GetLastWriteTimeUtc(path);
        string before = CheckpointFingerprint.Compute(tmp.Path);

        File.WriteAllText(path, """{"eos_token_id": 7}""");
        File.SetLastWriteTimeUtc(path, written);

        Assert.AreNotEqual(before, CheckpointFingerprint.Compute(tmp.Path));
    }
}
