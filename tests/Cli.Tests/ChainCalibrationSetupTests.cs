using Condensa.Export;
using Condensa.Speculative.Trees;
using Condensa.TestSupport;

namespace Condensa.Cli.Tests;

/// <summary>generate, chat, serve and extract hand an adaptive chain the calibration `condensa calibrate` saved for its pair,
/// which it starts from (Speculative.ChainPlanner); prompt lookup has none.</summary>
[TestClass]
public sealed class ChainCalibrationSetupTests
{
    [TestMethod]
    public void Prepare_SelfAndDraftChains_CarryTheirPairsCalibration_LookupNone()
    {
        var target = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", Seed = 41 });
        var draftCheckpoint = CliRunner.Checkpoint(new TinyModelSpec { Architecture = "llama", NumLayers = 1, Seed = 42 });
        var resolved = ModelResolver.Resolve(target, null, ExportPrecision.Fp32, TextWriter.Null);
        var draftDir = ModelResolver.Resolve(draftCheckpoint, null, ExportPrecision.Fp32, TextWriter.Null).ExportDir;
        var loaded = new List<IDisposable>();
        try
        {
            SpeculativeSetup Setup(string mode, string? draft = null) => new(mode, draft, Gamma: null, Sinks: 2, Window: 8);
            Assert.IsNull(Setup("self").Prepare(resolved, null, ExportPrecision.Fp32, TextWriter.Null, loaded).Options.Calibration, "none saved yet");

            Prior("self-2-8").Save(resolved.ExportDir);
            Prior(SpeculativeSetup.DraftKey(draftDir)).Save(resolved.ExportDir);
            Assert.AreEqual("self-2-8", Setup("self").Prepare(resolved, null, ExportPrecision.Fp32, TextWriter.Null, loaded).Options.Calibration?.Drafter);
            Assert.AreEqual(SpeculativeSetup.DraftKey(draftDir),
                Setup("draft", draftCheckpoint).Prepare(resolved, null, ExportPrecision.Fp32, TextWriter.Null, loaded).Options.Calibration?.Drafter);
            Assert.IsNull(Setup("lookup").Prepare(resolved, null, ExportPrecision.Fp32, TextWriter.Null, loaded).Options.Calibration);
        }
        finally
        {
            foreach (var model in loaded) model.Dispose();
        }
    }

    private static TreeCalibration Prior(string key) => TreeCalibration.Default() with { Drafter = key };
}
