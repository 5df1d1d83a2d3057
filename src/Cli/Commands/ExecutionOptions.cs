using System.CommandLine;
using Condensa.Runtime;
using Condensa.Runtime.ExecutionProviders;

namespace Condensa.Cli.Commands;

/// <summary>
/// --provider, --device-id, --ort-library, --kv-residence, --graph-capture and --fused-attention of the commands that load a model, turned into <see cref="SessionSettings"/>.
/// The provider list comes from --provider, else the catalog entry's defaults.provider, else cpu.
/// </summary>
internal sealed class ExecutionOptions
{
    public Option<string?> Provider { get; } = new("--provider")
    {
        Description = $"Execution providers to try in order, comma-separated ({string.Join(", ", ExecutionProvider.All.Select(p => p.Name))}; " +
            "e.g. webgpu,cpu falls back to the CPU). Default: the catalog's defaults.provider, else cpu",
    };

    public Option<int> DeviceId { get; } = new Option<int>("--device-id") { Description = "GPU index for the cuda, dml and webgpu providers" }.AtLeast(0);

    public Option<string?> OrtLibrary { get; } = new("--ort-library")
    {
        Description = $"Native ONNX Runtime library to load instead of the package's (a GPU build); default: ${Runtime.ExecutionProviders.OrtLibrary.EnvironmentVariable}",
    };

    public Option<KvResidence> KvResidence { get; } = new("--kv-residence")
    {
        Description = "Where KV caches live: auto (the GPU's memory on a GPU provider, host memory on the CPU), host, or device",
        DefaultValueFactory = _ => Runtime.KvResidence.Auto,
    };

    public Option<Switch> GraphCapture { get; } = new("--graph-capture")
    {
        Description = "CUDA graphs for decode steps: auto (on for cuda with the KV cache on the device), on, or off",
        DefaultValueFactory = _ => Switch.Auto,
    };

    public Option<Switch> FusedAttention { get; } = new("--fused-attention")
    {
        Description = "The export's causal graph (one fused attention node per layer) for causal passes: auto (on for the cpu, " +
            "and for float16 exports on cuda; a float32 export on cuda runs its short passes on the slots graph), on, or off " +
            "(the general graph alone)",
        DefaultValueFactory = _ => Switch.Auto,
    };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public ExecutionOptions AddTo(Command command)
    {
        command.Options.Add(Provider);
        command.Options.Add(DeviceId);
        command.Options.Add(OrtLibrary);
        command.Options.Add(KvResidence);
        command.Options.Add(GraphCapture);
        command.Options.Add(FusedAttention);
        return this;
    }

    /// <summary>Session settings of a model: loads --ort-library first (it must precede every ONNX Runtime call), then the
    /// provider list of --provider or the catalog's default.</summary>
    public SessionSettings Settings(ParseResult parse, int? threads, CatalogEntry? entry = null)
    {
        Runtime.ExecutionProviders.OrtLibrary.Use(parse.GetValue(OrtLibrary));
        var providers = parse.GetValue(Provider) ?? entry?.Defaults.Provider ?? ExecutionProvider.Cpu.Name;
        return new SessionSettings
        {
            IntraOpThreads = threads,
            Providers = [.. ExecutionProvider.ParseList(providers).Select(p => p.Name)],
            ProviderOptions = new ProviderOptions
            {
                DeviceId = parse.GetValue(DeviceId),
                GraphCapture = Chosen(parse.GetValue(GraphCapture)),
            },
            KvResidence = parse.GetValue(KvResidence),
            FusedAttention = Chosen(parse.GetValue(FusedAttention)),
        };
    }

    /// <summary>A setting that is on, off, or chosen by the program.</summary>
    public enum Switch { Auto, On, Off }

    /// <summary>A switch as the library takes it: true, false, or null for the library's own choice.</summary>
    public static bool? Chosen(Switch value) => value switch { Switch.On => true, Switch.Off => false, _ => null };

    /// <summary>One note on <paramref name="log"/> when the model runs on a provider other than the first one asked for.</summary>
    public static void ReportFallback(DecoderModel model, TextWriter log)
    {
        if (model.SkippedProviders.Count > 0)
            log.WriteLine($"note: running on provider '{model.Provider.Name}' ({string.Join("; ", model.SkippedProviders)})");
    }
}
