using System.Text.Json;
using Condensa.Export.Onnx;

namespace Condensa.Export;

/// <summary>
/// Exports a Hugging Face decoder checkpoint folder (config.json + safetensors) to an ONNX graph with
/// Condensa's KV contract, its external weights, condensa.json and the tokenizer files.
/// </summary>
public static class CheckpointExporter
{
    /// <summary>The graph file name.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>Bumped when the export of the same checkpoint changes (2: the KV-edit graphs; 3: int4 keeps k, v and
    /// lm_head at 8 bits by default; 4: fused RotaryEmbedding and RMSNorm nodes; 5: the graph writes its new KV into the past
    /// buffers itself, kv_write_index and present.{l}; 6: merged q/k/v and gate/up weights, and the causal graph; 7: the greedy_tokens output, ArgMax of the logits in the
    /// graph; 8: the LCKV masks' shared key-distance nodes, Gemma's layer pattern derived as transformers does where a config
    /// has no layer_types, Gemma 3's rope_local_base_freq; 9: the multi-row causal graph, and longrope's long factors: its
    /// exports reach max_position_embeddings instead of stopping at the original context; 10: the multi-row causal graph views a
    /// grouped-query model's queries as G·S rows per KV head; 11: layer-condensed models get a causal graph for decode steps; 12: the slots graph; 13: half-precision exports' attention graphs compute the MLP's activation as ONNX Runtime's
    /// SwiGLU, cuda_swiglu in the manifest); 14: rotary tables with padding rows past the last
    /// position (rotary_padding_rows), so a causal pass's padding past the context limit stays on the causal graphs; 15: the
    /// causal graphs take position_ids, so a budgeted (sink + window) cache, whose slots are not its positions, runs on them;
    /// 16: kv_write_entries, one gather and one scatter for the entries of every layer; caches key on it; 17: the general and
    /// slots graphs take the mask compact (attention_span, attention_new) and build the attention bias themselves; 18: a
    /// float32 export's slots graph, for a model with a KV head per query head, attends with MatMuls whose one-row scores
    /// read the keys in blocks of slots; 19: half-precision exports write kv_write_from_float (a float32 target's entries
    /// into their self-speculation budget); 20: that slots graph's passes of a few rows and at most 32 tokens a row split
    /// their values' product into up to 8 chunks of slots (a one-row verification's product ran 16 cuBLAS blocks).</summary>
    public const int Version = 20;
    /// <summary>The causal graph's file name (written for architectures that have one; it shares the weights file).</summary>
    public const string CausalModelFileName = "model.causal.onnx";

    /// <summary>The multi-row causal graph's file name (beside the causal graph where Attention expresses the layers).</summary>
    public const string CausalRowsModelFileName = "model.causal_rows.onnx";

    /// <summary>The slots graph's file name (the general graph's contract, attention over the written cache; shares the weights file).</summary>
    public const string SlotsModelFileName = "model.slots.onnx";

    /// <summary>The external weights file name.</summary>
    public const string DataFileName = "model.onnx.data";

    /// <summary>Files copied from the checkpoint when present: the runtime needs them beside the graph.</summary>
    public static readonly IReadOnlyList<string> TokenizerFileNames =
    [
        "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "generation_config.json",
        "special_tokens_map.json", "vocab.json", "merges.txt", "tokenizer.tiktoken",
    ];

    /// <summary>The architectures (config.json <c>architectures[0]</c>) this exporter supports.</summary>
    public static IReadOnlyCollection<string> SupportedArchitectures => Decoders.Supported;

