using Condensa.Export;
using Condensa.Export.Onnx;
using Google.Protobuf;

namespace Condensa.TestSupport;

/// <summary>Copies of a fresh export edited back to what an older exporter wrote, for the runtime's compatibility tests.</summary>
public static class OlderExports
{
    /// <summary>A copy of <paramref name="export"/> (in a new temporary folder the caller deletes) whose condensa.json
    /// <paramref name="edit"/> changed (a field an older exporter did not write, removed).</summary>
    public static string WithManifest(string export, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var copy = Copy(export, "manifest");
        var path = Path.Combine(copy, ModelManifest.FileName);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(manifest);
        File.WriteAllText(path, manifest.ToJsonString());
        return copy;
    }

    private static string Copy(string export, string what)
    {
        var copy = Path.Combine(Path.GetTempPath(), $"condensa-{what}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(export)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        return copy;
    }

    /// <summary>A copy of <paramref name="export"/> (in a new temporary folder the caller deletes) whose causal graph has no
    /// position_ids input, as exporter 14 wrote it: GroupQueryAttention then rotates at the slots seqlens_k gives.</summary>
    public static string WithoutCausalPositionIds(string export)
    {
        var copy = Copy(export, "exporter14");
        var path = Path.Combine(copy, CheckpointExporter.CausalModelFileName);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        model.Graph.Input.Remove(model.Graph.Input.Single(i => i.Name == GraphNames.PositionIds));
        foreach (var node in model.Graph.Node.Where(n => n.OpType == "GroupQueryAttention"))
            while (node.Input.Count > 9) node.Input.RemoveAt(node.Input.Count - 1);   // inputs 0..8: through sin_cache
        File.WriteAllBytes(path, model.ToByteArray());
        return copy;
    }
}
