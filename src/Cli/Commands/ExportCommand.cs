using System.CommandLine;
using Condensa.Export;

namespace Condensa.Cli.Commands;

/// <summary>
/// <c>condensa export</c>: a Hugging Face checkpoint folder to an ONNX graph + condensa.json; with <c>--random --shape NAME</c>,
/// first a random-weight checkpoint at a real model's dimensions (for speed measurements).
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint")
        {
            Description = "Hugging Face checkpoint folder (config.json + safetensors); with --random, where the random checkpoint is written (default: a temporary folder)",
        };
        var output = new Option<string>("--out") { Description = "Folder to write model.onnx, model.onnx.data and condensa.json into", Required = true };
        var precision = CommonOptions.Precision();
        precision.Description = "Weights: fp32, fp16 or bf16 (weights, activations and KV; bf16 runs on GPU providers only), int8 or int4 (block-quantized linear weights, MatMulNBits; activations and KV fp32)";
        var blockSize = new Option<int>("--block-size") { Description = "int4/int8: weights per quantization block along the input dimension (power of two, >= 16)", DefaultValueFactory = _ => 32 };
        var floatActivations = new Option<bool>("--float-activations")
        {
            Description = "int4/int8: keep MatMulNBits activations in float32 (accuracy_level 0; default 4: int8 activations on the CPU, much faster)",
        };
        var floatLmHead = new Option<bool>("--float-lm-head") { Description = "int4/int8: keep lm_head in float32" };
        var halfActivations = new Option<bool>("--half-activations")
        {
            Description = "int4/int8: float16 activations, KV and scales (for GPU providers: on cuda these run the fused causal graph)",
        };
        var int4Mix = new Option<string?>("--int4-mix")
        {
            Description = "int4: weights kept at 8 bits: kv-head (k_proj, v_proj, lm_head; the default), kv (k_proj, v_proj), none (all 4 bits)",
        };
        int4Mix.AcceptOnlyFromAmong([.. Int4Mixes.Names]);
        var swiGlu = new Option<ExecutionOptions.Switch>("--swiglu")
        {
            Description = "The causal graphs' MLP activation as ONNX Runtime's SwiGLU, a kernel only cuda has (other providers then run the " +
                "general graph): auto (on for fp16 and bf16), on, or off",
            DefaultValueFactory = _ => ExecutionOptions.Switch.Auto,
        };
        var random = new Option<bool>("--random") { Description = "Export a random-weight checkpoint of --shape instead of a real one" };
        var shape = new Option<string?>("--shape") { Description = $"With --random: {string.Join(", ", ModelShapes.All.Keys)}" };
        var seed = new Option<int>("--seed") { Description = "With --random: the seed of the weights", DefaultValueFactory = _ => 0 };
        var maxContext = new Option<int?>("--max-context")
        {
            Description = "With --random: max_position_embeddings of the checkpoint instead of the shape's (e.g. to benchmark long contexts)",
        };
        var command = new Command("export", "Export a Hugging Face checkpoint (or a random one of a known shape) to an ONNX graph")
        {
            checkpoint, output, precision, blockSize, floatActivations, floatLmHead, halfActivations, int4Mix, swiGlu, random, shape, seed, maxContext,
        };
        // Progress and the closing line go to stderr, like every other command's diagnostics.
        command.SetGuardedAction(async (parse, _, log, _) =>
        {
            if (parse.GetValue(int4Mix) is { } mixName && parse.GetValue(precision) != ExportPrecision.Int4)
                throw new ArgumentException($"--int4-mix {mixName} needs --precision int4.");
            var options = new ExportOptions
            {
                Precision = parse.GetValue(precision),
                HalfActivations = parse.GetValue(halfActivations),
                SwiGlu = ExecutionOptions.Chosen(parse.GetValue(swiGlu)),
                Progress = log.WriteLine,
                Quantization = ExportOptions.DefaultQuantization(parse.GetValue(precision)) is { } q
                    ? q with
                    {
                        BlockSize = parse.GetValue(blockSize), AccuracyLevel = parse.GetValue(floatActivations) ? 0 : q.AccuracyLevel,
                        LmHead = !parse.GetValue(floatLmHead), Mix = parse.GetValue(int4Mix) is { } mix ? Int4Mixes.Parse(mix) : q.Mix,
                    }
                    : null,
            };
            string? source = parse.GetValue(checkpoint);
            string? temporary = null;
            try
            {
                // 1) with --random, write the checkpoint first
                if (parse.GetValue(random))
                {
                    var modelShape = ModelShapes.Get(parse.GetValue(shape) ?? throw new ArgumentException("--random needs --shape NAME."));
                    if (parse.GetValue(maxContext) is { } context)
                        modelShape = context >= 1 ? modelShape with { MaxContext = context }
                            : throw new ArgumentException($"--max-context {context} must be at least 1.");
                    source ??= temporary = Directory.CreateTempSubdirectory("condensa-random-").FullName;
                    long bytes = RandomCheckpointWriter.Write(source, modelShape, parse.GetValue(seed));
                    await log.WriteLineAsync($"wrote random {modelShape.Name} ({modelShape.ParameterCount:N0} parameters, {bytes:N0} bytes fp16) to {source}");
                }
                else if (source is null) throw new ArgumentException("export needs --checkpoint DIR (or --random --shape NAME).");
                else if (parse.GetValue(shape) is not null) throw new ArgumentException("--shape needs --random.");
                else if (parse.GetValue(maxContext) is not null) throw new ArgumentException("--max-context needs --random.");

                // 2) the export
                var result = CheckpointExporter.Export(source, parse.GetValue(output)!, options);
                await log.WriteLineAsync($"exported {result.Manifest.Architecture} ({parse.GetValue(precision).ToString().ToLowerInvariant()}) to {parse.GetValue(output)}");
                return 0;
            }
            finally
            {
                if (temporary is not null) Directory.Delete(temporary, recursive: true);
            }
        });
        return command;
    }
}