    /// <summary>
    /// Exports <paramref name="checkpointDir"/> into <paramref name="outputDir"/> (created if needed).
    /// condensa.json is written last, atomically, so a folder that has one holds a complete export.
    /// </summary>
    /// <exception cref="ExportException">The checkpoint is missing files, unsupported, or inconsistent.</exception>
    public static ExportResult Export(string checkpointDir, string outputDir, ExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Report(string step) => options.Progress?.Invoke($"{step} ({clock.Elapsed.TotalSeconds:F1} s)");
        // 1) read and validate what the graph depends on
        var config = HfConfig.Load(checkpointDir);
        Decoders.CheckSupported(config);
        if (config.NumKvHeads <= 0 || config.NumHeads % config.NumKvHeads != 0)
            throw new ExportException(
                $"config.json: num_attention_heads {config.NumHeads} is not a multiple of num_key_value_heads {config.NumKvHeads}.");
        string fingerprint = CheckpointFingerprint.Compute(checkpointDir);
        if (options.HalfActivations && options.Precision is not (ExportPrecision.Int4 or ExportPrecision.Int8))
            throw new ArgumentException($"float16 activations go with a quantized precision (int4 or int8), not {options.Precision}.", nameof(options));
        var modelType = options.Precision switch
        {
            ExportPrecision.Fp16 => TensorProto.Types.DataType.Float16,
            ExportPrecision.Bf16 => TensorProto.Types.DataType.Bfloat16,
            _ when options.HalfActivations => TensorProto.Types.DataType.Float16,
            _ => TensorProto.Types.DataType.Float,
        };
        var quantization = options.ResolveQuantization();

        // 2) invalidate any previous export first, so a crash below never leaves a stale manifest
        Directory.CreateDirectory(outputDir);
        string manifestPath = Path.Combine(outputDir, ModelManifest.FileName);
        File.Delete(manifestPath);

        // 3) graph and weights
        string modelPath = Path.Combine(outputDir, ModelFileName);
        int? slidingWindow;
        int maxContext;
        int? causalMaxContext;
        IReadOnlyList<int?>? layerWindows;
        string? causalGraph, causalRowsGraph, slotsGraph;
        bool swiGlu = options.SwiGlu ?? modelType is TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16, cudaSwiGlu = false;
        LayerCondensation layout;
        using (var reader = SafeTensorsReader.Open(checkpointDir))
        {
            Report($"1/3 building the {config.Architecture} graph: {config.NumLayers} layers, {config.HiddenSize} hidden, " +
                $"{(quantization is null ? options.Precision.ToString().ToLowerInvariant() : $"int{quantization.Bits}")} weights");
            var decoder = Decoders.Create(config, new DecoderWeights(reader, modelType, quantization));
            var graph = new GraphBuilder();
            decoder.Build(graph);
            Report($"2/3 writing {ModelFileName}, {DataFileName}" + (decoder.HasCausalGraph ? $", {CausalModelFileName}" : "") +
                (decoder.HasCausalRowsGraph ? $", {CausalRowsModelFileName}" : "") + (decoder.HasSlotsGraph ? $", {SlotsModelFileName}" : ""));
            var written = OnnxWriter.Write(graph, modelPath, DataFileName, config.Architecture);
            causalGraph = null;
            File.Delete(Path.Combine(outputDir, CausalModelFileName));   // a previous export's, never left beside a manifest without it
            File.Delete(Path.Combine(outputDir, CausalRowsModelFileName));
            File.Delete(Path.Combine(outputDir, SlotsModelFileName));
            (causalRowsGraph, slotsGraph) = (null, null);
            if (decoder.HasCausalGraph)
            {
                var causal = new GraphBuilder();
                Decoders.Create(config, new DecoderWeights(reader, modelType, quantization)).Build(causal, DecoderGraph.Causal, swiGlu);
                OnnxWriter.WriteSharingWeights(causal, Path.Combine(outputDir, CausalModelFileName), written, config.Architecture + ".causal");
                causalGraph = CausalModelFileName;
                cudaSwiGlu = causal.Nodes.Any(n => n.OpType == "SwiGLU");
            }
            if (decoder.HasCausalRowsGraph)
            {
                var rows = new GraphBuilder();
                Decoders.Create(config, new DecoderWeights(reader, modelType, quantization)).Build(rows, DecoderGraph.CausalRows, swiGlu);
                OnnxWriter.WriteSharingWeights(rows, Path.Combine(outputDir, CausalRowsModelFileName), written, config.Architecture + ".causal_rows");
                causalRowsGraph = CausalRowsModelFileName;
            }
            if (decoder.HasSlotsGraph)
            {
                var slots = new GraphBuilder();
                Decoders.Create(config, new DecoderWeights(reader, modelType, quantization)).Build(slots, DecoderGraph.Slots, swiGlu);
                OnnxWriter.WriteSharingWeights(slots, Path.Combine(outputDir, SlotsModelFileName), written, config.Architecture + ".slots");
                slotsGraph = SlotsModelFileName;
            }
            slidingWindow = decoder.SlidingWindow;
            maxContext = decoder.ExactContext;
            causalMaxContext = decoder.CausalContext;
            layerWindows = decoder.LayerWindows;
            layout = LayerCondensation.Of(decoder.LayerKvSource);
        }
        KvOpsGraphs.Write(outputDir, 2 * layout.StoredLayers.Count, modelType);

        Report("3/3 writing the KV graphs, tokenizer files and manifest");
        // 4) tokenizer files
        var copied = new List<string>();
        if (options.CopyTokenizerFiles && Path.GetFullPath(checkpointDir) != Path.GetFullPath(outputDir))
        {
            foreach (string name in TokenizerFileNames)
            {
                string src = SharedTokenizer.Find(checkpointDir, name);
                if (!File.Exists(src)) continue;
                File.Copy(src, Path.Combine(outputDir, name), overwrite: true);
                copied.Add(name);
            }
        }
        else if (options.CopyTokenizerFiles)
        {
            copied.AddRange(TokenizerFileNames.Where(n => File.Exists(SharedTokenizer.Find(checkpointDir, n))));
        }

        // 5) manifest, last and atomically
        var (bos, eos) = SpecialTokens(config, checkpointDir);
        var manifest = new ModelManifest
        {
            Format = ModelManifest.CurrentFormat,
            Architecture = config.Architecture,
            DType = modelType switch
            {
                TensorProto.Types.DataType.Float16 => "float16",
                TensorProto.Types.DataType.Bfloat16 => "bfloat16",
                _ => "float32",
            },
            VocabSize = config.VocabSize,
            HiddenSize = config.HiddenSize,
            NumLayers = config.NumLayers,
            NumHeads = config.NumHeads,
            NumKvHeads = config.NumKvHeads,
            HeadDim = config.HeadDim,
            MaxContext = maxContext,
            SlidingWindow = slidingWindow,
            KvLayers = [.. layout.StoredLayers],
            LayerKvSource = [.. layout.Sources],
            ForwardPasses = config.Lckv?.ForwardPasses,
            BackwardPasses = config.Lckv?.BackwardPasses,
            ForceNodiag = config.Lckv?.ForceNodiag ?? false,
            UseSequential = config.Lckv?.UseSequential ?? false,
            LayerSlidingWindow = config.Lckv is { } lckv && lckv.LayerTypes.Sliding.Any(s => s)
                ? [.. Enumerable.Range(0, config.NumLayers).Select(lckv.Window)]
                : layerWindows?.ToArray(),
            Rope = new ManifestRope(config.Rope.Type, config.Rope.Theta),
            WeightQuantization = quantization is null ? null
                : new ManifestQuantization(quantization.Bits, quantization.BlockSize, quantization.AccuracyLevel, quantization.LmHead,
                    quantization.Bits == 4 ? Int4Mixes.Name(quantization.Mix) : null),
            BosTokenId = bos,
            EosTokenIds = [.. eos],
            TokenizerFiles = [.. copied],
            Graph = ModelFileName,
            CausalGraph = causalGraph,
            CausalRowsGraph = causalRowsGraph,
            SlotsGraph = slotsGraph,
            CausalMaxContext = causalMaxContext,
            RotaryPaddingRows = RopeSettings.PaddingRows,
            CudaSwiGlu = cudaSwiGlu,
            KvOps = new ManifestKvOps(KvOpsGraphs.WriteFileName, KvOpsGraphs.ZerosFileName, KvOpsGraphs.CopyFileName, KvOpsGraphs.WriteEntriesFileName,
                KvOpsGraphs.WritesFromFloat(modelType) ? KvOpsGraphs.WriteFromFloatFileName : null),
            CheckpointFingerprint = fingerprint,
            ExporterVersion = Version,
        };
        string temp = manifestPath + ".tmp";
        File.WriteAllText(temp, manifest.ToJson());
        File.Move(temp, manifestPath, overwrite: true);
        Report("done");
        return new ExportResult(outputDir, modelPath, Path.Combine(outputDir, DataFileName), manifestPath, manifest);
    }

    // config.json's ids, completed by generation_config.json, whose eos list is often longer (chat models
    // end turns with a token config.json does not name).
    private static (int? Bos, IReadOnlyList<int> Eos) SpecialTokens(HfConfig config, string checkpointDir)
    {
        int? bos = config.BosTokenId;
        var eos = new List<int>(config.EosTokenIds);
        string path = Path.Combine(checkpointDir, "generation_config.json");
        if (!File.Exists(path)) return (bos, eos);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (bos is null && root.TryGetProperty("bos_token_id", out var b) && b.ValueKind == JsonValueKind.Number) bos = b.GetInt32();
            if (root.TryGetProperty("eos_token_id", out var e))
            {
                var ids = e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToList() : [e];
                foreach (var id in ids)
                    if (id.ValueKind == JsonValueKind.Number && !eos.Contains(id.GetInt32())) eos.Add(id.GetInt32());
            }
        }
        catch (JsonException ex)
        {
            throw new ExportException($"'{path}' is not valid JSON: {ex.Message}", ex);
        }
        return (bos, eos);
    }
}
